/**
 * The agent's self-answering routes on the metrics port, for `kubectl kdrop`: the doctor API (always) and
 * the samples API (only with --samples-api; deny by default: requests must come from a trusted API server
 * address, docs/kubectl.md). Kept apart from agent.ts so the HTTP server's auth (TokenReview/SAR) can wrap
 * them in one place.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HostPaths } from '../host-paths.js';
import type { AgentConfig } from './config.js';
import type { AgentPipeline } from './deps.js';
import { describeSample } from '../enrich/describe-sample.js';
import { DOCTOR_API_PATH, doctorApiHandler } from './doctor-api.js';
import { SAMPLES_API_PATH, apiServerProxyAuthorizer, parseCidr, samplesApiHandler } from './samples-api.js';
import type { AgentHttpServerOptions } from './http-server.js';
import { logger } from '../log.js';

const log = logger('agent.routes');

export type Route = (req: IncomingMessage, res: ServerResponse) => void;

export function agentRoutes(cfg: AgentConfig, paths: HostPaths, opened: () => AgentPipeline | null): Record<string, Route> {
  const routes: Record<string, Route> = { [DOCTOR_API_PATH]: doctorApiHandler({ paths, node: cfg.nodeName ?? null }) };
  const api = cfg.samplesApi;
  if (api !== undefined && api !== null) {
    if (api.trustedProxies.length === 0) log.warn('--samples-api without --samples-api-trusted-proxies: every request to /api/v1/samples is refused');
    routes[SAMPLES_API_PATH] = samplesApiHandler({
      node: cfg.nodeName ?? null,
      authorize: api.trustedProxies.length === 0 ? null : apiServerProxyAuthorizer(api.trustedProxies),
      subscribe: (listener) => {
        const p = opened();
        const ctx = p?.describe;
        if (p === null || ctx === undefined || p.source.onSample === undefined) return null;
        return p.source.onSample((s) => listener(describeSample(ctx, s)));
      },
    }).handle;
  }
  return routes;
}

type Guard = NonNullable<AgentHttpServerOptions['guard']>;

/**
 * With `--auth kubernetes`, a request that the API server proxies (`kubectl kdrop`) carries no token: the
 * API server checked the user's `get pods/proxy` and strips the user's credentials. Such a request, with
 * no Authorization header and from an address in --samples-api-trusted-proxies, passes; every other
 * request goes through the TokenReview/SubjectAccessReview gate as before.
 */
export function proxyAwareGuard(guard: Guard, cfg: AgentConfig): Guard {
  const rules = (cfg.samplesApi?.trustedProxies ?? []).map(parseCidr);
  if (rules.length === 0) return guard;
  return (authorization, attrs, remote) => {
    const addr = (remote ?? '').replace(/^::ffff:/, '');
    if (authorization === undefined && rules.some((r) => r(addr))) return Promise.resolve({ status: 200, user: `api-server-proxy ${addr}` });
    return guard(authorization, attrs, remote);
  };
}
