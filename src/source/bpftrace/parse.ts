/**
 * Pure parser for `bpftrace -f json` output lines (NDJSON). Each line is one JSON object with a `type`.
 */
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';

export interface MapEntry {
  /** Key parts as unsigned 64-bit integers; empty for a scalar map (`@x = 1`). */
  readonly key: readonly bigint[];
  readonly value: number;
}

export type BpftraceEvent =
  | { readonly kind: 'attached'; readonly probes: number }
  | { readonly kind: 'map'; readonly name: string; readonly entries: readonly MapEntry[] }
  | { readonly kind: 'printf'; readonly text: string }
  | { readonly kind: 'lost'; readonly events: number }
  | { readonly kind: 'helper-error'; readonly helper: string; readonly retcode: number; readonly line: number | null }
  | { readonly kind: 'message'; readonly level: 'error' | 'warning'; readonly text: string }
  /** A well-formed line of a type kdrop does not use (time, join, hist...). */
  | { readonly kind: 'other'; readonly type: string };

function bad(what: string, line: string, cause?: unknown): KdropError {
  return new KdropError(ErrorCodes.TRACER_OUTPUT, `bad bpftrace output line: ${what}`, {
    expected: 'a bpftrace -f json object',
    found: excerpt(line, 120),
    ...(cause === undefined ? {} : { cause }),
  });
}

const U64 = 1n << 64n;

/**
 * One integer of a map key as bpftrace prints it: pointers in hex (`0xffffffff820490cc`), integers in
 * decimal; 64-bit values with the top bit set may come out negative (bpftrace prints some uint64 keys
 * signed). Returns the unsigned 64-bit value.
 */
export function parseKeyInteger(text: string): bigint {
  const t = text.trim();
  if (!/^(-?\d+|0x[0-9a-fA-F]+)$/.test(t)) {
    throw new KdropError(ErrorCodes.TRACER_OUTPUT, 'bad map key part', { expected: 'a decimal or 0x-hex integer', found: excerpt(t) });
  }
  const v = BigInt(t);
  if (v >= U64 || v < -(U64 >> 1n)) {
    throw new KdropError(ErrorCodes.TRACER_OUTPUT, 'map key part out of 64-bit range', { expected: 'a 64-bit integer', found: excerpt(t) });
  }
  return BigInt.asUintN(64, v);
}

function parseMapValue(name: string, value: unknown, line: string): MapEntry[] {
  if (typeof value === 'number') return [{ key: [], value }];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw bad(`map ${name} is neither a number nor an object of key -> number`, line);
  }
  const entries: MapEntry[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`map ${name} value for key ${k} is not a number`, line);
    let key: bigint[];
    try {
      key = k.split(',').map(parseKeyInteger);
    } catch (cause) {
      throw bad(`map ${name} key ${excerpt(k)} is not a list of integers`, line, cause);
    }
    entries.push({ key, value: v });
  }
  return entries;
}

/**
 * Parses one line. Returns null for a blank line (bpftrace prints empty lines before the exit maps).
 * Throws KdropError TRACER_OUTPUT for a line that is not a bpftrace JSON object.
 */
export function parseBpftraceLine(line: string): BpftraceEvent | null {
  const text = line.trim();
  if (text === '') return null;
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (cause) {
    throw bad('not JSON', text, cause);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw bad('not a JSON object', text);
  const o = obj as Record<string, unknown>;
  const type = o['type'];
  if (typeof type !== 'string') throw bad('no "type" field', text);
  const data = o['data'];
  switch (type) {
    case 'attached_probes': {
      const probes = (data as { probes?: unknown } | null)?.probes;
      if (typeof probes !== 'number') throw bad('attached_probes without data.probes', text);
      return { kind: 'attached', probes };
    }
    case 'map': {
      if (data === null || typeof data !== 'object' || Array.isArray(data)) throw bad('map without a data object', text);
      const names = Object.keys(data);
      if (names.length !== 1 || names[0] === undefined) throw bad(`map line with ${names.length} maps`, text);
      const name = names[0];
      return { kind: 'map', name, entries: parseMapValue(name, (data as Record<string, unknown>)[name], text) };
    }
    case 'printf':
      if (typeof data !== 'string') throw bad('printf without a string', text);
      return { kind: 'printf', text: data };
    case 'lost_events': {
      const events = (data as { events?: unknown } | null)?.events;
      if (typeof events !== 'number') throw bad('lost_events without data.events', text);
      return { kind: 'lost', events };
    }
    case 'helper_error': {
      const helper = o['helper'] ?? (data as { helper?: unknown } | null)?.helper;
      const retcode = o['retcode'] ?? (data as { retcode?: unknown } | null)?.retcode;
      const ln = o['line'] ?? (data as { line?: unknown } | null)?.line;
      if (typeof helper !== 'string' || typeof retcode !== 'number') throw bad('helper_error without helper/retcode', text);
      return { kind: 'helper-error', helper, retcode, line: typeof ln === 'number' ? ln : null };
    }
    case 'error':
    case 'warning': {
      const msg = typeof data === 'string' ? data : typeof o['msg'] === 'string' ? o['msg'] : JSON.stringify(data ?? o);
      return { kind: 'message', level: type, text: msg };
    }
    default:
      return { kind: 'other', type };
  }
}
