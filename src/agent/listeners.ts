/**
 * The agent's HTTP listeners: the metrics address (/metrics, the drops API, kubectl kdrop's routes, behind
 * the access gate: TLS, Kubernetes authentication, connection bounds) and the health address, one port or
 * two. Every server made is pushed to `servers` (and the gate handed to `onAccess`) as soon as it exists,
 * so the agent's release() closes what started even when a later step fails.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AgentConfig, ListenAddress } from './config.js';
import type { AgentDeps, AgentPipeline } from './deps.js';
import { AgentHttpServer, type HealthChecks } from './http-server.js';
import { agentRoutes, proxyAwareGuard } from './agent-routes.js';
import { DROPS_API_PATH } from './drops-api.js';
import { openAccess, type Access } from './access.js';

export interface ListenerOptions {
  readonly cfg: AgentConfig;
  readonly deps: AgentDeps;
  /** The Prometheus exporter's handler; null when the metrics address is off. */
  readonly metrics: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  readonly health: HealthChecks;
  readonly dropsApi: () => unknown;
  readonly opened: () => AgentPipeline | null;
}

export interface Listening {
  readonly metricsServer: AgentHttpServer | null;
  readonly metricsAt: ListenAddress | null;
  readonly healthAt: ListenAddress | null;
}

export async function openListeners(o: ListenerOptions, servers: AgentHttpServer[], onAccess: (a: Access) => void): Promise<Listening> {
  const { cfg, deps, health } = o;
  let metricsServer: AgentHttpServer | null = null;
  let metricsAt: ListenAddress | null = null;
  let healthAt: ListenAddress | null = null;
  if (cfg.metrics !== null && o.metrics !== null) {
    const shared = sameAddress(cfg.metrics, cfg.health);
    const access = await openAccess(cfg.auth, deps.accessReviewer, deps.env);
    onAccess(access);
    metricsServer = new AgentHttpServer({
      ...access.server,
      ...(access.server.guard ? { guard: proxyAwareGuard(access.server.guard, cfg) } : {}),
      address: cfg.metrics,
      metrics: o.metrics,
      json: { [DROPS_API_PATH]: o.dropsApi },
      routes: agentRoutes(cfg, deps.paths, o.opened),
      ...(shared ? { health } : {}),
    });
    servers.push(metricsServer);
    metricsAt = await metricsServer.listen();
    access.follow(metricsServer);
    if (shared) healthAt = metricsAt;
  }
  if (cfg.health !== null && healthAt === null) {
    const s = new AgentHttpServer({ address: cfg.health, health });
    servers.push(s);
    healthAt = await s.listen();
  }
  deps.onListening?.({ metrics: metricsAt, health: healthAt });
  return { metricsServer, metricsAt, healthAt };
}

/** Two addresses name the same listener. */
function sameAddress(a: ListenAddress | null, b: ListenAddress | null): boolean {
  return a !== null && b !== null && a.host === b.host && a.port === b.port;
}
