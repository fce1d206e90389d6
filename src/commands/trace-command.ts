import type { HostPaths } from '../host-paths.js';
import type { TraceConfig } from '../config/trace-config.js';
import { openPipeline, probeForSource } from '../compose.js';
import { buildFilter, unknownReasons } from '../aggregate/filter.js';
import { buildFlowFilter } from '../aggregate/flow-filter.js';
import { describeSample } from '../enrich/describe-sample.js';
import { KdropError, ErrorCodes } from '../errors.js';
import { SAMPLES_NEED_BPF } from '../config/sample-settings.js';
import { runTrace } from './trace.js';
import { watchResolver } from '../resolver.js';

/**
 * `kdrop trace` put together: samples need the bpf source (`auto` means bpf here); reason filters checked
 * against the running kernel, resolver (pods when the API is reachable), the bpf source with samples on.
 */
export async function traceCommand(cfg: TraceConfig, paths: HostPaths, out: NodeJS.WritableStream, signal: AbortSignal): Promise<number> {
  if (cfg.source !== 'auto' && cfg.source !== 'bpf') {
    throw new KdropError(ErrorCodes.CONFIG, `kdrop trace: ${SAMPLES_NEED_BPF}`, { found: `--source ${cfg.source}`, hint: 'use --source bpf (or auto)' });
  }
  const facts = await probeForSource(paths, 'bpf');
  const names = facts.tracepoint.reasonNames;
  const unknown = names === null ? [] : unknownReasons({ reasons: cfg.reasons, excludeReasons: [] }, names);
  if (unknown.length > 0) {
    throw new KdropError(ErrorCodes.CONFIG, '--reason: names this kernel does not have', { expected: "names of this kernel's enum skb_drop_reason", found: unknown.join(', ') });
  }
  const { resolver, owner } = await watchResolver(paths, cfg.pod, process.env, cfg.pod ? undefined : 0);
  const opened = await openPipeline({ source: 'bpf', paths, facts, resolver, map: cfg.map, samples: cfg.samples, counters: false }).catch(async (err: unknown) => {
    await resolver.close?.();
    throw err;
  });
  const onSample = opened.source.onSample?.bind(opened.source);
  if (!onSample) {
    await opened.close();
    throw new KdropError(ErrorCodes.CONFIG, `kdrop trace: ${SAMPLES_NEED_BPF}`, { found: `the ${opened.sourceName} source` });
  }
  const fatal = new AbortController();
  let fatalErr: Error | undefined;
  opened.source.onFatal((err) => {
    fatalErr = err;
    fatal.abort();
  });
  const code = await runTrace(
    { pipeline: opened.pipeline, onSample, describe: (s) => describeSample(opened.describe, s), close: () => opened.close() },
    {
      json: cfg.json,
      stack: cfg.samples.stacks,
      count: cfg.count,
      keep: buildFilter({ reasons: cfg.reasons, excludeReasons: [], functions: cfg.functions, netns: cfg.netns, all: cfg.all || cfg.reasons.length > 0, ...(owner ? { owner } : {}) }),
      keepFlow: buildFlowFilter({ protos: cfg.protos, ports: cfg.ports, hosts: cfg.hosts }),
    },
    { out, signal: AbortSignal.any([signal, fatal.signal]) },
  );
  if (fatalErr !== undefined) throw fatalErr;
  return code;
}
