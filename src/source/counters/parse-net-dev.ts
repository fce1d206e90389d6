/**
 * /proc/PID/net/dev: two header lines naming the Receive and Transmit columns, then one line per
 * interface, `  eth0: 123 4 ...`. Parsed by the header, so the `drop` columns are found by name.
 */
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import type { CounterValue } from './types.js';

export interface NetDevRow {
  readonly iface: string;
  /** Column `drop` of Receive and Transmit. */
  readonly rxDropped: bigint;
  readonly txDropped: bigint;
}

/** Throws COUNTERS_PARSE when the header or a row does not have the expected layout. */
export function parseNetDev(text: string): NetDevRow[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const groups = (lines[1] ?? '').split('|');
  if (lines.length < 2 || groups.length !== 3) throw bad('two header lines with "face |Receive columns|Transmit columns"', excerpt(lines[1] ?? ''));
  const rx = (groups[1] ?? '').trim().split(/\s+/);
  const tx = (groups[2] ?? '').trim().split(/\s+/);
  const rxDrop = rx.indexOf('drop');
  const txDrop = tx.indexOf('drop');
  if (rxDrop < 0 || txDrop < 0) throw bad('a "drop" column under Receive and Transmit', excerpt(lines[1] ?? ''));
  const out: NetDevRow[] = [];
  for (const line of lines.slice(2)) {
    const colon = line.indexOf(':');
    const iface = line.slice(0, colon).trim();
    if (colon < 0 || iface === '' || /\s/.test(iface)) throw bad('"<interface>: <values>"', excerpt(line));
    const vals = line.slice(colon + 1).trim().split(/\s+/);
    if (vals.length !== rx.length + tx.length || !vals.every((v) => /^\d{1,20}$/.test(v))) {
      throw bad(`${rx.length + tx.length} decimal values for ${iface}`, excerpt(line));
    }
    out.push({ iface, rxDropped: BigInt(vals[rxDrop] ?? 0), txDropped: BigInt(vals[rx.length + txDrop] ?? 0) });
  }
  return out;
}

/** rx_dropped / tx_dropped per interface (the kernel's `drop` columns: dropped + missed on receive). */
export function netDevCounters(text: string): CounterValue[] {
  return parseNetDev(text).flatMap((r) => [
    { file: 'dev' as const, counter: 'rx_dropped' as const, iface: r.iface, value: r.rxDropped, bits: 64 as const },
    { file: 'dev' as const, counter: 'tx_dropped' as const, iface: r.iface, value: r.txDropped, bits: 64 as const },
  ]);
}

function bad(expected: string, found: string): KdropError {
  return new KdropError(ErrorCodes.COUNTERS_PARSE, 'cannot parse net/dev', { expected, found });
}
