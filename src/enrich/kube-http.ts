/**
 * The agent's small Kubernetes API client, on node:http(s): one JSON request, and one watch stream read as the
 * JSON lines kube-apiserver writes. All it needs for its node's pods (list/watch, pod-cache.ts) and for the
 * reviews of its API's callers (TokenReview, SubjectAccessReview). `kubectl kdrop` keeps @kubernetes/client-node.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeEndpoint } from './kube-endpoint.js';

/** A non-2xx answer; `status` is the HTTP status, `reason` the Status object's reason when it sent one. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

const MAX_BODY_BYTES = 64 * 2 ** 20;

/** A silence limit for a stream; `error` is set when it fired (the response then fails with a plain 'aborted'). */
interface Idle {
  readonly ms: number;
  error?: Error;
}

async function open(ep: KubeEndpoint, method: string, path: string, body: string | undefined, signal?: AbortSignal, idle?: Idle): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  const base = await ep.requestOptions();
  const url = new URL(path, `${ep.server}/`);
  const headers: Record<string, string> = { accept: 'application/json', ...(base.headers as Record<string, string> | undefined) };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const opts: RequestOptions = { ...base, method, headers, ...(signal ? { signal } : {}) };
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'http:' ? httpRequest : httpsRequest)(url, opts, (res) => resolve({ req, res }));
    req.on('error', reject);
    // A connection that stops sending (a vanished node, a dropped NAT entry) must end like a closed one.
    if (idle !== undefined) {
      req.setTimeout(idle.ms, () => {
        idle.error = new Error(`no data from the Kubernetes API for ${idle.ms} ms`);
        req.destroy(idle.error);
      });
    }
    req.end(body);
  });
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY_BYTES) {
      res.destroy();
      throw new Error(`Kubernetes API answer larger than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function failure(method: string, path: string, res: IncomingMessage): Promise<KubeApiError> {
  const text = await readAll(res).catch(() => '');
  let reason = '';
  let message = text.slice(0, 300);
  try {
    const s = JSON.parse(text) as { reason?: unknown; message?: unknown };
    if (typeof s.reason === 'string') reason = s.reason;
    if (typeof s.message === 'string') message = s.message;
  } catch {
    // not a Status object: keep the text
  }
  return new KubeApiError(res.statusCode ?? 0, reason, `${method} ${path}: HTTP ${res.statusCode ?? '?'}${reason ? ` ${reason}` : ''}: ${message}`);
}

/** One request; the answer's JSON. Non-2xx -> KubeApiError. Gives up after timeoutMs, or when `signal` aborts. */
export async function requestJson(ep: KubeEndpoint, method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal, timeoutMs = 30_000): Promise<unknown> {
  const limit = AbortSignal.timeout(timeoutMs);
  const { res } = await open(ep, method, path, body === undefined ? undefined : JSON.stringify(body), signal ? AbortSignal.any([signal, limit]) : limit);
  const status = res.statusCode ?? 0;
  if (status < 200 || status > 299) throw await failure(method, path, res);
  const text = await readAll(res);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${method} ${path}: the Kubernetes API's answer is not JSON: ${text.slice(0, 200)}`);
  }
}

export interface WatchEvent {
  readonly type: string;
  readonly object: Record<string, unknown>;
}

/**
 * A watch: calls onEvent for each JSON line until the server ends the stream (resolves) or it fails (rejects: HTTP
 * error, broken connection, `idleMs` without a byte, a line that is not an event). `signal` ends it quietly.
 */
export async function watchStream(ep: KubeEndpoint, path: string, onEvent: (e: WatchEvent) => void, signal: AbortSignal, idleMs: number): Promise<void> {
  const idle: Idle = { ms: idleMs };
  let opened: { res: IncomingMessage };
  try {
    opened = await open(ep, 'GET', path, undefined, signal, idle);
  } catch (err) {
    if (signal.aborted) return;
    throw idle.error ?? err;
  }
  const { res } = opened;
  if ((res.statusCode ?? 0) !== 200) throw await failure('GET', path, res);
  let rest = '';
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      if (rest.length > MAX_BODY_BYTES) throw new Error(`watch event longer than ${MAX_BODY_BYTES} bytes`);
      for (const line of lines) if (line.trim() !== '') onEvent(parseEvent(line));
    }
  } catch (err) {
    if (signal.aborted) return;
    throw idle.error ?? err;
  }
  if (rest.trim() !== '') onEvent(parseEvent(rest));
}

function parseEvent(line: string): WatchEvent {
  let e: unknown;
  try {
    e = JSON.parse(line);
  } catch {
    throw new Error(`watch: a line that is not JSON: ${line.slice(0, 200)}`);
  }
  const o = e as { type?: unknown; object?: unknown } | null;
  if (typeof o?.type !== 'string' || typeof o.object !== 'object' || o.object === null) {
    throw new Error(`watch: expected {"type": ..., "object": {...}}, found ${line.slice(0, 200)}`);
  }
  return { type: o.type, object: o.object as Record<string, unknown> };
}
