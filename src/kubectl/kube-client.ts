/**
 * `kubectl kdrop`: the user's Kubernetes API access, taken the way kubectl takes it (--kubeconfig, KUBECONFIG,
 * ~/.kube/config; --context; the context's namespace), and plain GETs against the API server with the
 * credentials @kubernetes/client-node's KubeConfig applies (client certificates, tokens, exec plugins).
 * Everything else (agents, pods) is reached through the API server's proxy, never node addresses.
 */
import { KubeConfig } from '@kubernetes/client-node';
import * as http from 'node:http';
import * as https from 'node:https';
import { KdropError, ErrorCodes, excerpt } from '../errors.js';

export interface KubeFlags {
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  readonly namespace?: string | undefined;
}

export interface KubeResponse {
  readonly status: number;
  readonly body: string;
}

export interface RequestOptions {
  /** Aborts the request (a per-agent timeout, Ctrl-C). */
  readonly signal?: AbortSignal;
  readonly accept?: string;
}

/** The parts of a Kubernetes Status object an error message needs. */
interface StatusBody {
  kind?: string;
  reason?: string;
  message?: string;
}

export function parseStatus(body: string): StatusBody | null {
  try {
    const v = JSON.parse(body) as unknown;
    return typeof v === 'object' && v !== null && (v as StatusBody).kind === 'Status' ? (v as StatusBody) : null;
  } catch {
    return null;
  }
}

/**
 * The permission the API server's 403 names: `User "alice" cannot get resource "pods/proxy" in API group ""
 * in the namespace "kdrop-system"` -> `get pods/proxy in namespace kdrop-system`. Null when it is not an
 * RBAC refusal of the API server (e.g. a 403 the agent itself sent through the proxy).
 */
export function forbiddenPermission(status: number, body: string): { permission: string; message: string } | null {
  if (status !== 403) return null;
  const s = parseStatus(body);
  if (s === null || s.reason !== 'Forbidden') return null;
  const message = s.message ?? '';
  const m = /cannot (\w+) resource "([^"]+)"(?: in API group "[^"]*")?(?: in the namespace "([^"]+)")?/.exec(message);
  const permission = m === null ? 'a permission the API server did not name' : `${m[1]} ${m[2]}${m[3] === undefined ? ' (cluster-wide)' : ` in namespace ${m[3]}`}`;
  return { permission, message };
}

/** The KdropError for an API server refusal: the permission, the API server's words, and the fix. */
export function forbiddenError(what: string, p: { permission: string; message: string }): KdropError {
  return new KdropError(ErrorCodes.KUBE_FORBIDDEN, `the Kubernetes API server refused ${what}: missing permission ${p.permission}`, {
    expected: `RBAC allowing ${p.permission}`,
    found: excerpt(p.message, 240),
    hint: "bind the chart's kdrop-user ClusterRole to you in the agents' namespace (docs/kubectl.md#rbac)",
  });
}

export class KubeApi {
  private readonly agent: http.Agent;

  constructor(
    private readonly kc: KubeConfig,
    readonly server: URL,
    /** The namespace of -n, else the context's, else `default`. */
    readonly namespace: string,
    /** Connections kept to the API server (the fan-out's concurrency). */
    maxSockets = 32,
  ) {
    const opts = { keepAlive: true, maxSockets };
    this.agent = server.protocol === 'https:' ? new https.Agent(opts) : new http.Agent(opts);
  }

  /** The context's cluster, user and namespace, the way kubectl picks them. Throws KUBE_API. */
  static load(flags: KubeFlags, maxSockets?: number): KubeApi {
    const kc = new KubeConfig();
    try {
      if (flags.kubeconfig !== undefined) kc.loadFromFile(flags.kubeconfig);
      else kc.loadFromDefault();
    } catch (err) {
      throw new KdropError(ErrorCodes.KUBE_API, 'cannot read the kubeconfig', {
        expected: 'a kubeconfig (--kubeconfig, KUBECONFIG or ~/.kube/config)',
        found: err instanceof Error ? err.message : String(err),
        cause: err,
      });
    }
    if (flags.context !== undefined) {
      if (kc.getContextObject(flags.context) === null) {
        throw new KdropError(ErrorCodes.KUBE_API, `no context ${JSON.stringify(flags.context)} in the kubeconfig`, {
          expected: `one of ${kc.getContexts().map((c) => c.name).join(', ') || '(none)'}`,
          found: excerpt(flags.context),
        });
      }
      kc.setCurrentContext(flags.context);
    }
    const cluster = kc.getCurrentCluster();
    if (cluster === null) {
      throw new KdropError(ErrorCodes.KUBE_API, 'the kubeconfig has no current cluster', { expected: 'a current-context naming a cluster (or --context)', found: kc.getCurrentContext() || '(no current-context)' });
    }
    const ctxNs = kc.getContextObject(kc.getCurrentContext())?.namespace;
    return new KubeApi(kc, new URL(cluster.server), flags.namespace ?? (ctxNs !== undefined && ctxNs !== '' ? ctxNs : 'default'), maxSockets);
  }

  /** One GET; resolves with any HTTP status, rejects (with the Node error) when no answer came. */
  async get(path: string, o: RequestOptions = {}): Promise<KubeResponse> {
    const res = await this.open(path, o);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') };
  }

  /** One GET whose body is read as it comes (streams); the caller consumes or destroys it. */
  async open(path: string, o: RequestOptions = {}): Promise<http.IncomingMessage> {
    const url = new URL(path.replace(/^\/+/, ''), this.server.href.endsWith('/') ? this.server : `${this.server.href}/`);
    const opts: https.RequestOptions = { method: 'GET', agent: this.agent, headers: { accept: o.accept ?? 'application/json' } };
    await this.kc.applyToHTTPSOptions(opts);
    // client-node's agent (kept when the kubeconfig names a proxy-url) does not keep connections alive:
    // the fan-out reuses a few connections instead of one TLS handshake per agent. The TLS options
    // (ca, cert, key, servername, rejectUnauthorized) stay on the request.
    if (this.kc.getCurrentCluster()?.proxyUrl === undefined) opts.agent = this.agent;
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { ...opts, ...(o.signal ? { signal: o.signal } : {}) }, resolve);
      req.once('error', reject);
      req.end();
    });
  }

  /** GET and parse JSON; a refusal, 401 or non-JSON becomes a KdropError that says what was asked. */
  async getJson<T>(path: string, what: string, o: RequestOptions = {}): Promise<T> {
    let res: KubeResponse;
    try {
      res = await this.get(path, o);
    } catch (err) {
      throw new KdropError(ErrorCodes.KUBE_API, `cannot reach the Kubernetes API server at ${this.server.origin}`, {
        expected: `an answer to ${what}`,
        found: err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.message) : String(err),
        cause: err,
      });
    }
    const forbidden = forbiddenPermission(res.status, res.body);
    if (forbidden !== null) throw forbiddenError(what, forbidden);
    if (res.status !== 200) {
      const s = parseStatus(res.body);
      throw new KdropError(ErrorCodes.KUBE_API, `the Kubernetes API server answered ${res.status} to ${what}`, {
        expected: '200',
        found: excerpt(s?.message ?? res.body.trim(), 240),
        ...(res.status === 401 ? { hint: 'your credentials were refused: log in again (kubectl get pods tells the same)' } : {}),
      });
    }
    try {
      return JSON.parse(res.body) as T;
    } catch {
      throw new KdropError(ErrorCodes.KUBE_API, `the Kubernetes API server sent no JSON for ${what}`, { expected: 'a JSON object', found: excerpt(res.body) });
    }
  }

  close(): void {
    this.agent.destroy();
  }
}
