/**
 * `kubectl kdrop top`: every agent's drops API (GET /api/v1/drops through the API server proxy) merged
 * into one of top's intervals per refresh, with the node on every sample and the agents that did not
 * answer in the status.
 */
import { DROPS_API_PATH, dropsApiDocument, type DropsApiDocument } from '../agent/drops-api.js';
import { fromDropsApi } from '../top/agent-feed.js';
import type { TopFeed } from '../top/feed.js';
import type { TopCounterSample, TopInterval, TopSample } from '../top/types.js';
import { KdropError, ErrorCodes } from '../errors.js';
import { listAgents, type AgentPod } from './agents.js';
import { fanOut, type AgentResult } from './fanout.js';
import type { KubeApi } from './kube-client.js';

export interface ClusterFeedOptions {
  readonly agentsNamespace: string;
  /** Only this namespace's pods (-n); undefined: every namespace (-A, the default). */
  readonly namespace: string | undefined;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly onInFlight?: (n: number) => void;
}

function sampleKey(s: TopSample): string {
  return JSON.stringify([s.reason, s.function, s.scope, s.namespace, s.pod, s.netns, s.node ?? null]);
}

/**
 * The merge, pure: each agent's series (unique per attribute set on that agent) get the agent's node,
 * so every attribute the agent sends plus the node tell series apart; series the view cannot tell apart
 * (attributes top does not show, e.g. network.type) are summed, deltas and totals alike, so a row's
 * total is the sum of the agents' kdrop_packet_drops_total. Agents whose `intervals` did not move since
 * `seen` add no new deltas (their totals stay in the model).
 */
export function mergeDrops(results: readonly AgentResult<DropsApiDocument>[], seen: Map<string, number>, namespace: string | undefined, nowMs: number): TopInterval {
  const merged = new Map<string, TopSample & { delta: number; total: number }>();
  // Kernel drop counters: each agent's with its node (top's counter book adds up what it cannot tell apart).
  const counters: TopCounterSample[] = [];
  let lost = 0;
  let unattributed = 0;
  let intervalS = 0;
  let endMs = 0;
  const missing: { node: string; why: string }[] = [];
  const sources = new Set<string>();
  for (const r of results) {
    const where = r.agent.node ?? `(pod ${r.agent.name})`;
    if (!r.ok) {
      missing.push({ node: where, why: r.failure.why });
      continue;
    }
    const doc = r.value;
    lost += doc.lost_events;
    unattributed += doc.unattributed_drops;
    if (doc.source !== null) sources.add(doc.source);
    const id = `${r.agent.namespace}/${r.agent.name}`;
    intervalS = Math.max(intervalS, doc.last_interval_s > 0 ? doc.last_interval_s : doc.interval_s);
    const fresh = seen.get(id) !== doc.intervals;
    seen.set(id, doc.intervals);
    if (!fresh) continue;
    const one = fromDropsApi(doc, id);
    endMs = Math.max(endMs, one.endMs);
    for (const s of one.samples) {
      if (namespace !== undefined && s.namespace !== namespace) continue;
      const sample = { ...s, node: doc.node ?? r.agent.node, total: s.total ?? s.delta };
      const k = sampleKey(sample);
      const prev = merged.get(k);
      if (prev === undefined) merged.set(k, sample);
      else merged.set(k, { ...prev, delta: prev.delta + sample.delta, total: prev.total + sample.total });
    }
    for (const c of one.counters ?? []) {
      if (namespace === undefined || c.namespace === namespace) counters.push({ ...c, node: doc.node ?? r.agent.node });
    }
  }
  const answered = results.length - missing.length;
  return {
    endMs: endMs > 0 ? endMs : nowMs,
    intervalS,
    samples: [...merged.values()],
    status: {
      source: `${results.length} agent${results.length === 1 ? '' : 's'}${sources.size > 0 ? ` (${[...sources].sort().join(', ')})` : ''}${namespace === undefined ? '' : `, namespace ${namespace}`}`,
      lostEvents: lost,
      unattributed,
      error: answered === 0 && results.length > 0 ? 'no agent answered' : null,
      agents: { total: results.length, answered, missing },
    },
    ...(counters.length > 0 ? { counters } : {}),
  };
}

function parseDoc(body: string): DropsApiDocument {
  const parsed = dropsApiDocument.safeParse(JSON.parse(body));
  if (!parsed.success) throw new Error(`not a kdrop.dev/v1 drops document: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

/** Agents are listed again this often (nodes come and go); between lists each refresh only asks the agents. */
const RELIST_MS = 60_000;

/** Lists the agents and asks each for its drops. */
export async function pollCluster(api: KubeApi, o: ClusterFeedOptions, signal?: AbortSignal): Promise<AgentResult<DropsApiDocument>[]> {
  return pollAgents(api, await listAgents(api, o.agentsNamespace, signal), o, signal);
}

function pollAgents(api: KubeApi, agents: readonly AgentPod[], o: ClusterFeedOptions, signal?: AbortSignal): Promise<AgentResult<DropsApiDocument>[]> {
  return fanOut(api, agents, {
    concurrency: o.concurrency,
    timeoutMs: o.timeoutMs,
    path: DROPS_API_PATH,
    parse: parseDoc,
    ...(signal ? { signal } : {}),
    ...(o.onInFlight ? { onInFlight: o.onInFlight } : {}),
  });
}

/** When no agent answered and the API server refused every one: the user lacks `get pods/proxy`. */
function refusedEverywhere(results: readonly AgentResult<DropsApiDocument>[]): KdropError | null {
  if (results.length === 0 || results.some((r) => r.ok || r.failure.kind !== 'forbidden')) return null;
  const first = results[0]!;
  return new KdropError(ErrorCodes.KUBE_FORBIDDEN, `the Kubernetes API server refused to proxy to the kdrop agents: ${first.ok ? '' : first.failure.why}`, {
    expected: `get pods/proxy in namespace ${first.agent.namespace}`,
    found: `403 for all ${results.length} agents: ${first.ok ? '' : (first.failure.message ?? '')}`,
    hint: "bind the chart's kdrop-user ClusterRole to you in the agents' namespace (docs/kubectl.md#rbac)",
  });
}

/** A TopFeed over the whole cluster. The first poll must reach the API server (a typo fails fast). */
export async function openClusterFeed(api: KubeApi, o: ClusterFeedOptions): Promise<{ feed: TopFeed; first: TopInterval | null }> {
  const seen = new Map<string, number>();
  let agents = await listAgents(api, o.agentsNamespace);
  let listedAt = Date.now();
  const first = await pollAgents(api, agents, o);
  const refused = refusedEverywhere(first);
  if (refused !== null) throw refused;
  const never = new AbortController();
  return {
    first: mergeDrops(first, seen, o.namespace, Date.now()),
    feed: {
      label: `cluster (agents in ${o.agentsNamespace})`,
      retryable: true,
      fatal: never.signal,
      fatalError: () => null,
      next: async () => {
        if (Date.now() - listedAt >= RELIST_MS) {
          agents = await listAgents(api, o.agentsNamespace);
          listedAt = Date.now();
        }
        return mergeDrops(await pollAgents(api, agents, o), seen, o.namespace, Date.now());
      },
      finish: () => {
        api.close();
        return Promise.resolve(null);
      },
    },
  };
}
