/**
 * `kdrop-probe --qstats` (probe/qstats.c): the netdev generic-netlink family's queue stats at device scope.
 *   Q <ifindex> <ifname|-> <field>=<value>...   one per device whose driver reports queue stats; only the
 *                                                fields the driver fills (an absent field is not zero)
 *   QEND devices=<n>
 * or `QNONE <why>` where the kernel has no netdev family (before 6.3) or no qstats-get (before 6.9).
 */
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import { QSTATS_COUNTERS, type CounterValue, type QstatsCounter } from './types.js';

export interface QstatsDevice {
  readonly ifindex: number;
  /** null when the loader could not name the ifindex (`-`). */
  readonly iface: string | null;
  /** Field (the spec's name, rx-hw-drops ...) -> value; only those the driver reports. */
  readonly fields: ReadonlyMap<string, bigint>;
}

export type QstatsRead = { readonly available: true; readonly devices: readonly QstatsDevice[] } | { readonly available: false; readonly why: string };

const U64_MAX = (1n << 64n) - 1n;

/** Throws COUNTERS_PARSE on anything but the layout above (a missing QEND included: the read was cut short). */
export function parseQstats(text: string): QstatsRead {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const none = /^QNONE (\S.*)$/.exec(lines[0] ?? '');
  if (none?.[1] !== undefined && lines.length === 1) return { available: false, why: none[1].trim() };
  const devices: QstatsDevice[] = [];
  const seen = new Set<number>();
  for (const [i, line] of lines.entries()) {
    const end = /^QEND devices=(\d+)$/.exec(line);
    if (end !== null) {
      if (i !== lines.length - 1 || Number(end[1]) !== devices.length) throw bad(`QEND devices=${devices.length} as the last line`, excerpt(lines.slice(i).join(' | ')));
      return { available: true, devices };
    }
    const parts = line.trim().split(/\s+/);
    const [tag, index, name, ...rest] = parts;
    const ifindex = Number(index);
    if (tag !== 'Q' || !/^[1-9]\d{0,9}$/.test(index ?? '') || name === undefined || seen.has(ifindex)) throw bad('"Q <ifindex> <ifname|-> <field>=<value>..." (one per ifindex), "QEND devices=N" or "QNONE <why>"', excerpt(line));
    const fields = new Map<string, bigint>();
    for (const kv of rest) {
      const m = /^([a-z][a-z0-9-]*)=(\d{1,20})$/.exec(kv);
      if (m?.[1] === undefined || m[2] === undefined || fields.has(m[1]) || BigInt(m[2]) > U64_MAX) throw bad('<field>=<unsigned 64-bit decimal>, each field once', excerpt(kv));
      fields.set(m[1], BigInt(m[2]));
    }
    seen.add(ifindex);
    devices.push({ ifindex, iface: name === '-' ? null : name, fields });
  }
  throw bad('a last line "QEND devices=N" (the read was cut short)', excerpt(lines.at(-1) ?? '(nothing)'));
}

/** The hardware-drop fields of the named devices (the node's physical NICs), where their drivers report them. */
export function qstatsCounters(read: QstatsRead, nics: ReadonlySet<string>): CounterValue[] {
  if (!read.available) return [];
  const out: CounterValue[] = [];
  for (const d of read.devices) {
    if (d.iface === null || !nics.has(d.iface)) continue;
    for (const counter of QSTATS_COUNTERS) {
      const v = d.fields.get(counter);
      if (v !== undefined) out.push({ file: 'qstats', counter: counter satisfies QstatsCounter, iface: d.iface, value: v, bits: 64 });
    }
  }
  return out;
}

function bad(expected: string, found: string): KdropError {
  return new KdropError(ErrorCodes.COUNTERS_PARSE, 'cannot parse kdrop-probe --qstats', { expected, found });
}
