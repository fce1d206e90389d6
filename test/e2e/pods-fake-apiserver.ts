/**
 * A fake Kubernetes API server for pods that speaks the real list/watch protocol, for tests that cannot have a
 * real kube-apiserver:
 * - list `GET /api/v1/pods[?fieldSelector=spec.nodeName=X]` -> PodList with metadata.resourceVersion;
 * - watch `...&watch=true&resourceVersion=N` -> JSON lines `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":...}`
 *   with every change after N, then live ones; `allowWatchBookmarks=true` gets BOOKMARK events; a resourceVersion
 *   older than the last compaction gets an ERROR event with a Status of code 410 (reason Expired), then the stream
 *   ends, as kube-apiserver does;
 * - create `POST /api/v1/namespaces/NS/pods` (uid assigned), read `GET .../pods/NAME`, `PUT .../pods/NAME/status`,
 *   delete `DELETE .../pods/NAME` (immediate, as with gracePeriodSeconds=0).
 * Resource versions are one counter for the whole store. Plain HTTP on 127.0.0.1, or HTTPS with `tls`; with `token`,
 * requests without `Authorization: Bearer <token>` get 401 as kube-apiserver gives them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { kubeconfigText } from '../helpers/kube.js';

type Json = Record<string, unknown>;
interface Pod extends Json {
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; [k: string]: unknown };
  spec?: { nodeName?: string; [k: string]: unknown };
}
interface Event {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: Pod;
}
interface WatchStream {
  readonly res: ServerResponse;
  readonly node: string | null;
  readonly bookmarks: boolean;
}

export class FakeApiServer {
  private server: Server | null = null;
  private port = 0;
  private rv = 1;
  private compactedRv = 0;
  private readonly pods = new Map<string, Pod>();
  private history: Event[] = [];
  private readonly watches = new Set<WatchStream>();
  private bookmarkTimer: NodeJS.Timeout | undefined;
  /** The Authorization header of the request being answered. */
  private authorization: string | undefined;
  /** Changes the token the server accepts (a rotated ServiceAccount token). */
  setToken(token: string): void {
    this.token = token;
  }
  /** Requests seen, for assertions: "list" and "watch" with the resourceVersion asked for. */
  readonly requests: Array<{ kind: 'list' | 'watch'; resourceVersion: string | null; authorization: string | undefined }> = [];

  private token: string | undefined;

  constructor(private readonly opts: { bookmarkIntervalMs?: number; tls?: { cert: string; key: string }; token?: string } = {}) {
    this.token = opts.token;
  }

  get url(): string {
    return `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** Starts listening (on the previous port after a stop(), to simulate an outage). */
  async start(): Promise<void> {
    const server = this.opts.tls ? createTlsServer(this.opts.tls, (req, res) => this.handle(req, res)) : createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    this.bookmarkTimer = setInterval(() => this.sendBookmarks(), this.opts.bookmarkIntervalMs ?? 1000);
  }

  /** Stops listening and ends every open watch. */
  async stop(): Promise<void> {
    clearInterval(this.bookmarkTimer);
    this.closeWatches();
    const s = this.server;
    this.server = null;
    if (s === null) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  /** Ends every open watch stream (clients should re-watch from their last resourceVersion). */
  closeWatches(): void {
    for (const w of this.watches) w.res.end();
    this.watches.clear();
  }

  /** Forgets the change history: watches from an older resourceVersion get 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
  }

  /** A kubeconfig for this server (its text). */
  kubeconfig(): string {
    return kubeconfigText(this.url, 'fake');
  }

  /** Store-side helpers (tests may also use HTTP). */
  createPod(ns: string, body: Json): Pod {
    const md = (body['metadata'] ?? {}) as Json;
    const name = String(md['name']);
    const key = `${ns}/${name}`;
    if (this.pods.has(key)) throw Object.assign(new Error(`pods "${name}" already exists`), { status: 409 });
    const pod: Pod = {
      ...body,
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...md, name, namespace: ns, uid: randomUUID(), resourceVersion: '', creationTimestamp: new Date().toISOString() },
    } as Pod;
    this.pods.set(key, pod);
    this.record('ADDED', pod);
    return pod;
  }

  replaceStatus(ns: string, name: string, status: unknown): Pod | null {
    const old = this.pods.get(`${ns}/${name}`);
    if (!old) return null;
    const pod: Pod = { ...old, status, metadata: { ...old.metadata } } as Pod;
    this.pods.set(`${ns}/${name}`, pod);
    this.record('MODIFIED', pod);
    return pod;
  }

  deletePod(ns: string, name: string): Pod | null {
    const old = this.pods.get(`${ns}/${name}`);
    if (!old) return null;
    this.pods.delete(`${ns}/${name}`);
    const pod: Pod = { ...old, metadata: { ...old.metadata } };
    this.record('DELETED', pod);
    return pod;
  }

  private record(type: Event['type'], pod: Pod): void {
    this.rv++;
    pod.metadata.resourceVersion = String(this.rv);
    const ev: Event = { rv: this.rv, type, object: pod };
    this.history.push(ev);
    for (const w of this.watches) if (matches(pod, w.node)) writeEvent(w.res, type, pod);
  }

  private sendBookmarks(): void {
    for (const w of this.watches) {
      if (w.bookmarks) {
        writeEvent(w.res, 'BOOKMARK', { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) } });
      }
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const parts = url.pathname.split('/').filter((p) => p !== '');
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`) {
        sendStatus(res, 401, 'Unauthorized');
        return;
      }
      this.authorization = req.headers.authorization;
      try {
        this.route(req.method ?? 'GET', parts, url.searchParams, body, res);
      } catch (err) {
        const status = (err as { status?: number }).status ?? 500;
        sendStatus(res, status, (err as Error).message);
      }
    });
  }

  private route(method: string, p: string[], q: URLSearchParams, body: string, res: ServerResponse): void {
    // /api/v1/pods
    if (method === 'GET' && p.length === 3 && p[0] === 'api' && p[1] === 'v1' && p[2] === 'pods') {
      const node = nodeFromSelector(q.get('fieldSelector'));
      if (q.get('watch') === 'true' || q.get('watch') === '1') return this.watch(q, node, res);
      this.requests.push({ kind: 'list', resourceVersion: q.get('resourceVersion'), authorization: this.authorization });
      const items = [...this.pods.values()].filter((pod) => matches(pod, node));
      return sendJson(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items });
    }
    // /api/v1/namespaces/NS/pods[/NAME[/status]]
    if (p[0] === 'api' && p[1] === 'v1' && p[2] === 'namespaces' && p[4] === 'pods' && p[3] !== undefined) {
      const ns = p[3];
      const name = p[5];
      if (method === 'POST' && name === undefined) return sendJson(res, 201, this.createPod(ns, JSON.parse(body) as Json));
      if (name !== undefined && p.length === 6 && method === 'GET') {
        const pod = this.pods.get(`${ns}/${name}`);
        return pod ? sendJson(res, 200, pod) : sendStatus(res, 404, `pods "${name}" not found`);
      }
      if (name !== undefined && p.length === 7 && p[6] === 'status' && method === 'PUT') {
        const pod = this.replaceStatus(ns, name, (JSON.parse(body) as Json)['status']);
        return pod ? sendJson(res, 200, pod) : sendStatus(res, 404, `pods "${name}" not found`);
      }
      if (name !== undefined && p.length === 6 && method === 'DELETE') {
        const pod = this.deletePod(ns, name);
        return pod ? sendJson(res, 200, pod) : sendStatus(res, 404, `pods "${name}" not found`);
      }
    }
    sendStatus(res, 404, `the fake API server does not serve ${method} /${p.join('/')}`);
  }

  private watch(q: URLSearchParams, node: string | null, res: ServerResponse): void {
    const from = q.get('resourceVersion');
    this.requests.push({ kind: 'watch', resourceVersion: from, authorization: this.authorization });
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const since = from === null || from === '' || from === '0' ? this.rv : Number(from);
    if (since < this.compactedRv) {
      writeEvent(res, 'ERROR', {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${since} (${this.compactedRv})`,
        reason: 'Expired',
        code: 410,
      });
      res.end();
      return;
    }
    for (const ev of this.history) if (ev.rv > since && matches(ev.object, node)) writeEvent(res, ev.type, ev.object);
    const w: WatchStream = { res, node, bookmarks: q.get('allowWatchBookmarks') === 'true' };
    this.watches.add(w);
    res.on('close', () => this.watches.delete(w));
  }
}

function nodeFromSelector(sel: string | null): string | null {
  if (sel === null || sel === '') return null;
  const m = /^spec\.nodeName=(.*)$/.exec(sel);
  if (!m) throw Object.assign(new Error(`unsupported field selector ${sel}`), { status: 400 });
  return m[1] ?? '';
}

function matches(pod: Pod, node: string | null): boolean {
  return node === null || pod.spec?.nodeName === node;
}

function writeEvent(res: ServerResponse, type: string, object: unknown): void {
  res.write(JSON.stringify({ type, object }) + '\n');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sendStatus(res: ServerResponse, code: number, message: string): void {
  sendJson(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code });
}
