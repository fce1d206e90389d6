/**
 * /proc/PID/net/stat/nf_conntrack: a header naming the columns, then one row of 8-digit hex numbers per
 * possible CPU. Columns differ between kernels (`searched`/`chainlength`, `clashres`, `search_restart`),
 * so columns are found by the header's names and summed over the rows.
 */
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import { CONNTRACK_COUNTERS, type ConntrackCounter, type CounterValue } from './types.js';
import { fieldEnd, hasContent, lineEnd, nextField } from './scan-text.js';

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
  return conntrackInPlace(text) ?? conntrackCountersByMap(text);
}

/** The header last seen (every netns of a kernel prints the same): column count, wanted columns. */
let conntrackHeader: { readonly line: string; readonly columns: number; readonly wanted: ReadonlyArray<readonly [ConntrackCounter, number]> } | null = null;

/**
 * The counters summed over the CPU rows in place (a tick reads this file in every netns), or null where
 * conntrackCountersByMap must decide (a header it refuses, a bad row, values past 13 hex digits).
 */
function conntrackInPlace(text: string): CounterValue[] | null {
  let header: { readonly columns: number; readonly wanted: ReadonlyArray<readonly [ConntrackCounter, number]> } | null = null;
  const sums: number[] = []; // one per wanted column, by its index in header.wanted
  for (let pos = 0; pos <= text.length; ) {
    const end = lineEnd(text, pos);
    if (hasContent(text, pos, end)) {
      if (header === null) {
        header = conntrackHeaderAt(text, pos, end);
        if (header === null) return null;
      } else {
        let col = 0;
        for (let at = nextField(text, pos, end); at >= 0; col++) {
          const stop = fieldEnd(text, at, end);
          let v = 0;
          for (let i = at; i < stop; i++) {
            const d = hexDigit(text.charCodeAt(i));
            if (d < 0) return null;
            v = v * 16 + d;
          }
          if (stop - at > 13) return null;
          for (let w = 0; w < header.wanted.length; w++) if (header.wanted[w]?.[1] === col) sums[w] = (sums[w] ?? 0) + v;
          at = nextField(text, stop, end);
        }
        if (col !== header.columns) return null;
      }
    }
    pos = end + 1;
  }
  if (header === null || sums.some((v) => v > Number.MAX_SAFE_INTEGER)) return null;
  return header.wanted.map(([counter], w) => ({ file: 'conntrack' as const, counter, iface: null, value: BigInt(sums[w] ?? 0) & 0xffffffffn, bits: 32 as const }));
}

function conntrackHeaderAt(text: string, from: number, to: number): { readonly columns: number; readonly wanted: ReadonlyArray<readonly [ConntrackCounter, number]> } | null {
  const known = conntrackHeader;
  if (known !== null && known.line.length === to - from && text.startsWith(known.line, from)) return known;
  const line = text.slice(from, to);
  const names = line.trim().split(/\s+/);
  if (!names.every((h) => /^[a-z][a-z_]*$/.test(h)) || new Set(names).size !== names.length) return null;
  const wanted = CONNTRACK_COUNTERS.map((c) => [c, names.indexOf(c)] as const).filter(([, i]) => i >= 0);
  conntrackHeader = { line, columns: names.length, wanted };
  return conntrackHeader;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** conntrackCounters through parseConntrackStat (the reference the in-place sum must agree with). */
export function conntrackCountersByMap(text: string): CounterValue[] {
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
