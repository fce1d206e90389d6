import type { DropEntry } from '../enrich/types.js';
import type { Pipeline } from '../pipeline.js';
import type { IntervalReport } from '../vocabulary/interval-report.js';
import type { SourceName } from '../source/types.js';
import { buildFilter, type EntryFilterSpec } from '../aggregate/filter.js';
import { formatNdjson } from '../export/ndjson.js';
import { FOOTER, HEADER, formatLine, formatText } from '../export/console.js';
import { flowText, toExample } from '../export/sample-format.js';
import type { DescribedSample, FlowSample } from '../vocabulary/flow-sample.js';
import { ExampleBook } from './flow-examples.js';
import { logger } from '../log.js';
import { firstDeadline, nextDeadline, sleepUntil } from '../schedule.js';
import { SAMPLES_NEED_BPF } from '../config/sample-settings.js';
import { counterLines, toCounterRecord } from '../export/counter-format.js';
import { keepCounter } from '../aggregate/counter-filter.js';

const log = logger('watch');

export interface WatchOptions {
  readonly intervalMs: number;
  readonly json: boolean;
  /** Stop after this many intervals (undefined = until a signal). */
  readonly count: number | undefined;
  readonly filter: EntryFilterSpec;
  /** --flows: examples under each line (needs `opened.samples`). */
  readonly flows?: boolean;
}

export interface OpenedPipeline {
  readonly pipeline: Pipeline;
  readonly sourceName: SourceName;
  /** When the source began counting (ms since the epoch): the first interval ends half an interval later. */
  readonly attachedAt?: number;
  /** False when the kernel's tracepoint has no reason field. */
  readonly reasons: boolean;
  /** Sampled drops, where the source samples (bpf with samples on). */
  readonly samples?: {
    onSample(listener: (s: FlowSample) => void): () => void;
    describe(s: FlowSample): DescribedSample;
  };
  close(): Promise<void>;
}

export interface WatchIo {
  readonly out: NodeJS.WritableStream;
  /** Aborting it stops the watch cleanly (Ctrl-C / SIGTERM in the CLI). */
  readonly signal: AbortSignal;
}

/**
 * `kdrop watch`: every interval, one line (or NDJSON record) per (location, reason, netns) seen in that
 * interval, most drops first. On stop, the last partial interval is printed before the closing line.
 */
export async function runWatch(opened: OpenedPipeline, opts: WatchOptions, io: WatchIo): Promise<number> {
  const keep = buildFilter(opts.filter);
  let lost = 0;
  const book = opts.flows === true && opened.samples ? new ExampleBook() : null;
  const samples = opened.samples;
  const unsubscribe = book && samples ? samples.onSample((s) => book.add(samples.describe(s))) : undefined;
  const emit = (report: IntervalReport): void => {
    const entries: DropEntry[] = report.entries.filter(keep);
    if (opts.json) {
      io.out.write(formatNdjson(report, entries, book ? (e) => ({ examples: (book.take(e, e.count)?.examples ?? []).map(toExample) }) : undefined));
    } else if (entries.length > 0) {
      // A blank line before each non-empty interval keeps the seed's line format readable over time.
      io.out.write(`\n${book ? entries.map((e) => `${formatLine(e)}\n${examplesText(book, e)}`).join('') : formatText(entries)}`);
    }
    emitCounters(report, opts, io, opts.json || entries.length > 0);
    book?.expire();
    const newlyLost = report.stats.lostEvents - lost;
    lost = report.stats.lostEvents;
    if (newlyLost > 0) {
      if (opts.json) log.warn({ lostEvents: newlyLost, source: opened.sourceName }, 'drop events lost by the tracer');
      else io.out.write(`${newlyLost} drop events lost by the ${opened.sourceName} tracer (counts above are short by that much)\n`);
    }
  };

  if (!opts.json) {
    io.out.write(`${HEADER}\n`);
    if (opts.flows === true && !opened.samples) io.out.write(`(--flows: ${SAMPLES_NEED_BPF}; this is the ${opened.sourceName} source)\n`);
    if (!opened.reasons) io.out.write('(this kernel has no drop reasons in skb:kfree_skb: reasons unavailable)\n');
  }
  if (opts.json && opts.flows === true && !opened.samples) log.warn({ source: opened.sourceName }, `--flows: ${SAMPLES_NEED_BPF}`);
  log.info({ source: opened.sourceName, intervalMs: opts.intervalMs }, 'watching skb:kfree_skb');

  let intervals = 0;
  let next = firstDeadline(opened.attachedAt ?? Date.now(), opts.intervalMs);
  try {
    while (!io.signal.aborted && (opts.count === undefined || intervals < opts.count)) {
      const stopped = await sleepUntil(next, io.signal);
      if (stopped) break;
      emit(await opened.pipeline.tick());
      intervals++;
      next = nextDeadline(next, opts.intervalMs);
    }
    emit(await opened.pipeline.finish());
  } finally {
    unsubscribe?.();
    await opened.close();
  }
  if (!opts.json) io.out.write(`${FOOTER}\n`);
  return 0;
}

/** The kernel counters that grew (beside the drops, never in them), under the drops; filtered by owner like them. */
function emitCounters(report: IntervalReport, opts: WatchOptions, io: WatchIo, blankDone: boolean): void {
  const counters = (report.counters ?? []).filter((c) => keepCounter(opts.filter, c));
  if (counters.length === 0) return;
  if (opts.json) io.out.write(counters.map((c) => `${JSON.stringify(toCounterRecord(report, c))}\n`).join(''));
  else io.out.write(`${blankDone ? '' : '\n'}${counterLines(counters)}`);
}

/** `    e.g. udp 10.0.0.5:41234 -> 10.0.0.7:53 on eth0 (3 more suppressed)` lines under an entry. */
function examplesText(book: ExampleBook, e: DropEntry): string {
  const ex = book.take(e, e.count);
  if (ex === null || ex.examples.length === 0) return '';
  return ex.examples.map((s, i) => `    e.g. ${flowText(s)}${i === ex.examples.length - 1 && ex.more > 0 ? ` (${ex.more} more suppressed)` : ''}\n`).join('');
}
