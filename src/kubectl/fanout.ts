/**
 * One GET to every agent through the API server proxy, at most `concurrency` at a time, each bounded by
 * `timeoutMs`: the total time is at most ceil(agents / concurrency) x timeout however many agents hang.
 * Every agent gets a result: its answer, or why it gave none (never silently left out).
 */
import type { AgentPod } from './agents.js';
import { agentProxyPath } from './agents.js';
import { forbiddenPermission, parseStatus, type KubeApi } from './kube-client.js';

export type FailureKind = 'not-running' | 'timeout' | 'refused' | 'unreachable' | 'forbidden' | 'http' | 'bad-answer';

export interface AgentFailure {
  readonly kind: FailureKind;
  /** In words, for the status line: `timeout after 3s`, `connection refused`, `403 get pods/proxy ...`. */
  readonly why: string;
  /** The API server's own words, when it refused. */
  readonly message?: string;
}

export type AgentResult<T> = { readonly agent: AgentPod; readonly ok: true; readonly value: T } | { readonly agent: AgentPod; readonly ok: false; readonly failure: AgentFailure };

export interface FanOutOptions<T> {
  readonly concurrency: number;
  readonly timeoutMs: number;
  /** Path on the agent, with its query (e.g. /api/v1/drops). */
  readonly path: string;
  /** Checks and converts a 200 body; throws when it is not what was expected. */
  readonly parse: (body: string) => T;
  readonly signal?: AbortSignal;
  /** Called with the number in flight after each start (tests assert the bound). */
  readonly onInFlight?: (n: number) => void;
}

/** Why an answer of the API server proxy is not the agent's document. */
export function classifyStatus(status: number, body: string): AgentFailure {
  const forbidden = forbiddenPermission(status, body);
  if (forbidden !== null) return { kind: 'forbidden', why: `403 from the API server: missing ${forbidden.permission}`, message: forbidden.message };
  // The proxy's own failures (503/502/500 with a Status): "dial tcp 10.0.0.5:9464: connect: connection refused".
  const msg = parseStatus(body)?.message ?? body.trim().slice(0, 200);
  if (/connection refused/i.test(msg)) return { kind: 'refused', why: `connection refused (${status} from the API server proxy)` };
  if (/i\/o timeout|deadline exceeded|timed? ?out/i.test(msg)) return { kind: 'timeout', why: `the API server proxy timed out (${status})` };
  if (/no route to host|network is unreachable|no such host/i.test(msg)) return { kind: 'unreachable', why: `${msg.slice(0, 120)} (${status})` };
  return { kind: 'http', why: `HTTP ${status}${msg === '' ? '' : `: ${msg.slice(0, 120)}`}` };
}

function classifyError(err: unknown, timedOut: boolean, timeoutMs: number): AgentFailure {
  if (timedOut) return { kind: 'timeout', why: `timeout after ${timeoutMs / 1000}s` };
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ECONNREFUSED') return { kind: 'unreachable', why: 'the API server refused the connection' };
  return { kind: 'unreachable', why: err instanceof Error ? (code ?? err.message) : String(err) };
}

async function one<T>(api: KubeApi, agent: AgentPod, o: FanOutOptions<T>): Promise<AgentResult<T>> {
  if (agent.node === null || agent.phase !== 'Running') {
    return { agent, ok: false, failure: { kind: 'not-running', why: `pod ${agent.name} is ${agent.node === null ? 'not scheduled' : agent.phase}` } };
  }
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  try {
    const res = await api.get(agentProxyPath(agent, o.path), { signal });
    if (res.status !== 200) return { agent, ok: false, failure: classifyStatus(res.status, res.body) };
    try {
      return { agent, ok: true, value: o.parse(res.body) };
    } catch (err) {
      return { agent, ok: false, failure: { kind: 'bad-answer', why: err instanceof Error ? err.message.split(';')[0]! : String(err) } };
    }
  } catch (err) {
    return { agent, ok: false, failure: classifyError(err, timeout.aborted, o.timeoutMs) };
  }
}

/** Results in the order of `agents`. */
export async function fanOut<T>(api: KubeApi, agents: readonly AgentPod[], o: FanOutOptions<T>): Promise<AgentResult<T>[]> {
  const results: AgentResult<T>[] = [];
  let next = 0;
  let inFlight = 0;
  const worker = async (): Promise<void> => {
    while (next < agents.length) {
      const i = next++;
      inFlight++;
      o.onInFlight?.(inFlight);
      try {
        results[i] = await one(api, agents[i]!, o);
      } finally {
        inFlight--;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency, agents.length)) }, worker));
  return results;
}
