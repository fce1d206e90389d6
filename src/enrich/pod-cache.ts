/**
 * The pods of this node, from a list/watch on the Kubernetes API (field selector spec.nodeName=<node>).
 *
 * Built on @kubernetes/client-node's ListWatch, which re-lists after `410 Gone` (expired resourceVersion) and
 * re-watches when the server or its 30 s inactivity timeout closes a watch. ListWatch gives up on any other error
 * (connection refused, 5xx, 403): this cache restarts it with exponential backoff (1 s doubling to 30 s), so it
 * reconnects and re-lists on its own until closed.
 */
import { CoreV1Api, KubeConfig, ListWatch, Watch, type V1Pod } from '@kubernetes/client-node';
import { KdropError, ErrorCodes } from '../errors.js';
import { logger } from '../log.js';
import { normalizeUid } from './cgroup.js';

const log = logger('pod-cache');

export interface PodInfo {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly hostNetwork: boolean;
  /** For a static pod's mirror: the UID kubelet runs it under (annotation kubernetes.io/config.mirror). */
  readonly runtimeUid: string | null;
}

/** Minimal shape read from a Pod object (typed V1Pod from a list, plain JSON from a watch: same field names). */
export interface PodObject {
  metadata?: { uid?: string; name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: { hostNetwork?: boolean };
  status?: {
    containerStatuses?: ReadonlyArray<{ containerID?: string }>;
    initContainerStatuses?: ReadonlyArray<{ containerID?: string }>;
    ephemeralContainerStatuses?: ReadonlyArray<{ containerID?: string }>;
  };
}

/** Pod object -> PodInfo. Throws ENRICH_PARSE when uid, name or namespace is missing. */
export function podInfo(obj: PodObject): PodInfo {
  const md = (obj as PodObject | null | undefined)?.metadata;
  if (typeof md?.uid !== 'string' || typeof md.name !== 'string' || typeof md.namespace !== 'string' || !md.uid || !md.name || !md.namespace) {
    throw new KdropError(ErrorCodes.ENRICH_PARSE, 'Pod object without metadata.uid, .name or .namespace', {
      expected: 'a Pod with metadata.uid, metadata.name and metadata.namespace',
      found: JSON.stringify({ uid: md?.uid, name: md?.name, namespace: md?.namespace }),
    });
  }
  const mirror: unknown = md.annotations?.['kubernetes.io/config.mirror'];
  return {
    uid: normalizeUid(md.uid),
    namespace: md.namespace,
    name: md.name,
    hostNetwork: obj.spec?.hostNetwork === true,
    runtimeUid: typeof mirror === 'string' && mirror !== '' ? normalizeUid(mirror) : null,
  };
}

export interface PodCacheOptions {
  readonly kubeConfig: KubeConfig;
  readonly nodeName: string;
  /** Backoff bounds for restarting the watch after an error (default 1000 and 30000 ms). */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

type Listener = (pod: PodInfo) => void;

export class PodCache {
  private readonly byUid = new Map<string, PodInfo>();
  private readonly addListeners: Listener[] = [];
  private readonly deleteListeners: Listener[] = [];
  private readonly informer: ListWatch<V1Pod>;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private backoff: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private synced = false;
  private firstSync: Promise<void>;
  private resolveFirstSync!: () => void;
  private lastError: unknown = null;
  /** Objects the cache could not read (counted, logged at debug). */
  malformed = 0;

  constructor(opts: PodCacheOptions) {
    this.minBackoff = opts.minBackoffMs ?? 1000;
    this.maxBackoff = opts.maxBackoffMs ?? 30000;
    this.backoff = this.minBackoff;
    this.firstSync = new Promise((r) => (this.resolveFirstSync = r));
    const api = opts.kubeConfig.makeApiClient(CoreV1Api);
    const fieldSelector = `spec.nodeName=${opts.nodeName}`;
    const path = '/api/v1/pods';
    const list = async () => {
      const res = await api.listPodForAllNamespaces({ fieldSelector });
      // The list succeeded: the informer is (re)connected.
      this.backoff = this.minBackoff;
      // After ListWatch has put the listed items into its cache (it does so synchronously after this resolves).
      setImmediate(() => this.markSynced());
      return res;
    };
    this.informer = new ListWatch<V1Pod>(path, new Watch(opts.kubeConfig), list, false, undefined, fieldSelector);
    this.informer.on('add', (o) => this.upsert(o));
    this.informer.on('update', (o) => this.upsert(o));
    this.informer.on('delete', (o) => this.remove(o));
    this.informer.on('error', (err) => this.onError(err));
  }

  /** Starts the list/watch; resolves at once (see synced()). */
  start(): void {
    void this.informer.start().catch((err: unknown) => this.onError(err));
  }

  /** Resolves after the first successful list, or false after timeoutMs. */
  async waitForSync(timeoutMs: number): Promise<boolean> {
    if (this.synced) return true;
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (t = setTimeout(() => r(false), timeoutMs)));
    try {
      return await Promise.race([this.firstSync.then(() => true), timeout]);
    } finally {
      clearTimeout(t);
    }
  }

  /** Resolves after the first successful list (never, if the API never answers). */
  whenSynced(): Promise<void> {
    return this.firstSync;
  }

  isSynced(): boolean {
    return this.synced;
  }

  error(): unknown {
    return this.lastError;
  }

  /** By pod UID, or by the runtime UID of a static pod. */
  get(uid: string): PodInfo | undefined {
    return this.byUid.get(uid);
  }

  pods(): PodInfo[] {
    return [...new Set(this.byUid.values())];
  }

  onAdd(l: Listener): void {
    this.addListeners.push(l);
  }

  onDelete(l: Listener): void {
    this.deleteListeners.push(l);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.informer.stop();
  }

  private markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    this.lastError = null;
    this.resolveFirstSync();
  }

  private upsert(obj: V1Pod): void {
    let info: PodInfo;
    try {
      info = podInfo(obj as PodObject);
    } catch (err) {
      this.malformed++;
      log.debug({ err }, 'skipping malformed Pod object');
      return;
    }
    const isNew = !this.byUid.has(info.uid);
    this.byUid.set(info.uid, info);
    if (info.runtimeUid !== null) this.byUid.set(info.runtimeUid, info);
    if (isNew) for (const l of this.addListeners) l(info);
  }

  private remove(obj: V1Pod): void {
    let info: PodInfo;
    try {
      info = podInfo(obj as PodObject);
    } catch {
      this.malformed++;
      return;
    }
    const known = this.byUid.get(info.uid);
    this.byUid.delete(info.uid);
    if (known?.runtimeUid) this.byUid.delete(known.runtimeUid);
    for (const l of this.deleteListeners) l(known ?? info);
  }

  private onError(err: unknown): void {
    if (this.closed) return;
    this.lastError = err;
    log.debug({ err: String(err), retryInMs: this.backoff }, 'pod watch failed; restarting');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.closed) return;
      void this.informer.start().catch((e: unknown) => this.onError(e));
    }, this.backoff);
    this.timer.unref();
    this.backoff = Math.min(this.backoff * 2, this.maxBackoff);
  }
}
