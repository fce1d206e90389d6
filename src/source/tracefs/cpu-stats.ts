/**
 * Parser for a tracefs instance's per_cpu/cpuN/stats:
 *
 *   entries: 0
 *   overrun: 0
 *   commit overrun: 0
 *   bytes: 0
 *   oldest event ts:     0.000000
 *   now ts:   414.511098
 *   dropped events: 0
 *   read events: 0
 */
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';

export interface CpuStats {
  /** Events overwritten before they were read (overwrite mode). */
  readonly overrun: number;
  /** Events lost because nested writers filled the buffer. */
  readonly commitOverrun: number;
  /** Events refused because the buffer was full (non-overwrite mode). */
  readonly droppedEvents: number;
  readonly entries: number;
  readonly readEvents: number;
}

export function parseCpuStats(text: string): CpuStats {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z ]+):\s+(\d+)(?:\.\d+)?\s*$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) values.set(m[1], Number(m[2]));
  }
  const overrun = values.get('overrun');
  if (overrun === undefined) {
    throw new KdropError(ErrorCodes.TRACER_OUTPUT, 'cannot read a per-CPU trace buffer stats file', {
      expected: 'lines like "overrun: 0"',
      found: excerpt(text),
    });
  }
  return {
    overrun,
    commitOverrun: values.get('commit overrun') ?? 0,
    droppedEvents: values.get('dropped events') ?? 0,
    entries: values.get('entries') ?? 0,
    readEvents: values.get('read events') ?? 0,
  };
}

/** Events the kernel lost on this CPU's buffer. */
export function lostOf(stats: CpuStats): number {
  return stats.overrun + stats.commitOverrun + stats.droppedEvents;
}
