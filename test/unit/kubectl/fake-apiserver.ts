/**
 * A fake Kubernetes API server for `kubectl kdrop` tests: lists agent pods by the chart's labels, serves pods,
 * and answers the pod proxy (`/api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH`) for every agent from one
 * handler per agent: an answer, a delay, the proxy's 503 for a dead pod, or RBAC refusals per token.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DROPS_API_VERSION, type DropsApiDocument } from '../../../src/agent/drops-api.js';

export type AgentBehaviour = { kind: 'ok'; doc: () => DropsApiDocument; delayMs?: number } | { kind: 'dead' } | { kind: 'hang' } | { kind: 'agent-403' };

export interface FakeAgent {
  readonly name: string;
  readonly node: string;
  behaviour: AgentBehaviour;
  /** Other paths (doctor, samples): handled by the test. */
  route?: (path: string, req: IncomingMessage, res: ServerResponse) => void;
}

export const AGENTS_NS = 'kdrop-system';
/** Tokens: `admin` may do everything; `no-proxy` may list pods but not proxy; `nobody` nothing. */
export const TOKENS = ['admin', 'no-proxy', 'nobody'] as const;

function forbidden(res: ServerResponse, user: string, verb: string, resource: string, ns: string, name = ''): void {
  res.writeHead(403, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      message: `pods${name ? ` "${name}"` : ''} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "" in the namespace "${ns}"`,
      reason: 'Forbidden',
      details: { kind: 'pods' },
      code: 403,
    }),
  );
}

export class FakeApiServer {
  private server: Server;
  inFlightProxy = 0;
  maxInFlightProxy = 0;
  proxied = 0;
  readonly workloads = new Map<string, string>();
  private pending = new Set<ServerResponse>();

  constructor(readonly agents: FakeAgent[]) {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const r of this.pending) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** A kubeconfig with one context per token. */
  async kubeconfig(): Promise<string> {
    const url = await this.start();
    const dir = mkdtempSync(join(tmpdir(), 'kdrop-kubectl-'));
    const file = join(dir, 'config');
    const users = TOKENS.map((t) => `- name: ${t}\n  user:\n    token: ${t}`).join('\n');
    const contexts = TOKENS.map((t) => `- name: ${t}\n  context:\n    cluster: fake\n    user: ${t}\n    namespace: default`).join('\n');
    writeFileSync(file, `apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: ${url}\n    insecure-skip-tls-verify: true\nusers:\n${users}\ncontexts:\n${contexts}\ncurrent-context: admin\n`);
    return file;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const user = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? 'system:anonymous';
    const url = new URL(req.url ?? '/', 'http://x');
    const list = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname);
    if (list) {
      if (user === 'nobody') return forbidden(res, user, 'list', 'pods', list[1]!);
      const items = list[1] !== AGENTS_NS || url.searchParams.get('labelSelector') !== 'app.kubernetes.io/part-of=kdrop,app.kubernetes.io/component=agent' ? [] : this.agents.map((a) => podJson(a.name, AGENTS_NS, a.node, true));
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'PodList', items }));
    }
    const proxy = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/:]+):(\d+)\/proxy(\/.*)$/.exec(url.pathname);
    if (proxy) {
      if (user !== 'admin') return forbidden(res, user, 'get', 'pods/proxy', proxy[1]!, proxy[2]!);
      const agent = this.agents.find((a) => a.name === proxy[2]);
      if (agent === undefined) return void res.writeHead(404).end();
      this.proxied++;
      this.inFlightProxy++;
      this.maxInFlightProxy = Math.max(this.maxInFlightProxy, this.inFlightProxy);
      res.once('close', () => this.inFlightProxy--);
      return this.agentAnswer(agent, proxy[4]!, req, res);
    }
    const pod = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(url.pathname);
    if (pod) {
      const node = this.workloads.get(`${pod[1]}/${pod[2]}`);
      if (user === 'nobody') return forbidden(res, user, 'get', 'pods', pod[1]!, pod[2]!);
      if (node === undefined) return void res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', message: `pods "${pod[2]}" not found`, reason: 'NotFound', code: 404 }));
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(podJson(pod[2]!, pod[1]!, node, false)));
    }
    res.writeHead(404).end();
  }

  private agentAnswer(agent: FakeAgent, path: string, req: IncomingMessage, res: ServerResponse): void {
    if (path !== '/api/v1/drops' && agent.route) return agent.route(path, req, res);
    const b = agent.behaviour;
    switch (b.kind) {
      case 'dead':
        return void res
          .writeHead(503, { 'content-type': 'application/json' })
          .end(JSON.stringify({ kind: 'Status', status: 'Failure', message: `error trying to reach service: dial tcp 10.1.0.9:9464: connect: connection refused`, reason: 'ServiceUnavailable', code: 503 }));
      case 'hang':
        this.pending.add(res);
        return;
      case 'agent-403':
        return void res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden: not a trusted address\n');
      case 'ok': {
        const send = (): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(b.doc()));
        if (b.delayMs === undefined) return send();
        const t = setTimeout(send, b.delayMs);
        res.once('close', () => clearTimeout(t));
      }
    }
  }
}

function podJson(name: string, namespace: string, node: string, agent: boolean): unknown {
  return {
    metadata: { name, namespace, labels: agent ? { 'app.kubernetes.io/part-of': 'kdrop', 'app.kubernetes.io/component': 'agent' } : {} },
    spec: { nodeName: node, containers: [{ name: 'agent', ports: agent ? [{ name: 'metrics', containerPort: 9464 }] : [] }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

/** A drops document of one node: `series` as [namespace, pod, reason, function, total, interval, network.type?]. */
export function dropsDoc(node: string, intervals: number, series: readonly (readonly [string, string, string, string, number, number, string?])[]): DropsApiDocument {
  return {
    api_version: DROPS_API_VERSION,
    node,
    source: 'bpf',
    interval_s: 5,
    intervals,
    interval_end: new Date(1_700_000_000_000 + intervals * 5000).toISOString(),
    last_interval_s: 5,
    lost_events: 0,
    tracer_restarts: 0,
    unattributed_drops: 0,
    labels: ['kdrop.reason', 'kdrop.function', 'kdrop.scope', 'k8s.namespace.name', 'k8s.pod.name', 'network.type'],
    series: series.map(([ns, pod, reason, fn, total, delta, type]) => ({
      attributes: { 'kdrop.reason': reason, 'kdrop.function': fn, 'kdrop.scope': 'pod', 'k8s.namespace.name': ns, 'k8s.pod.name': pod, 'network.type': type ?? 'ipv4' },
      drops: total,
      bytes: null,
      interval_drops: delta,
      interval_bytes: null,
      start_time: new Date(1_700_000_000_000).toISOString(),
    })),
  };
}
