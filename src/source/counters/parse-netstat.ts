/**
 * /proc/PID/net/netstat (and /proc/net/snmp): pairs of lines, a header `TcpExt: Name1 Name2 ...` then the
 * values `TcpExt: 1 2 ...`. Parsed by name, so counters added or reordered by newer kernels do not matter.
 */
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import { TCP_COUNTERS, type CounterValue, type TcpCounter } from './types.js';
import { countFields, fieldEnd, hasContent, hasLineBreakChar, lineEnd, nextField } from './scan-text.js';

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
 * The TcpExt counters kdrop reads (those this kernel prints), with the layout checked as strictly as
 * parseNetstat does for that pair. A tick reads this file in every netns: the usual file is walked in
 * place (no lines or fields split off, the header's columns remembered, three values converted);
 * anything else takes netstatCountersByLines, which gives the same values or the error.
 */
export function netstatCounters(text: string): CounterValue[] {
  return netstatInPlace(text) ?? netstatCountersByLines(text);
}

/** The TcpExt header last seen (every netns of a kernel prints the same), with the wanted columns. */
let tcpExtHeader: { readonly line: string; readonly fields: number; readonly columns: ReadonlyArray<readonly [TcpCounter, number]> } | null = null;

/** The values, or null where netstatCountersByLines must decide (no TcpExt pair, odd lines, bad fields). */
function netstatInPlace(text: string): CounterValue[] | null {
  let lines = 0;
  let head = -1;
  let headEnd = -1;
  let vals = -1;
  let valsEnd = -1;
  for (let pos = 0; pos <= text.length; ) {
    const end = lineEnd(text, pos);
    if (hasContent(text, pos, end)) {
      if (head < 0 && lines % 2 === 0 && text.startsWith('TcpExt:', pos)) {
        head = pos;
        headEnd = end;
      } else if (head >= 0 && vals < 0) {
        vals = pos;
        valsEnd = end;
      }
      lines++;
    }
    pos = end + 1;
  }
  if (lines % 2 !== 0 || vals < 0 || !text.startsWith('TcpExt:', vals)) return null;
  const hs = head + 'TcpExt:'.length;
  const vs = vals + 'TcpExt:'.length;
  if (hasLineBreakChar(text, hs, headEnd) || hasLineBreakChar(text, vs, valsEnd)) return null;
  let known = tcpExtHeader;
  if (known === null || known.line.length !== headEnd - head || !text.startsWith(known.line, head)) {
    const line = text.slice(head, headEnd);
    const fields = splitLine(line).fields;
    known = { line, fields: fields.length, columns: TCP_COUNTERS.map((c) => [c, fields.indexOf(c)] as const).filter(([, k]) => k >= 0) };
    tcpExtHeader = known;
  }
  if (countFields(text, vs, valsEnd) !== known.fields) return null;
  const out: CounterValue[] = [];
  for (const [counter, k] of known.columns) {
    let at = nextField(text, vs, valsEnd);
    for (let i = 0; i < k; i++) at = nextField(text, fieldEnd(text, at, valsEnd), valsEnd);
    const end = fieldEnd(text, at, valsEnd);
    if (end - at > 20) return null;
    for (let i = at; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return null;
    }
    out.push({ file: 'netstat', counter, iface: null, value: BigInt(text.slice(at, end)), bits: 64 });
  }
  return out;
}

/** netstatCounters by splitting lines and fields (the reference the in-place walk must agree with). */
export function netstatCountersByLines(text: string): CounterValue[] {
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
