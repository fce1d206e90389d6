/**
 * `kubectl kdrop watch|trace --pod NS/NAME` and `kubectl kdrop doctor --node NAME`: find the node (the pod's
 * spec.nodeName), then its agent (by the chart's labels), then talk to that agent only, through the API
 * server's pod proxy.
 */
import { createInterface } from 'node:readline';
import { DROPS_API_PATH, dropsApiDocument } from '../agent/drops-api.js';
import { SAMPLES_API_PATH } from '../agent/samples-api.js';
import { DOCTOR_API_PATH } from '../agent/doctor-api.js';
import { Attr } from '../vocabulary/attributes.js';
import { podRef, type KubectlConfig } from '../config/kubectl-config.js';
import { durationMs } from '../config/common.js';
import { renderHuman, type DoctorReport } from '../commands/doctor.js';
import { KdropError, ErrorCodes, excerpt, isKdropError } from '../errors.js';
import { sleepUntil, nextDeadline } from '../schedule.js';
import { agentOnNode, agentProxyPath, listAgents, podNode, type AgentPod } from './agents.js';
import { classifyStatus } from './fanout.js';
import { KubeApi } from './kube-client.js';

async function agentFor(k: KubectlConfig, node: string | null, pod: string | null): Promise<{ api: KubeApi; agent: AgentPod; target: { namespace: string; name: string } | null }> {
  const api = KubeApi.load(k, 2);
  const target = pod === null ? null : podRef(pod, api.namespace);
  const where = target === null ? node! : await podNode(api, target.namespace, target.name);
  return { api, agent: agentOnNode(await listAgents(api, k.agentsNamespace), where), target };
}

/** GET through the proxy; an API server refusal or the agent's failure becomes a KdropError. */
async function agentGet(api: KubeApi, agent: AgentPod, path: string, timeoutMs: number): Promise<string> {
  let res;
  try {
    res = await api.get(agentProxyPath(agent, path), { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new KdropError(ErrorCodes.AGENT_API, `no answer from the agent on node ${agent.node ?? '?'} within ${timeoutMs / 1000}s`, { expected: `an answer to ${path}`, found: String(err), cause: err });
  }
  if (res.status === 200) return res.body;
  return failed(agent, path, res.status, res.body);
}

function failed(agent: AgentPod, path: string, status: number, body: string): never {
  const f = classifyStatus(status, body);
  if (f.kind === 'forbidden') {
    throw new KdropError(ErrorCodes.KUBE_FORBIDDEN, `the Kubernetes API server refused to proxy to the agent on node ${agent.node ?? '?'}: ${f.why}`, {
      expected: `get pods/proxy in namespace ${agent.namespace}`,
      found: excerpt(body, 240),
      hint: "bind the chart's kdrop-user ClusterRole to you in the agents' namespace (docs/kubectl.md#rbac)",
    });
  }
  throw new KdropError(ErrorCodes.AGENT_API, `the agent on node ${agent.node ?? '?'} did not serve ${path}: ${f.why}`, {
    expected: '200',
    found: excerpt(body.trim(), 240),
    ...(path.startsWith(SAMPLES_API_PATH) ? { hint: 'the samples API is off unless the chart sets agent.samplesApi.enabled=true (docs/kubectl.md)' } : {}),
  });
}

const count = (c: string | undefined): number | undefined => (c === undefined ? undefined : Number(c));

export async function podWatch(
  k: KubectlConfig,
  flags: { pod: string; interval?: string; json?: boolean; count?: string },
  out: NodeJS.WritableStream,
  signal: AbortSignal,
  log: (line: string) => void = (line) => process.stderr.write(line),
): Promise<number> {
  const intervalMs = durationMs.parse(flags.interval ?? '5s');
  const { api, agent, target } = await agentFor(k, null, flags.pod);
  const t = target!;
  const max = count(flags.count);
  let last = -1;
  let printed = 0;
  let next = Date.now();
  try {
    if (!flags.json) out.write(`Monitoring pod ${t.namespace}/${t.name} on node ${agent.node ?? '?'} (agent ${agent.name})\n`);
    while (!signal.aborted && (max === undefined || printed < max)) {
      let doc;
      try {
        doc = dropsApiDocument.parse(JSON.parse(await agentGet(api, agent, DROPS_API_PATH, k.agentTimeoutMs)));
      } catch (err) {
        // The first read must work (a wrong pod or missing RBAC fails fast); later the agent may restart.
        if (last < 0 || isKdropError(err, ErrorCodes.KUBE_FORBIDDEN)) throw err;
        log(`kdrop: ${err instanceof Error ? err.message.split(';')[0]! : String(err)}; retrying\n`);
        doc = null;
      }
      if (doc !== null && doc.intervals !== last) {
        // The first answer is the agent's latest interval, as in `kdrop top --agent`.
        last = doc.intervals;
        printed++;
        for (const s of doc.series) {
          const a = s.attributes;
          if (a[Attr.namespace] !== t.namespace || a[Attr.pod] !== t.name || s.interval_drops === 0) continue;
          const reason = a[Attr.reason] ?? null;
          const fn = a[Attr.function] ?? '(unknown)';
          if (flags.json) {
            out.write(`${JSON.stringify({ time: doc.interval_end, interval_s: doc.last_interval_s, count: s.interval_drops, total: s.drops, function: fn, reason, namespace: t.namespace, pod: t.name, node: doc.node ?? agent.node, attributes: a })}\n`);
          } else {
            out.write(`${s.interval_drops} packets dropped at ${fn}${reason === null ? '' : ` (${reason})`} [pod ${t.namespace}/${t.name}] (total ${s.drops})\n`);
          }
        }
      }
      next = nextDeadline(next, intervalMs);
      if (await sleepUntil(next, signal)) break;
    }
  } finally {
    api.close();
  }
  if (!flags.json) out.write('Stopping dropped packet monitor\n');
  return 0;
}

/** One record of the samples API: the `kdrop trace --json` record plus node. */
interface SampleRecord {
  time: string;
  namespace: string | null;
  pod: string | null;
  reason: string | null;
  location: string;
  transport: string | null;
  src_addr: string | null;
  src_port: number | null;
  dst_addr: string | null;
  dst_port: number | null;
  ifname: string | null;
  suppressed: number;
  node: string | null;
  skipped_before?: number;
}

const endpoint = (a: string | null, p: number | null): string => `${a === null ? '?' : a.includes(':') ? `[${a}]` : a}${p === null ? '' : `:${p}`}`;

/** `16:04:33.123 pod default/web-0 NO_SOCKET __udp4_lib_rcv+0x4bc udp 10.0.0.5:41234 -> 10.0.0.7:53 on eth0`. */
export function sampleLine(r: SampleRecord): string {
  const flow = r.transport === null ? 'non-IP' : `${r.transport} ${endpoint(r.src_addr, r.src_port)} -> ${endpoint(r.dst_addr, r.dst_port)}`;
  const sup = r.suppressed > 0 ? ` (+${r.suppressed} suppressed)` : '';
  const skipped = (r.skipped_before ?? 0) > 0 ? ` (${r.skipped_before} skipped by the agent's stream limit before this)` : '';
  return `${r.time.slice(11, 23)} pod ${r.namespace ?? '?'}/${r.pod ?? '?'} ${r.reason ?? '-'} ${r.location} ${flow}${r.ifname === null ? '' : ` on ${r.ifname}`}${sup}${skipped}`;
}

export async function podTrace(
  k: KubectlConfig,
  flags: { pod: string; reason?: string[]; proto?: string[]; port?: string[]; host?: string[]; json?: boolean; count?: string },
  out: NodeJS.WritableStream,
  signal: AbortSignal,
): Promise<number> {
  const { api, agent, target } = await agentFor(k, null, flags.pod);
  const q = new URLSearchParams({ pod: `${target!.namespace}/${target!.name}` });
  for (const [name, values] of [['reason', flags.reason], ['proto', flags.proto], ['port', flags.port], ['host', flags.host]] as const) for (const v of values ?? []) q.append(name, v);
  const path = `${SAMPLES_API_PATH}?${q}`;
  const stop = new AbortController();
  const res = await api.open(agentProxyPath(agent, path), { signal: AbortSignal.any([signal, stop.signal]), accept: 'application/x-ndjson' }).catch((err: unknown) => {
    throw new KdropError(ErrorCodes.KUBE_API, `cannot reach the Kubernetes API server at ${api.server.origin}`, { expected: `a stream of ${path}`, found: String(err), cause: err });
  });
  const max = count(flags.count);
  let printed = 0;
  try {
    if (res.statusCode !== 200) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      failed(agent, SAMPLES_API_PATH, res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
    }
    if (!flags.json) process.stderr.write(`tracing pod ${target!.namespace}/${target!.name} on node ${agent.node ?? '?'} (Ctrl-C stops)\n`);
    for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
      if (line.trim() === '') continue;
      const r = JSON.parse(line) as SampleRecord;
      out.write(flags.json ? `${line}\n` : `${sampleLine(r)}\n`);
      if (max !== undefined && ++printed >= max) break;
    }
    if (!signal.aborted && (max === undefined || printed < max)) {
      throw new KdropError(ErrorCodes.AGENT_API, `the agent on node ${agent.node ?? '?'} ended the samples stream`, { expected: 'a stream until Ctrl-C', found: 'end of stream (the agent restarted or stopped?)', hint: 'run the command again' });
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    stop.abort();
    res.destroy();
    api.close();
  }
  return 0;
}

export async function nodeDoctor(k: KubectlConfig, flags: { node: string; json?: boolean }, out: NodeJS.WritableStream): Promise<number> {
  const { api, agent } = await agentFor(k, flags.node, null);
  try {
    const body = await agentGet(api, agent, DOCTOR_API_PATH, Math.max(k.agentTimeoutMs, 10_000));
    const report = JSON.parse(body) as { node: string | null; report: DoctorReport };
    out.write(flags.json ? `${JSON.stringify(report)}\n` : `node ${report.node ?? flags.node} (agent ${agent.name}):\n${renderHuman(report.report)}`);
    return report.report.ready ? 0 : 1;
  } finally {
    api.close();
  }
}
