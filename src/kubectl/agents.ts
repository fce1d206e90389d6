/**
 * The kdrop agents of a cluster, found by the chart's pod labels, and the API server proxy paths that reach
 * them (`/api/v1/namespaces/NS/pods/[https:]POD:PORT/proxy/...`): the user's RBAC (`get pods/proxy`) is
 * checked by the API server, and node addresses are never used.
 */
import type { KubeApi } from './kube-client.js';
import { KdropError, ErrorCodes } from '../errors.js';

/** Labels every agent pod of charts/kdrop has (templates/_helpers.tpl: kdrop.labels). */
export const AGENT_SELECTOR = 'app.kubernetes.io/part-of=kdrop,app.kubernetes.io/component=agent';
/** The chart's container port serving /metrics and the APIs. */
const METRICS_PORT_NAME = 'metrics';
const DEFAULT_PORT = 9464;
export const DEFAULT_AGENTS_NAMESPACE = 'kdrop-system';

export interface AgentPod {
  readonly namespace: string;
  readonly name: string;
  /** The node it runs on; null while unscheduled. */
  readonly node: string | null;
  readonly phase: string;
  readonly ready: boolean;
  readonly port: number;
  /** https when the pod is annotated `kdrop.dev/scheme: https` or its port is named https* (an agent serving TLS). */
  readonly scheme: 'http' | 'https';
}

/** The pod annotation that says how the agent serves its port (the chart sets it to https with TLS). */
export const SCHEME_ANNOTATION = 'kdrop.dev/scheme';

interface PodJson {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: { nodeName?: string; containers?: { ports?: { name?: string; containerPort?: number }[] }[] };
  status?: { phase?: string; conditions?: { type?: string; status?: string }[] };
}

export function agentFromPod(p: PodJson): AgentPod | null {
  const name = p.metadata?.name;
  const namespace = p.metadata?.namespace;
  if (name === undefined || namespace === undefined) return null;
  const ports = (p.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  const port = ports.find((x) => x.name === METRICS_PORT_NAME) ?? ports.find((x) => x.name?.startsWith('https') === true) ?? ports[0];
  return {
    namespace,
    name,
    node: p.spec?.nodeName ?? null,
    phase: p.status?.phase ?? 'Unknown',
    ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    port: port?.containerPort ?? DEFAULT_PORT,
    scheme: p.metadata?.annotations?.[SCHEME_ANNOTATION] === 'https' || port?.name?.startsWith('https') === true ? 'https' : 'http',
  };
}

/** The API server path that proxies `path` (with its query) to the agent pod. */
export function agentProxyPath(a: AgentPod, path: string): string {
  const target = `${a.scheme === 'https' ? 'https:' : ''}${encodeURIComponent(a.name)}:${a.port}`;
  return `/api/v1/namespaces/${encodeURIComponent(a.namespace)}/pods/${target}/proxy${path}`;
}

/** The agent pods in `namespace`, by node name. Throws KUBE_FORBIDDEN (list pods) or KUBE_API (none found). */
export async function listAgents(api: KubeApi, namespace: string, signal?: AbortSignal): Promise<AgentPod[]> {
  const list = await api.getJson<{ items?: PodJson[] }>(
    // resourceVersion=0: served from the API server's watch cache, not a quorum read of etcd.
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?labelSelector=${encodeURIComponent(AGENT_SELECTOR)}&resourceVersion=0`,
    `listing the kdrop agent pods in namespace ${namespace}`,
    signal ? { signal } : {},
  );
  const agents = (list.items ?? []).map(agentFromPod).filter((a): a is AgentPod => a !== null);
  if (agents.length === 0) {
    throw new KdropError(ErrorCodes.KUBE_API, `no kdrop agent pods in namespace ${namespace}`, {
      expected: `pods labelled ${AGENT_SELECTOR} (the kdrop chart's DaemonSet)`,
      found: 'none',
      hint: 'pass --agents-namespace (env KDROP_AGENTS_NAMESPACE) where the chart is installed',
    });
  }
  return agents.sort((a, b) => (a.node ?? '').localeCompare(b.node ?? '') || a.name.localeCompare(b.name));
}

/** The node a workload pod runs on. Throws KUBE_FORBIDDEN (get pods), KUBE_API (no such pod, not scheduled). */
export async function podNode(api: KubeApi, namespace: string, name: string): Promise<string> {
  const pod = await api.getJson<PodJson>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`, `getting pod ${namespace}/${name}`);
  const node = pod.spec?.nodeName;
  if (node === undefined || node === '') {
    throw new KdropError(ErrorCodes.KUBE_API, `pod ${namespace}/${name} is not scheduled on a node`, { expected: 'a pod with spec.nodeName', found: `phase ${pod.status?.phase ?? 'Unknown'}` });
  }
  return node;
}

/** The agent on `node`, or a KUBE_API error listing where agents run. */
export function agentOnNode(agents: readonly AgentPod[], node: string): AgentPod {
  const found = agents.find((a) => a.node === node);
  if (found === undefined) {
    throw new KdropError(ErrorCodes.KUBE_API, `no kdrop agent runs on node ${node}`, {
      expected: 'an agent pod of the DaemonSet on that node (tolerations, nodeSelector)',
      found: `agents on ${agents.map((a) => a.node ?? `(${a.name} unscheduled)`).join(', ')}`,
    });
  }
  return found;
}
