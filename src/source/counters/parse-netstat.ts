/**
 * /proc/PID/net/netstat (and /proc/net/snmp): pairs of lines, a header `TcpExt: Name1 Name2 ...` then the
 * values `TcpExt: 1 2 ...`. Parsed by name, so counters added or reordered by newer kernels do not matter.
 */
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import { TCP_COUNTERS, type CounterValue } from './types.js';

/** Every section's counters by name: `TcpExt` -> `ListenOverflows` -> value. Throws COUNTERS_PARSE. */
export function parseNetstat(text: string): Map<string, Map<string, bigint>> {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length % 2 !== 0) throw bad('an even number of lines (header, values)', `${lines.length} lines`);
  const out = new Map<string, Map<string, bigint>>();
  for (let i = 0; i < lines.length; i += 2) {
    const head = splitLine(lines[i] ?? '');
    const vals = splitLine(lines[i + 1] ?? '');
    if (head.section !== vals.section) throw bad(`a values line for section ${head.section}`, excerpt(lines[i + 1] ?? ''));
    if (head.fields.length !== vals.fields.length) {
      throw bad(`${head.fields.length} values in section ${head.section}`, `${vals.fields.length}`);
    }
    const m = new Map<string, bigint>();
    head.fields.forEach((name, k) => {
      const v = vals.fields[k] ?? '';
      // /proc/net/snmp has signed fields (Tcp MaxConn -1): kept out of the counters by value.
      if (!/^-?\d{1,20}$/.test(v)) throw bad(`a decimal value for ${head.section} ${name}`, excerpt(v));
      if (!v.startsWith('-')) m.set(name, BigInt(v));
    });
    out.set(head.section, m);
  }
  return out;
}

/**
 * The TcpExt counters kdrop reads (those this kernel prints). Only the TcpExt pair is split and only the
 * wanted values converted (a tick reads this file in every netns; the whole file is ~130 numbers);
 * the layout is checked as strictly as parseNetstat does for that pair.
 */
export function netstatCounters(text: string): CounterValue[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length % 2 !== 0) throw bad('an even number of lines (header, values)', `${lines.length} lines`);
  let i = 0;
  while (i < lines.length && !(lines[i] ?? '').startsWith('TcpExt:')) i += 2;
  if (i >= lines.length) {
    for (let k = 0; k < lines.length; k++) splitLine(lines[k] ?? '');
    return [];
  }
  const head = splitLine(lines[i] ?? '');
  const vals = splitLine(lines[i + 1] ?? '');
  if (head.section !== vals.section) throw bad(`a values line for section ${head.section}`, excerpt(lines[i + 1] ?? ''));
  if (head.fields.length !== vals.fields.length) throw bad(`${head.fields.length} values in section ${head.section}`, `${vals.fields.length}`);
  const out: CounterValue[] = [];
  for (const counter of TCP_COUNTERS) {
    const k = head.fields.indexOf(counter);
    if (k < 0) continue;
    const v = vals.fields[k] ?? '';
    if (!/^\d{1,20}$/.test(v)) throw bad(`a decimal value for TcpExt ${counter}`, excerpt(v));
    out.push({ file: 'netstat', counter, iface: null, value: BigInt(v), bits: 64 });
  }
  return out;
}

function splitLine(line: string): { section: string; fields: string[] } {
  const m = /^([A-Za-z][A-Za-z0-9]*):(.*)$/.exec(line);
  if (!m?.[1] || m[2] === undefined) throw bad('"Section: field field ..."', excerpt(line));
  return { section: m[1], fields: m[2].trim().split(/\s+/).filter((f) => f !== '') };
}

function bad(expected: string, found: string): KdropError {
  return new KdropError(ErrorCodes.COUNTERS_PARSE, 'cannot parse net/netstat', { expected, found });
}
