import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KdropError, ErrorCodes } from '../errors.js';
import type { ListenAddress } from './config.js';
import { verbOf, type AuthDecision, type RequestAttributes } from './kube-auth.js';

export interface Check {
  readonly ok: boolean;
  readonly detail: string;
}

export interface HealthChecks {
  /** /healthz: the process is alive and the tracer runs. */
  live(): Check;
  /** /readyz: the first interval was read. */
  ready(): Check;
}

export interface AgentHttpServerOptions {
  readonly address: ListenAddress;
  /** Serves GET /metrics (Prometheus text) when set. */
  readonly metrics?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Serves GET /healthz and /readyz when set. */
  readonly health?: HealthChecks;
  /** Read-only JSON documents by path (the drops API for `kdrop top --agent`), served with the metrics. */
  readonly json?: Readonly<Record<string, () => unknown>>;
  /** Serve HTTPS with this certificate and key (PEM). */
  readonly tls?: TlsMaterial;
  /** Decides on every /metrics and JSON request (not on /healthz, /readyz: the kubelet's probes carry no token). */
  readonly guard?: (authorization: string | undefined, attrs: RequestAttributes, remoteAddress: string | undefined) => Promise<AuthDecision>;
  readonly limits?: Partial<ServerLimits>;
  /**
   * Handlers by path that answer themselves (the doctor API; the samples API's stream): behind the guard like
   * the JSON documents, but not counted against `maxInflight` (a stream is long-lived; it bounds itself).
   */
  readonly routes?: Readonly<Record<string, (req: IncomingMessage, res: ServerResponse) => void>>;
}

export interface TlsMaterial {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

/**
 * Bounds that keep a flood of clients from starving the read loop (which shares the event loop): connections
 * beyond `maxConnections` are closed at accept, /metrics and JSON requests beyond `maxInflight` at once get 503,
 * request headers are bounded in size and time, and requests with a body are refused (413).
 */
export interface ServerLimits {
  readonly maxConnections: number;
  readonly maxInflight: number;
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxConnections: 64,
  maxInflight: 8,
  maxHeaderBytes: 8192,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
};

/**
 * The agent's HTTP listener: /metrics (Prometheus text of the SDK's PrometheusExporter collection, export/prometheus-text.ts), the
 * read-only JSON API (/api/v1/drops), /healthz and /readyz, on one port or split over two instances of this class.
 */
export class AgentHttpServer {
  private readonly server: Server | TlsServer;
  private readonly limits: ServerLimits;
  private scrapes = 0;
  private scrapeWaiters: (() => void)[] = [];
  private inflight = 0;
  /** Requests answered 503 because `maxInflight` were in progress; connections closed at accept. */
  readonly refused = { busy: 0, connections: 0 };

  constructor(private readonly opts: AgentHttpServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    const base: ServerOptions = {
      maxHeaderSize: this.limits.maxHeaderBytes,
      headersTimeout: this.limits.headersTimeoutMs,
      requestTimeout: this.limits.requestTimeoutMs,
      keepAliveTimeout: this.limits.keepAliveTimeoutMs,
    };
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.handle(req, res);
    this.server = opts.tls ? createTlsServer({ ...base, cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' }, handler) : createServer(base, handler);
    this.server.maxConnections = this.limits.maxConnections;
    this.server.on('drop', () => this.refused.connections++);
  }

  /** Replaces the certificate (a renewed Secret) for new connections. */
  setTls(tls: TlsMaterial): void {
    if ('setSecureContext' in this.server) this.server.setSecureContext({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
  }

  /** Binds; resolves with the bound address (port 0 picks a free port). Rejects with a KdropError. */
  listen(): Promise<ListenAddress> {
    const { host, port } = this.opts.address;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          new KdropError(ErrorCodes.EXPORT, `cannot listen on ${host}:${port}`, {
            expected: 'a free local address',
            found: err.code ?? err.message,
            hint: err.code === 'EADDRINUSE' ? 'another process uses the port: pick another with --metrics-address / --health-address' : 'check the address',
            cause: err,
          }),
        );
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const a = this.server.address() as AddressInfo;
        resolve({ host, port: a.port });
      });
    });
  }

  /** /metrics responses completed so far. */
  scrapeCount(): number {
    return this.scrapes;
  }

  /** Resolves after the next completed /metrics response, or after `timeoutMs`; true if a scrape happened. */
  waitForScrape(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.scrapeWaiters = this.scrapeWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.scrapeWaiters.push(done);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      // Scrapers keep connections alive; do not let them hold the stop.
      this.server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', connection: 'close' }).end();
      return;
    }
    if (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined) {
      res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('a request body is not accepted\n');
      return;
    }
    const health = this.opts.health;
    if (health && (path === '/healthz' || path === '/readyz')) {
      const c = path === '/healthz' ? health.live() : health.ready();
      res.writeHead(c.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(`${c.ok ? 'ok' : 'not ok'}: ${c.detail}\n`);
      return;
    }
    const isMetrics = path === '/metrics' && this.opts.metrics !== undefined;
    const doc = this.opts.json?.[path];
    const route = this.opts.routes?.[path];
    if (!isMetrics && doc === undefined && route === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    if (route === undefined) {
      if (this.inflight >= this.limits.maxInflight) {
        this.refused.busy++;
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' }).end('busy: too many requests in progress\n');
        return;
      }
      this.inflight++;
      res.once('close', () => this.inflight--);
    }
    const serve = (): void => {
      if (route !== undefined) route(req, res);
      else if (isMetrics) this.serveMetrics(req, res);
      else if (doc !== undefined) this.serveJson(req, res, doc);
    };
    const guard = this.opts.guard;
    if (guard === undefined) return serve();
    guard(req.headers.authorization, { path, verb: verbOf(req.method) }, req.socket.remoteAddress).then(
      (d) => {
        if (res.destroyed) return;
        if (d.status === 200) return serve();
        const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
        if (d.status === 401) headers['www-authenticate'] = 'Bearer realm="kdrop"';
        if (d.status === 503) headers['retry-after'] = '5';
        res.writeHead(d.status, headers).end(`${d.message}\n`);
      },
      (err: unknown) => {
        if (!res.destroyed) res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end(`authorization failed: ${String(err)}\n`);
      },
    );
  }

  private serveMetrics(req: IncomingMessage, res: ServerResponse): void {
    res.once('finish', () => {
      this.scrapes++;
      const waiters = this.scrapeWaiters;
      this.scrapeWaiters = [];
      for (const w of waiters) w();
    });
    this.opts.metrics!(req, res);
  }

  private serveJson(req: IncomingMessage, res: ServerResponse, doc: () => unknown): void {
    const body = JSON.stringify(doc());
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : `${body}\n`);
  }
}
