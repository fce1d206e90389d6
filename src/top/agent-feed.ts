/** `kdrop top --agent URL`: the agent's drops API (GET /api/v1/drops) as top's intervals. */
import { Attr, CounterAttr } from '../vocabulary/attributes.js';
import { DROPS_API_PATH, dropsApiDocument, type DropsApiCounter, type DropsApiDocument } from '../agent/drops-api.js';
import type { Scope } from '../enrich/types.js';
import { KdropError, ErrorCodes, excerpt } from '../errors.js';
import type { TopCounterSample, TopInterval, TopSample } from './types.js';

const SCOPES: ReadonlySet<string> = new Set(['pod', 'host', 'netns']);

/** The API's address from what the user typed: a base URL (http://127.0.0.1:9464) or the API's own URL. */
export function dropsApiUrl(agent: string): URL {
  let u: URL;
  try {
    u = new URL(/^[a-z]+:\/\//i.test(agent) ? agent : `http://${agent}`);
  } catch {
    throw new KdropError(ErrorCodes.CONFIG, 'invalid --agent', { expected: 'the agent metrics address, e.g. http://127.0.0.1:9464', found: excerpt(agent) });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new KdropError(ErrorCodes.CONFIG, 'invalid --agent', { expected: 'an http:// or https:// URL', found: excerpt(agent) });
  }
  if (!u.pathname.endsWith(DROPS_API_PATH)) u.pathname = `${u.pathname.replace(/\/+$/, '')}${DROPS_API_PATH}`;
  return u;
}

/** The owner fields top keys on, from a series' attributes (null where the agent does not export them). */
function ownerOf(a: Readonly<Record<string, string>>): Pick<TopSample, 'scope' | 'namespace' | 'pod' | 'netns'> {
  const scope = a[Attr.scope];
  const netns = a[Attr.netnsInode];
  return {
    scope: scope !== undefined && SCOPES.has(scope) ? (scope as Scope) : null,
    namespace: a[Attr.namespace] ?? null,
    pod: a[Attr.pod] ?? null,
    netns: netns !== undefined && /^\d+$/.test(netns) ? Number(netns) : null,
  };
}

/** A counter series of the API as top's counter sample. */
function counterSample(c: DropsApiCounter): TopCounterSample {
  return { source: c.source, counter: c.counter, iface: c.attributes[CounterAttr.interfaceName] ?? null, ...ownerOf(c.attributes), delta: c.interval_value, total: c.value };
}

/** One API document as samples: totals from the agent, deltas of its latest interval (counters too). */
export function fromDropsApi(doc: DropsApiDocument, label: string): TopInterval {
  const samples: TopSample[] = doc.series.map((s) => {
    const a = s.attributes;
    return {
      reason: a[Attr.reason] ?? null,
      function: a[Attr.function] ?? (a[Attr.overflow] === 'true' ? '(overflow)' : null),
      ...ownerOf(a),
      delta: s.interval_drops,
      total: s.drops,
    };
  });
  return {
    endMs: doc.interval_end === null ? Date.now() : Date.parse(doc.interval_end),
    intervalS: doc.last_interval_s > 0 ? doc.last_interval_s : doc.interval_s,
    samples,
    status: {
      source: `agent ${label}${doc.node === null ? '' : ` (${doc.node})`}: ${doc.source ?? 'starting'}`,
      lostEvents: doc.lost_events,
      unattributed: doc.unattributed_drops,
      error: null,
    },
    ...(doc.counters === undefined ? {} : { counters: doc.counters.map(counterSample) }),
  };
}

/** Fetches and checks one document. Rejects with a KdropError (AGENT_API) saying what went wrong. */
export async function fetchDropsApi(url: URL, timeoutMs: number): Promise<DropsApiDocument> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    throw new KdropError(ErrorCodes.AGENT_API, `cannot reach the agent at ${url.origin}`, {
      expected: `a running kdrop agent serving ${DROPS_API_PATH} on its metrics port`,
      found: cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : String(cause),
      hint: 'for a pod: kubectl -n NAMESPACE port-forward pod/AGENT-POD 9464 (see the chart NOTES)',
      cause: err,
    });
  }
  const text = await res.text();
  if (!res.ok) {
    throw new KdropError(ErrorCodes.AGENT_API, `the agent at ${url.origin} answered ${res.status}`, {
      expected: `200 from ${DROPS_API_PATH} (agents before the drops API answer 404: upgrade the agent)`,
      found: excerpt(text.trim()),
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KdropError(ErrorCodes.AGENT_API, `the agent at ${url.origin} sent no JSON`, { expected: 'a JSON document', found: excerpt(text) });
  }
  const parsed = dropsApiDocument.safeParse(json);
  if (!parsed.success) {
    throw new KdropError(ErrorCodes.AGENT_API, `the agent at ${url.origin} sent an unknown document`, {
      expected: 'api_version kdrop.dev/v1 with series',
      found: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    });
  }
  return parsed.data;
}

/**
 * Polls the agent: each call returns the agent's latest interval once (null when the agent has not read
 * a new interval since the previous call, so top does not count the same interval twice).
 */
export class AgentFeed {
  private lastIntervals = -1;
  readonly url: URL;

  constructor(
    agent: string,
    private readonly timeoutMs = 5000,
    /** Show the agent's kernel drop counters (false: --no-counters). */
    private readonly counters = true,
  ) {
    this.url = dropsApiUrl(agent);
  }

  get label(): string {
    return this.url.host;
  }

  async poll(): Promise<TopInterval | null> {
    const doc = await fetchDropsApi(this.url, this.timeoutMs);
    const fresh = doc.intervals !== this.lastIntervals;
    this.lastIntervals = doc.intervals;
    if (!fresh) return null;
    const interval = fromDropsApi(doc, this.label);
    if (this.counters) return interval;
    const { counters: _counters, ...drops } = interval;
    return drops;
  }
}
