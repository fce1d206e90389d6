/**
 * The agent's samples API for `kubectl kdrop trace`: `GET /api/v1/samples?pod=NS/NAME&reason=..&proto=..
 * &port=..&host=..&function=..` streams this node's sampled drops (flows: addresses, ports, interfaces)
 * as NDJSON, one `kdrop trace --json` record per line plus `node`, filtered here on the agent. Flows carry
 * addresses: the endpoint is off unless enabled (--samples-api), and every request must pass `authorize`;
 * without an authorizer every request is refused (deny by default). docs/kubectl.md says how requests
 * through the API server proxy are authorized.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DescribedSample } from '../vocabulary/flow-sample.js';
import { toTraceRecord } from '../export/sample-format.js';
import { z } from 'zod';
import { buildFlowFilter } from '../aggregate/flow-filter.js';

export const SAMPLES_API_PATH = '/api/v1/samples';

export interface AuthDecision {
  readonly allowed: boolean;
  /** 401 (who are you?) or 403 (not allowed) when refused. */
  readonly status?: 401 | 403;
  /** Why, for the log and the refusal's body (never secrets). */
  readonly reason: string;
}

/** Decides one request; the exposure branch's TokenReview/SubjectAccessReview plugs in here. */
export type Authorizer = (req: IncomingMessage) => Promise<AuthDecision>;

export interface SamplesApiOptions {
  /** Subscribes to this node's described samples (returns the unsubscribe); null when the source cannot sample (not bpf, or not open yet). */
  readonly subscribe: (listener: (s: DescribedSample) => void) => (() => void) | null;
  /** null: nothing can authorize a request, so every request is refused. */
  readonly authorize: Authorizer | null;
  readonly node: string | null;
  /** Streams open at once (default 8); more are answered 429. */
  readonly maxStreams?: number;
  /** Records per second per stream (default 200); beyond it samples are skipped and counted. */
  readonly maxPerS?: number;
  /** Bytes buffered for a slow client before samples are skipped (default 1 MiB). */
  readonly maxBuffered?: number;
  /** An empty line this often keeps idle proxies from closing the stream (default 15 s). */
  readonly heartbeatMs?: number;
}

export interface SampleQuery {
  readonly namespace: string | null;
  readonly pod: string | null;
  readonly reasons: ReadonlySet<string>;
  readonly functions: ReadonlySet<string>;
  readonly keepFlow: ReturnType<typeof buildFlowFilter>;
}

const list = (q: URLSearchParams, name: string): string[] => q.getAll(name).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');

/** The query's filters; throws an Error with a message for a 400. */
export function parseSampleQuery(search: string): SampleQuery {
  const q = new URLSearchParams(search);
  const podParam = q.get('pod');
  let namespace = q.get('namespace');
  let pod: string | null = null;
  if (podParam !== null) {
    const parts = podParam.split('/');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') throw new Error(`pod: expected NAMESPACE/NAME, found ${JSON.stringify(podParam)}`);
    [namespace, pod] = [parts[0]!, parts[1]!];
  }
  const ports = list(q, 'port').map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`port: expected 0-65535, found ${JSON.stringify(p)}`);
    return n;
  });
  return {
    namespace,
    pod,
    reasons: new Set(list(q, 'reason').map((r) => r.toUpperCase())),
    functions: new Set(list(q, 'function')),
    keepFlow: buildFlowFilter({ protos: list(q, 'proto'), ports, hosts: list(q, 'host') }),
  };
}

export function matchesQuery(q: SampleQuery, s: DescribedSample): boolean {
  if (q.namespace !== null && (s.owner.scope !== 'pod' || s.owner.namespace !== q.namespace)) return false;
  if (q.pod !== null && s.owner.pod !== q.pod) return false;
  if (q.reasons.size > 0 && (s.reason === null || !q.reasons.has(s.reason))) return false;
  if (q.functions.size > 0 && (s.function === null || !q.functions.has(s.function))) return false;
  return q.keepFlow(s.flow);
}

const text = (res: ServerResponse, status: number, body: string): void => {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(`${body}\n`);
};

/** The route handler. Streams until the client goes away or the agent stops (close() ends every stream). */
export function samplesApiHandler(o: SamplesApiOptions): { handle: (req: IncomingMessage, res: ServerResponse) => void; close: () => void; streams: () => number } {
  const open = new Set<ServerResponse>();
  const maxStreams = o.maxStreams ?? 8;
  const maxPerS = o.maxPerS ?? 200;
  const maxBuffered = o.maxBuffered ?? 1 << 20;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      const decision: AuthDecision = o.authorize === null ? { allowed: false, status: 403, reason: 'the samples API has no authorization configured: refusing every request' } : await o.authorize(req).catch((err: unknown) => ({ allowed: false, status: 403 as const, reason: `authorization failed: ${String(err)}` }));
      if (!decision.allowed) return text(res, decision.status ?? 403, `forbidden: ${decision.reason}`);
      let query: SampleQuery;
      try {
        query = parseSampleQuery((req.url ?? '').split('?')[1] ?? '');
      } catch (err) {
        return text(res, 400, `bad query: ${(err as Error).message}`);
      }
      if (open.size >= maxStreams) return text(res, 429, `too many sample streams (${maxStreams}); try again later`);
      let second = Math.floor(Date.now() / 1000);
      let inSecond = 0;
      let skipped = 0;
      const unsubscribe = o.subscribe((s) => {
        if (!matchesQuery(query, s)) return;
        const now = Math.floor(Date.now() / 1000);
        if (now !== second) [second, inSecond] = [now, 0];
        if (inSecond >= maxPerS || res.writableLength > maxBuffered) {
          skipped++;
          return;
        }
        inSecond++;
        res.write(`${JSON.stringify({ ...toTraceRecord(s), node: o.node, skipped_before: skipped })}\n`);
        skipped = 0;
      });
      if (unsubscribe === null) return text(res, 503, 'this agent has no samples (yet): they need the bpf source');
      open.add(res);
      res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.flushHeaders();
      const beat = setInterval(() => res.write('\n'), o.heartbeatMs ?? 15_000);
      const done = (): void => {
        clearInterval(beat);
        unsubscribe();
        open.delete(res);
      };
      res.once('close', done);
      req.once('close', () => res.end());
    })();
  };
  return {
    handle,
    streams: () => open.size,
    close: () => {
      for (const r of open) r.end();
    },
  };
}

/**
 * Authorizes requests that arrive from the API server's proxy: the API server checked the user's RBAC
 * (`get pods/proxy` on this agent pod) before proxying, and does not forward the user's identity or
 * present a client certificate (kube-apiserver CreateProxyTransport). So the agent checks where the
 * connection comes from: only the API server's addresses (`trusted`, exact IPs or CIDRs) are allowed.
 * A pod cannot forge its TCP source address; the chart's NetworkPolicy enforces the same in the network.
 */
export function apiServerProxyAuthorizer(trusted: readonly string[]): Authorizer {
  const rules = trusted.map(parseCidr);
  return (req) => {
    const addr = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const ok = rules.some((r) => r(addr));
    return Promise.resolve(ok ? { allowed: true, reason: `from ${addr}: the API server proxy (RBAC pods/proxy checked there)` } : { allowed: false, status: 403, reason: `${addr || 'unknown address'} is not a trusted API server address` });
  };
}

function ipv4(a: string): number | null {
  const p = a.split('.');
  if (p.length !== 4) return null;
  let n = 0;
  for (const x of p) {
    const v = Number(x);
    if (!/^\d{1,3}$/.test(x) || v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

/** `10.0.0.1`, `10.0.0.0/24` (IPv4) or an exact IPv6 address; throws on anything else. */
export function parseCidr(rule: string): (addr: string) => boolean {
  const [base, bitsText] = rule.split('/');
  const b = ipv4(base ?? '');
  if (b === null) {
    if (bitsText !== undefined || !(base ?? '').includes(':')) throw new Error(`expected an IPv4 address or CIDR, or an IPv6 address, found ${JSON.stringify(rule)}`);
    return (addr) => addr === base;
  }
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`expected a prefix length 0-32 in ${JSON.stringify(rule)}`);
  const size = 2 ** (32 - bits);
  const lo = Math.floor(b / size) * size;
  return (addr) => {
    const a = ipv4(addr);
    return a !== null && a >= lo && a < lo + size;
  };
}

/** API server addresses (IPv4, IPv4 CIDR, IPv6) the samples API trusts as its proxy. */
export const trustedProxies = z.union([z.string(), z.array(z.string())]).transform((v, ctx): string[] => {
  const items = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  for (const i of items) {
    try {
      parseCidr(i);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  }
  return items;
});
