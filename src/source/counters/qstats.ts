/**
 * The netdev queue stats, read once per call through `kdrop-probe --qstats` (Node has no netlink socket):
 * one short process per interval, bounded in time. A kernel without the family (or without qstats-get)
 * answers so once and is not asked again: "not available on this kernel", not an error.
 */
import { execa } from 'execa';
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import { parseQstats, type QstatsRead } from './parse-qstats.js';

/** What the last read found (doctor, watch's header). */
export type QstatsStatus =
  | { readonly state: 'read'; readonly read: QstatsRead & { available: true } }
  | { readonly state: 'unavailable'; readonly why: string }
  | { readonly state: 'error'; readonly error: KdropError }
  | { readonly state: 'not read' };

/**
 * Runs `PROBE --qstats` once. Rejects with QSTATS_READ (cannot run, exit status, timeout) or COUNTERS_PARSE;
 * a probe that does not exist is "not available" (like a kernel without the family).
 */
export async function runQstats(probe: string, timeoutMs = 2_000): Promise<QstatsRead> {
  const r = await execa(probe, ['--qstats'], { reject: false, timeout: timeoutMs, stdin: 'ignore', stripFinalNewline: false });
  const code = (r as { code?: string }).code;
  // Not built (tracefs and bpftrace need no loader): nothing to read, and nothing to retry.
  if (code === 'ENOENT') return { available: false, why: `no kdrop-probe at ${probe}` };
  if (r.failed || r.exitCode !== 0) {
    const found =
      r.timedOut ? `no answer within ${timeoutMs} ms`
      : excerpt(`${r.stderr}`.trim() || `exit ${String(r.exitCode ?? r.signal)}`, 200);
    throw new KdropError(ErrorCodes.QSTATS_READ, 'cannot read the netdev queue stats', {
      expected: `${probe} --qstats to print its Q lines and exit 0`,
      found,
      hint: 'build kdrop-probe (scripts/build-probe.sh) or set KDROP_PROBE; the other counters are read without it',
    });
  }
  return parseQstats(r.stdout);
}

export class QstatsReader {
  private last: QstatsStatus = { state: 'not read' };

  constructor(
    private readonly probe: string,
    private readonly timeoutMs = 2_000,
    private readonly run: (probe: string, timeoutMs: number) => Promise<QstatsRead> = runQstats,
  ) {}

  /** The device totals now; null when they cannot be read (the status says why). Never rejects. */
  async read(): Promise<QstatsRead | null> {
    if (this.last.state === 'unavailable') return null;
    try {
      const read = await this.run(this.probe, this.timeoutMs);
      this.last = read.available ? { state: 'read', read } : { state: 'unavailable', why: read.why };
      return read.available ? read : null;
    } catch (err) {
      this.last = { state: 'error', error: err instanceof KdropError ? err : new KdropError(ErrorCodes.QSTATS_READ, 'cannot read the netdev queue stats', { found: String(err) }) };
      return null;
    }
  }

  status(): QstatsStatus {
    return this.last;
  }
}
