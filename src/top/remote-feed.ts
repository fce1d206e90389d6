import type { TopFeed } from './feed.js';
import { AgentFeed } from './agent-feed.js';

/** `kdrop top --agent URL`: polls the agent's drops API. The first poll must succeed (a typo fails fast). */
export async function openRemoteFeed(agent: string, timeoutMs: number, o: { counters?: boolean } = {}): Promise<{ feed: TopFeed; first: Awaited<ReturnType<AgentFeed['poll']>> }> {
  const api = new AgentFeed(agent, timeoutMs, o.counters ?? true);
  const first = await api.poll();
  const never = new AbortController();
  return {
    first,
    feed: {
      label: `agent ${api.label}`,
      retryable: true,
      fatal: never.signal,
      fatalError: () => null,
      next: () => api.poll(),
      finish: () => Promise.resolve(null),
    },
  };
}
