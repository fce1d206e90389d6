/**
 * /proc/PID/net/stat/nf_conntrack: a header naming the columns, then one row of 8-digit hex numbers per
 * possible CPU. Columns differ between kernels (`searched`/`chainlength`, `clashres`, `search_restart`),
 * so columns are found by the header's names and summed over the rows.
 */
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import { CONNTRACK_COUNTERS, type ConntrackCounter, type CounterValue } from './types.js';

/** Column name -> sum over CPUs. Throws COUNTERS_PARSE. */
export function parseConntrackStat(text: string): Map<string, bigint> {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').trim().split(/\s+/);
  if (lines.length === 0 || !header.every((h) => /^[a-z][a-z_]*$/.test(h)) || new Set(header).size !== header.length) {
    throw bad('a header of distinct column names (entries searched found ...)', excerpt(lines[0] ?? ''));
  }
  const sums = new Map<string, bigint>(header.map((h) => [h, 0n]));
  for (const line of lines.slice(1)) {
    const vals = line.trim().split(/\s+/);
    if (vals.length !== header.length || !vals.every((v) => /^[0-9a-fA-F]{1,16}$/.test(v))) {
      throw bad(`${header.length} hex values per CPU row`, excerpt(line));
    }
    header.forEach((h, i) => sums.set(h, (sums.get(h) ?? 0n) + BigInt(`0x${vals[i] ?? '0'}`)));
  }
  return sums;
}

/**
 * drop, insert_failed, early_drop (those the header names). Per CPU they are u32 that wrap; summed over
 * CPUs they are reported as 32-bit counters (the sum wraps modulo 2^32 as well: kept modulo 2^32).
 */
export function conntrackCounters(text: string): CounterValue[] {
  const sums = parseConntrackStat(text);
  const out: CounterValue[] = [];
  for (const counter of CONNTRACK_COUNTERS) {
    const v = sums.get(counter);
    if (v !== undefined) out.push({ file: 'conntrack', counter: counter satisfies ConntrackCounter, iface: null, value: v & 0xffffffffn, bits: 32 });
  }
  return out;
}

function bad(expected: string, found: string): KdropError {
  return new KdropError(ErrorCodes.COUNTERS_PARSE, 'cannot parse net/stat/nf_conntrack', { expected, found });
}
