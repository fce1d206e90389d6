/**
 * `kdrop trace`: a stream of sampled drops, one line (or NDJSON record) each, with the symbolized stack
 * under each with --stack. The kernel rate-limits the samples per key; the filters (pod, reason, function,
 * netns, flow) are applied here. The source's counts are still read every few seconds (and thrown away)
 * so that its memory stays bounded.
 */
import type { DescribedSample, FlowSample } from '../vocabulary/flow-sample.js';
import type { Pipeline } from '../pipeline.js';
import type { FilterableEntry } from '../aggregate/filter.js';
import type { Flow } from '../vocabulary/flow-sample.js';
import { formatStack, formatTraceLine, toTraceRecord } from '../export/sample-format.js';
import { logger } from '../log.js';

const log = logger('trace');

export interface TraceSamples {
  readonly pipeline: Pick<Pipeline, 'tick' | 'finish'>;
  onSample(listener: (s: FlowSample) => void): () => void;
  describe(s: FlowSample): DescribedSample;
  close(): Promise<void>;
}

export interface TraceOptions {
  readonly json: boolean;
  readonly stack: boolean;
  readonly count: number | undefined;
  readonly keep: (e: FilterableEntry) => boolean;
  readonly keepFlow: (f: Flow) => boolean;
  /** How often the counts are read (and discarded), default 5000. */
  readonly drainMs?: number;
}

export interface TraceIo {
  readonly out: NodeJS.WritableStream;
  readonly signal: AbortSignal;
}

/** Prints samples until the signal, or `count` printed events. Resolves with the exit code. */
export async function runTrace(src: TraceSamples, opts: TraceOptions, io: TraceIo): Promise<number> {
  let printed = 0;
  let filtered = 0;
  const done = new AbortController();
  const unsubscribe = src.onSample((raw) => {
    if (done.signal.aborted) return;
    const s = src.describe(raw);
    if (!opts.keep(s) || !opts.keepFlow(s.flow)) {
      filtered++;
      return;
    }
    if (opts.json) io.out.write(`${JSON.stringify(toTraceRecord(s))}\n`);
    else io.out.write(`${formatTraceLine(s)}\n${opts.stack ? formatStack(s) : ''}`);
    printed++;
    if (opts.count !== undefined && printed >= opts.count) done.abort();
  });
  const drain = setInterval(() => void src.pipeline.tick().catch(() => undefined), opts.drainMs ?? 5000);
  log.info({ json: opts.json, stack: opts.stack }, 'tracing sampled drops');
  try {
    const stop = AbortSignal.any([io.signal, done.signal]);
    if (!stop.aborted) await new Promise<void>((resolve) => stop.addEventListener('abort', () => resolve(), { once: true }));
  } finally {
    clearInterval(drain);
    unsubscribe();
    await src.pipeline.finish().catch(() => undefined);
    await src.close();
  }
  log.info({ printed, filtered }, 'trace stopped');
  return 0;
}
