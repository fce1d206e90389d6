import type { HostPaths } from '../host-paths.js';
import type { WatchConfig } from '../config/watch-config.js';
import { openPipeline, probeForSource } from '../compose.js';
import { unknownReasons } from '../aggregate/filter.js';
import { KdropError, ErrorCodes } from '../errors.js';
import { runWatch } from './watch.js';
import { watchResolver } from '../resolver.js';
import { describeSample } from '../enrich/describe-sample.js';
import type { FlowSample } from '../vocabulary/flow-sample.js';

/**
 * `kdrop watch` put together: the host's facts, filters checked against the running kernel's reason names
 * (before anything starts), resolver (pods when the API is reachable), pipeline, the interval loop.
 * Resolves with the exit code; rejects with the source's error when it fails for good (restart budget
 * spent, tracefs gone).
 */
export async function watchCommand(cfg: WatchConfig, paths: HostPaths, signal: AbortSignal): Promise<number> {
  // A typo in --reason would otherwise hide every drop without a word: the names are read up front only then.
  const facts = await probeForSource(paths, cfg.source, { reasonNames: cfg.reasons.length + cfg.excludeReasons.length > 0 });
  const names = facts.tracepoint.reasonNames;
  const unknown = names === null ? [] : unknownReasons(cfg, names);
  if (unknown.length > 0) {
    throw new KdropError(ErrorCodes.CONFIG, `--reason / --exclude-reason: name${unknown.length === 1 ? '' : 's'} this kernel does not have`, {
      expected: `names of this kernel's enum skb_drop_reason (${names?.size ?? 0} of them, e.g. NO_SOCKET, NETFILTER_DROP)`,
      found: unknown.join(', '),
    });
  }
  // --pod needs pod names from the first interval on: wait for the pod list (default); otherwise count at once.
  const { resolver, owner } = await watchResolver(paths, cfg.pod, process.env, cfg.pod ? undefined : 0);
  const opened = await openPipeline({ source: cfg.source, paths, facts, resolver, map: cfg.map, counters: cfg.counters, ...(cfg.flows ? { samples: cfg.flows } : {}) }).catch(async (err: unknown) => {
    await resolver.close?.();
    throw err;
  });
  const fatal = new AbortController();
  let fatalErr: Error | undefined;
  opened.source.onFatal((err) => {
    fatalErr = err;
    fatal.abort();
  });
  const onSample = opened.source.onSample?.bind(opened.source);
  const samples = cfg.flows && onSample ? { onSample, describe: (s: FlowSample) => describeSample(opened.describe, s) } : undefined;
  const code = await runWatch(
    samples ? { ...opened, samples } : opened,
    {
      intervalMs: cfg.intervalMs,
      json: cfg.json,
      count: cfg.count,
      flows: cfg.flows !== undefined,
      filter: { reasons: cfg.reasons, excludeReasons: cfg.excludeReasons, classes: cfg.classes, functions: cfg.functions, netns: cfg.netns, all: cfg.all, ...(owner ? { owner } : {}) },
    },
    { out: process.stdout, signal: AbortSignal.any([signal, fatal.signal]) },
  );
  if (fatalErr !== undefined) throw fatalErr;
  return code;
}
