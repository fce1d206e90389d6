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
import { SAMPLES_API_PATH, apiServerProxyAuthorizer, samplesApiHandler } from './samples-api.js';
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
