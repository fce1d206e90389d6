import type { DropEntry } from '../enrich/types.js';
import type { Pipeline } from '../pipeline.js';
import type { IntervalReport } from '../vocabulary/interval-report.js';
import type { SourceName } from '../source/types.js';
import { buildFilter, type EntryFilterSpec } from '../aggregate/filter.js';
import { formatNdjson } from '../export/ndjson.js';
import { FOOTER, HEADER, formatText } from '../export/console.js';
import { logger } from '../log.js';
import { nextDeadline, sleepUntil } from '../schedule.js';

const log = logger('watch');

export interface WatchOptions {
  readonly intervalMs: number;
  readonly json: boolean;
  /** Stop after this many intervals (undefined = until a signal). */
  readonly count: number | undefined;
  readonly filter: EntryFilterSpec;
}

export interface OpenedPipeline {
  readonly pipeline: Pipeline;
  readonly sourceName: SourceName;
  /** False when the kernel's tracepoint has no reason field. */
  readonly reasons: boolean;
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
  const emit = (report: IntervalReport): void => {
    const entries: DropEntry[] = report.entries.filter(keep);
    if (opts.json) {
      io.out.write(formatNdjson(report, entries));
    } else if (entries.length > 0) {
      // A blank line before each non-empty interval keeps the seed's line format readable over time.
      io.out.write(`\n${formatText(entries)}`);
    }
    const newlyLost = report.stats.lostEvents - lost;
    lost = report.stats.lostEvents;
    if (newlyLost > 0) {
      if (opts.json) log.warn({ lostEvents: newlyLost, source: opened.sourceName }, 'drop events lost by the tracer');
      else io.out.write(`${newlyLost} drop events lost by the ${opened.sourceName} tracer (counts above are short by that much)\n`);
    }
  };

  if (!opts.json) {
    io.out.write(`${HEADER}\n`);
    if (!opened.reasons) io.out.write('(this kernel has no drop reasons in skb:kfree_skb: reasons unavailable)\n');
  }
  log.info({ source: opened.sourceName, intervalMs: opts.intervalMs }, 'watching skb:kfree_skb');

  let intervals = 0;
  let next = Date.now() + opts.intervalMs;
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
    await opened.close();
  }
  if (!opts.json) io.out.write(`${FOOTER}\n`);
  return 0;
}
