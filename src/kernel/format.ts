/**
 * Parser for tracefs `events/<system>/<event>/format` files, and the drop-reason table that the
 * skb:kfree_skb print fmt carries as `__print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, ...)`.
 * The table is read from the running kernel because its numbering drifts between kernel versions.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, KdropError, excerpt } from '../errors.js';
import { logger } from '../log.js';
import type { TracepointField, TracepointFormat } from './types.js';

const log = logger('kernel-format');

const REASON_PREFIX = 'SKB_DROP_REASON_';

function parseError(line: number, what: string, expected: string, found: string): KdropError {
  return new KdropError(ErrorCodes.FORMAT_PARSE, `tracepoint format, line ${line}: ${what}`, {
    expected,
    found: excerpt(found),
  });
}

/** `field:void * skbaddr;	offset:8;	size:8;	signed:0;` -> field; null for a line that is not a field. */
function parseFieldLine(text: string, lineNo: number): TracepointField {
  const m = /^field:(.+?);\s*offset:(\d+);\s*size:(\d+);\s*signed:([01]);\s*$/.exec(text);
  if (m === null) {
    throw parseError(lineNo, 'bad field line', '"field:TYPE NAME;<tab>offset:N;<tab>size:N;<tab>signed:0|1;"', text);
  }
  const [, decl = '', offset = '', size = '', signed = ''] = m;
  // The name is the last identifier, optionally with an array suffix: "char name[16]", "__data_loc char[] x".
  const d = /^(.*?)\s*\b([A-Za-z_]\w*)\s*(\[[^\]]*\])?$/.exec(decl.trim());
  if (d === null || d[1] === undefined || d[1] === '' || d[2] === undefined) {
    throw parseError(lineNo, 'bad field declaration', 'a C declaration "TYPE NAME"', decl);
  }
  const type = `${d[1]}${d[3] ?? ''}`.trim();
  return { name: d[2], type, offset: Number(offset), size: Number(size), signed: signed === '1' };
}

/** Finds the index of the parenthesis closing the one opened just before `start`, skipping string literals. */
function closingParen(text: string, start: number): number {
  let depth = 1;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Reads the `__print_symbolic(REC->reason, {N, "NAME"}, ...)` table of a print fmt; empty when absent. */
export function parseReasonTable(printFmt: string, lineNo = 0): Map<number, string> {
  const reasons = new Map<number, string>();
  const open = /__print_symbolic\s*\(\s*REC->reason\s*,/.exec(printFmt);
  if (open === null) return reasons;
  const bodyStart = open.index + open[0].length;
  const end = closingParen(printFmt, bodyStart);
  if (end < 0) {
    throw parseError(lineNo, 'unterminated __print_symbolic(REC->reason, ...)', 'a closing ")"', printFmt.slice(open.index));
  }
  const body = printFmt.slice(bodyStart, end);
  const entry = /\{\s*([^,{}]+?)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\}/g;
  let skipped = 0;
  for (const m of body.matchAll(entry)) {
    const [, codeText = '', nameText = ''] = m;
    let code: number;
    if (/^-?\d+$/.test(codeText)) code = Number(codeText);
    else if (/^0x[0-9a-f]+$/i.test(codeText)) code = Number.parseInt(codeText.slice(2), 16);
    else {
      // An enum the kernel did not turn into a number (no TRACE_DEFINE_ENUM): no code to map.
      skipped++;
      continue;
    }
    const name = nameText.startsWith(REASON_PREFIX) ? nameText.slice(REASON_PREFIX.length) : nameText;
    reasons.set(code, name);
  }
  // Everything in the body except the entries and separators must be absent: otherwise it is not a table.
  const rest = body.replace(entry, '').replace(/[\s,]/g, '');
  if (rest !== '') {
    throw parseError(lineNo, 'bad entry in __print_symbolic(REC->reason, ...)', '{ NUMBER, "NAME" } entries', rest);
  }
  if (skipped > 0) log.debug({ skipped }, 'reason table entries without numeric codes ignored');
  return reasons;
}

/** Parses a tracefs format file. Throws KdropError FORMAT_PARSE saying what was expected and found. */
export function parseFormat(text: string): TracepointFormat {
  const lines = text.split('\n');
  let name: string | undefined;
  let id: number | undefined;
  let printFmt: string | undefined;
  let sawFormat = false;
  const fields: TracepointField[] = [];
  let printLine = 0;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i] ?? '';
    const line = raw.trim();
    if (line === '') continue;
    if (printFmt !== undefined) {
      throw parseError(lineNo, 'text after print fmt', 'end of file after the "print fmt:" line', line);
    }
    if (line.startsWith('name:')) {
      const n = line.slice(5).trim();
      if (!/^\w+$/.test(n)) throw parseError(lineNo, 'bad event name', 'an identifier after "name:"', line);
      name = n;
    } else if (line.startsWith('ID:')) {
      const n = line.slice(3).trim();
      if (!/^\d+$/.test(n)) throw parseError(lineNo, 'bad event ID', 'a decimal number after "ID:"', line);
      id = Number(n);
    } else if (line === 'format:') {
      sawFormat = true;
    } else if (line.startsWith('field:')) {
      if (!sawFormat) throw parseError(lineNo, 'field before "format:"', 'a "format:" line before the fields', line);
      const f = parseFieldLine(line, lineNo);
      if (!f.name.startsWith('common_')) fields.push(f);
    } else if (line.startsWith('print fmt:')) {
      printFmt = line.slice('print fmt:'.length).trim();
      printLine = lineNo;
    } else {
      throw parseError(lineNo, 'unexpected line', '"name:", "ID:", "format:", "field:..." or "print fmt:"', line);
    }
  }
  if (name === undefined) throw parseError(1, 'no event name', 'a "name: EVENT" line', lines[0] ?? '');
  if (id === undefined) throw parseError(lines.length, 'no event ID', 'an "ID: N" line', '');
  if (!sawFormat) throw parseError(lines.length, 'no field list', 'a "format:" line followed by fields', '');
  if (printFmt === undefined) throw parseError(lines.length, 'no print fmt', 'a "print fmt: ..." line', '');
  if (!printFmt.startsWith('"')) throw parseError(printLine, 'bad print fmt', 'a quoted format string', printFmt);
  const reasons = parseReasonTable(printFmt, printLine);
  return { name, id, fields, printFmt, reasons };
}

/** The kernel's name for a drop reason code (without SKB_DROP_REASON_), or `UNKNOWN_<code>`. */
export function reasonName(format: Pick<TracepointFormat, 'reasons'>, code: number): string {
  return format.reasons.get(code) ?? `UNKNOWN_${code}`;
}

/** Whether a parsed format has a field of that name. */
export function hasField(format: TracepointFormat, field: string): boolean {
  return format.fields.some((f) => f.name === field);
}

/** Reads and parses `${tracefsDir}/events/${system}/${event}/format` (default skb/kfree_skb). */
export async function readTracepointFormat(tracefsDir: string, system = 'skb', event = 'kfree_skb'): Promise<TracepointFormat> {
  const path = join(tracefsDir, 'events', system, event, 'format');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new KdropError(ErrorCodes.TRACEPOINT_MISSING, `tracepoint ${system}:${event} not found`, {
        expected: `${path} to exist`,
        found: `no such file (${code})`,
        hint: `check that ${tracefsDir} is a tracefs mount and that the kernel has ${system}:${event} (CONFIG_TRACEPOINTS; kfree_skb exists since 2.6.31)`,
        cause: err,
      });
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new KdropError(ErrorCodes.PERMISSION, `cannot read ${path}`, {
        expected: 'read access to tracefs',
        found: code,
        hint: 'run as root (or with CAP_SYS_ADMIN / CAP_PERFMON and read access to tracefs)',
        cause: err,
      });
    }
    throw err;
  }
  return parseFormat(text);
}
