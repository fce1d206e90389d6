import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KdropError, ErrorCodes } from '../errors.js';
import type { ListenAddress } from './config.js';

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
  /** Handlers by path that answer themselves (the doctor API; the samples API's stream). */
  readonly routes?: Readonly<Record<string, (req: IncomingMessage, res: ServerResponse) => void>>;
}

/**
 * The agent's HTTP listener: /metrics (Prometheus exposition from the SDK's PrometheusExporter), the
 * read-only JSON API (/api/v1/drops), /healthz and /readyz, on one port or split over two instances of this class.
 */
export class AgentHttpServer {
  private readonly server: Server;
  private scrapes = 0;
  private scrapeWaiters: (() => void)[] = [];

  constructor(private readonly opts: AgentHttpServerOptions) {
    this.server = createServer((req, res) => this.handle(req, res));
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
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics' && this.opts.metrics) {
      res.once('finish', () => {
        this.scrapes++;
        const waiters = this.scrapeWaiters;
        this.scrapeWaiters = [];
        for (const w of waiters) w();
      });
      this.opts.metrics(req, res);
      return;
    }
    const route = path === undefined ? undefined : this.opts.routes?.[path];
    if (route !== undefined) return route(req, res);
    const doc = path === undefined ? undefined : this.opts.json?.[path];
    if (doc !== undefined) {
      const body = JSON.stringify(doc());
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : `${body}\n`);
      return;
    }
    const health = this.opts.health;
    if (health && (path === '/healthz' || path === '/readyz')) {
      const c = path === '/healthz' ? health.live() : health.ready();
      res.writeHead(c.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(`${c.ok ? 'ok' : 'not ok'}: ${c.detail}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
  }
}
