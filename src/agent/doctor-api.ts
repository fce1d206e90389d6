/**
 * The agent's doctor API for `kubectl kdrop doctor --node NAME`: `GET /api/v1/doctor` returns `kdrop doctor`'s
 * report over this agent's view of its node (the same facts, probed from inside the agent's pod), as JSON
 * `{api_version, node, time, report}`. Probing runs `kdrop-probe --check` (a load and detach): answers are
 * cached for `cacheMs` and concurrent requests share one probe.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HostPaths } from '../host-paths.js';
import type { HostFacts } from '../host/facts.js';
import type { DoctorReport } from '../commands/doctor.js';

export const DOCTOR_API_PATH = '/api/v1/doctor';

export interface DoctorApiOptions {
  readonly paths: HostPaths;
  readonly node: string | null;
  /** Probes the node (default: probeHost as `kdrop doctor` does); tests inject facts. */
  readonly probe?: (paths: HostPaths) => Promise<HostFacts>;
  readonly cacheMs?: number;
  readonly now?: () => number;
}

export interface DoctorApiDocument {
  readonly api_version: 'kdrop.dev/v1';
  readonly node: string | null;
  readonly time: string;
  readonly report: DoctorReport;
}

export function doctorApiHandler(o: DoctorApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const now = o.now ?? Date.now;
  let cached: { at: number; doc: Promise<DoctorApiDocument> } | null = null;
  const build = async (): Promise<DoctorApiDocument> => {
    const { doctorReport } = await import('../commands/doctor.js');
    const probe = o.probe ?? (async (p: HostPaths) => (await import('../host/facts.js')).probeHost(p, { checkProbe: true, kallsymsHead: true }));
    return { api_version: 'kdrop.dev/v1', node: o.node, time: new Date(now()).toISOString(), report: doctorReport(await probe(o.paths)) };
  };
  return (req, res) => {
    if (cached === null || now() - cached.at > (o.cacheMs ?? 30_000)) {
      const doc = build();
      cached = { at: now(), doc };
      // A failed probe is not cached.
      doc.catch(() => (cached = null));
    }
    cached.doc.then(
      (doc) => res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : `${JSON.stringify(doc)}\n`),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`doctor failed: ${err instanceof Error ? err.message : String(err)}\n`),
    );
  };
}
