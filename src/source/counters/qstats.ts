/**
 * The netdev queue stats, read once per call through `kdrop-probe --qstats` (Node has no netlink socket):
 * one short process per interval, bounded in time. A kernel without the family (or without qstats-get)
 * answers so once and is not asked again: "not available on this kernel", not an error.
 */
import { execFile } from 'node:child_process';
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
  // node:child_process, not execa: this module loads on watch's and the agent's start path, where importing
  // execa took ~0.1 s (the kernel probe's Loader spawns the same way).
  const r = await new Promise<{ err: (Error & { code?: unknown; killed?: boolean; signal?: unknown }) | null; stdout: string; stderr: string }>((resolve) => {
    execFile(probe, ['--qstats'], { timeout: timeoutMs, maxBuffer: 4 << 20, encoding: 'utf8' }, (err, stdout, stderr) => resolve({ err, stdout, stderr }));
  });
  // Not built (tracefs and bpftrace need no loader): nothing to read, and nothing to retry.
  if (r.err?.code === 'ENOENT') return { available: false, why: `no kdrop-probe at ${probe}` };
  if (r.err !== null) {
    const found =
      r.err.killed === true && r.err.signal === 'SIGTERM' ? `no answer within ${timeoutMs} ms`
      : excerpt(r.stderr.trim() || (typeof r.err.code === 'number' ? `exit ${r.err.code}` : r.err.signal ? `signal ${String(r.err.signal)}` : r.err.message), 200);
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
