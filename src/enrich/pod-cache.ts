/**
 * The pods of this node, from a list/watch on the Kubernetes API (field selector spec.nodeName=<node>), over the
 * agent's small client (kube-http.ts), as client-go's reflector does it:
 * - list, then watch from the list's resourceVersion with bookmarks; each event moves the resourceVersion on;
 * - a watch the server ends (its timeoutSeconds, a restart) is opened again from the last resourceVersion;
 * - `410 Gone` (the resourceVersion was compacted away) re-lists at once; pods missing from the new list are deleted;
 * - any other failure (connection refused, 5xx, 403, a silent connection) re-lists after an exponential backoff
 *   (1 s doubling to 30 s), so it reconnects on its own until closed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KdropError, ErrorCodes } from '../errors.js';
import type { KubeEndpoint } from './kube-endpoint.js';
import { KubeApiError, requestJson, watchStream, type WatchEvent } from './kube-http.js';
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

/** Minimal shape read from a Pod object (from a list or a watch event). */
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
  readonly endpoint: KubeEndpoint;
  readonly nodeName: string;
  /** Backoff bounds for restarting the watch after an error (default 1000 and 30000 ms). */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

type Listener = (pod: PodInfo) => void;

/** How long a watch may stay open (the server ends it then; client-go picks 5-10 minutes), and its silence limit. */
const WATCH_TIMEOUT_S = 300;
const WATCH_IDLE_MS = (WATCH_TIMEOUT_S + 60) * 1000;
const SHORT_WATCH_MS = 1000;

export class PodCache {
  private readonly byUid = new Map<string, PodInfo>();
  private readonly addListeners: Listener[] = [];
  private readonly deleteListeners: Listener[] = [];
  private readonly endpoint: KubeEndpoint;
  private readonly selector: string;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private readonly abort = new AbortController();
  private backoff: number;
  private running: Promise<void> | undefined;
  private closed = false;
  private synced = false;
  private firstSync: Promise<void>;
  private resolveFirstSync!: () => void;
  private lastError: unknown = null;
  /** Objects the cache could not read (counted, logged at debug). */
  malformed = 0;
  /** Lists made (the first one, and each re-list after 410 Gone or a failure). */
  lists = 0;

  constructor(opts: PodCacheOptions) {
    this.minBackoff = opts.minBackoffMs ?? 1000;
    this.maxBackoff = opts.maxBackoffMs ?? 30000;
    this.backoff = this.minBackoff;
    this.endpoint = opts.endpoint;
    this.selector = `fieldSelector=${encodeURIComponent(`spec.nodeName=${opts.nodeName}`)}`;
    this.firstSync = new Promise((r) => (this.resolveFirstSync = r));
  }

  /** Starts the list/watch; resolves at once (see synced()). */
  start(): void {
    this.running ??= this.run();
  }

  /** List, then watch until 410 Gone (list again) or a failure (list again after the backoff), until closed. */
  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        let rv = await this.list();
        while (!this.closed) {
          const next = await this.watch(rv);
          if (next === null) break; // 410 Gone: list again now
          rv = next;
        }
      } catch (err) {
        if (this.closed) return;
        this.lastError = err;
        log.debug({ err: String(err), retryInMs: this.backoff }, 'pod watch failed; listing again after the backoff');
        // Ends early when closed; leaves no listener on the signal behind (an outage is many of these).
        await sleep(this.backoff, undefined, { signal: this.abort.signal, ref: false }).catch(() => undefined);
        this.backoff = Math.min(this.backoff * 2, this.maxBackoff);
      }
    }
  }

  /** Replaces the cache with a fresh list; gives its resourceVersion. */
  private async list(): Promise<string> {
    const body = (await requestJson(this.endpoint, 'GET', `/api/v1/pods?${this.selector}`, undefined, this.abort.signal)) as { metadata?: { resourceVersion?: unknown }; items?: unknown };
    const rv = body.metadata?.resourceVersion;
    if (typeof rv !== 'string' || !Array.isArray(body.items)) {
      throw new Error(`pod list: expected a PodList with metadata.resourceVersion and items, found ${JSON.stringify(body).slice(0, 200)}`);
    }
    if (this.closed) return rv;
    this.lists++;
    const listed = new Set<string>();
    for (const item of body.items as PodObject[]) {
      const info = this.upsert(item);
      if (info) listed.add(info.uid);
    }
    for (const [uid, info] of this.byUid) if (uid === info.uid && !listed.has(uid)) this.delete(info);
    // The list succeeded: the watch is (re)connected.
    this.backoff = this.minBackoff;
    this.markSynced();
    return rv;
  }

  /** One watch from rv; gives the resourceVersion to go on from, or null after 410 Gone. */
  private async watch(from: string): Promise<string | null> {
    let rv: string | null = from;
    let events = 0;
    const started = Date.now();
    const path = `/api/v1/pods?${this.selector}&watch=true&allowWatchBookmarks=true&timeoutSeconds=${WATCH_TIMEOUT_S}&resourceVersion=${encodeURIComponent(from)}`;
    await watchStream(this.endpoint, path, (e) => {
      events++;
      rv = rv === null ? null : this.onEvent(e, rv);
    }, this.abort.signal, WATCH_IDLE_MS);
    // A watch the server (or a proxy) ends at once without a single event would be opened again and again:
    // as client-go does, take it for a failure, which lists again after the backoff.
    if (events === 0 && !this.closed && Date.now() - started < SHORT_WATCH_MS) throw new Error(`pod watch: the server ended the watch after ${Date.now() - started} ms without an event`);
    return rv;
  }

  private onEvent(e: WatchEvent, rv: string): string | null {
    if (e.type === 'ERROR') {
      const status = e.object as { code?: unknown; reason?: unknown; message?: unknown };
      if (status.code === 410) return null;
      throw new KubeApiError(typeof status.code === 'number' ? status.code : 0, String(status.reason ?? ''), `pod watch: ${String(status.message ?? JSON.stringify(status))}`);
    }
    const next = (e.object as PodObject & { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion;
    if (e.type === 'ADDED' || e.type === 'MODIFIED') this.upsert(e.object);
    else if (e.type === 'DELETED') this.remove(e.object);
    return typeof next === 'string' && next !== '' ? next : rv;
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
    this.abort.abort();
    await this.running;
  }

  private markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    this.lastError = null;
    this.resolveFirstSync();
  }

  private upsert(obj: PodObject): PodInfo | undefined {
    let info: PodInfo;
    try {
      info = podInfo(obj);
    } catch (err) {
      this.malformed++;
      log.debug({ err }, 'skipping malformed Pod object');
      return undefined;
    }
    const isNew = !this.byUid.has(info.uid);
    this.byUid.set(info.uid, info);
    if (info.runtimeUid !== null) this.byUid.set(info.runtimeUid, info);
    if (isNew) for (const l of this.addListeners) l(info);
    return info;
  }

  private remove(obj: PodObject): void {
    let info: PodInfo;
    try {
      info = podInfo(obj);
    } catch {
      this.malformed++;
      return;
    }
    this.delete(this.byUid.get(info.uid) ?? info);
  }

  private delete(info: PodInfo): void {
    this.byUid.delete(info.uid);
    if (info.runtimeUid) this.byUid.delete(info.runtimeUid);
    for (const l of this.deleteListeners) l(info);
  }
}
