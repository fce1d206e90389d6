/**
 * Pure parser for the lines kdrop-probe (probe/loader.c) prints on stdout. One line, one event:
 *
 *   READY attach=<type> pinned=<dir|none> resumed=<0|1> epoch=<E> max_keys=<N> samples=<0|1> stacks=<0|1> atomics=<0|1>
 *     (atomics=0: the kernel refuses BPF atomics but add, before 5.12, and the loader's pre-5.12 object runs)
 *     qdisc=<0|1> (1: qdisc:qdisc_drop is joined, 7.x: qdisc drops carry the qdisc's own reason)
 *   D <epoch> <location hex> <reason> <protocol> <netns> <count> <bytes>
 *   END <epoch> [id=<ID>] lost=<n> misses=<n> run_ns=<n> run_cnt=<n> [samples=<n> suppressed=<n> rb_fail=<n> stack_fail=<n>]
 *     (id: of the `dump ID` command it answers; none on the dumps of a stop or of the loader's own final dump)
 *   S ... / K ...   a sampled drop and its stack (sample-lines.ts)
 *   W <message>
 *   CHECK <type> ok | CHECK <type> fail <message>
 *   BYE [ID]   (ID: of the `stop ID` it answers; none after a signal or the end of stdin)
 */
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import { parseSampleLine, parseStackLine, type SampleLine, type StackLine } from './sample-lines.js';

export type AttachType = 'tp_btf' | 'raw_tp' | 'tracepoint';
export const ATTACH_TYPES: readonly AttachType[] = ['tp_btf', 'raw_tp', 'tracepoint'];

export type ProbeEvent =
  | { readonly kind: 'ready'; readonly attach: AttachType; readonly pinned: string | null; readonly resumed: boolean; readonly epoch: number; readonly maxKeys: number; readonly atomics: boolean | null; readonly qdisc: boolean | null }
  | {
      readonly kind: 'delta';
      readonly epoch: number;
      readonly address: bigint;
      readonly reasonCode: number;
      readonly protocol: number;
      readonly netns: number;
      readonly count: number;
      readonly bytes: number;
    }
  | {
      readonly kind: 'end';
      readonly epoch: number;
      /** The id of the `dump` command this END answers, null for an END no command asked for. */
      readonly id: number | null;
      readonly lost: number;
      readonly misses: number;
      readonly runNs: number;
      readonly runCnt: number;
      /** Cumulative sample counters (0 from a loader without samples). */
      readonly samples: number;
      readonly suppressed: number;
      readonly rbFail: number;
      readonly stackFail: number;
    }
  | SampleLine
  | StackLine
  | { readonly kind: 'warn'; readonly text: string }
  | { readonly kind: 'check'; readonly attach: AttachType; readonly ok: boolean; readonly message: string }
  | { readonly kind: 'bye'; readonly id: number | null };

function bad(what: string, line: string): KdropError {
  return new KdropError(ErrorCodes.TRACER_OUTPUT, `bad kdrop-probe output line: ${what}`, {
    expected: 'READY, D, END, S, K, W, CHECK or BYE line of kdrop-probe',
    found: excerpt(line, 120),
  });
}

/** A decimal unsigned integer that fits `bits` and is a safe JS number. */
function uint(text: string | undefined, line: string, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined || !/^\d{1,20}$/.test(text)) throw bad(`${what} is not a decimal integer`, line);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n > max) throw bad(`${what} out of range`, line);
  return n;
}

function attachType(text: string | undefined, line: string): AttachType {
  const t = ATTACH_TYPES.find((a) => a === text);
  if (t === undefined) throw bad('unknown attach type', line);
  return t;
}

/** An optional 0/1 field of READY (null from a loader that does not say). */
function flagField(text: string | undefined, line: string, what: string): boolean | null {
  if (text === undefined) return null;
  if (text !== '0' && text !== '1') throw bad(`${what} is not 0 or 1`, line);
  return text === '1';
}

/** `name=value` fields after the first token(s), all required. */
function fields(parts: readonly string[], names: readonly string[], line: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw bad(`expected name=value, found ${excerpt(p, 40)}`, line);
    out.set(p.slice(0, eq), p.slice(eq + 1));
  }
  for (const n of names) if (!out.has(n)) throw bad(`missing ${n}=`, line);
  return out;
}

/** Parses one line (without its newline). Returns null for an empty line; throws TRACER_OUTPUT when malformed. */
export function parseProbeLine(line: string): ProbeEvent | null {
  if (line.trim() === '') return null;
  const parts = line.split(' ');
  const tag = parts[0];
  switch (tag) {
    case 'D': {
      if (parts.length !== 8) throw bad(`D line with ${parts.length - 1} fields, expected 7`, line);
      const loc = parts[2] ?? '';
      if (!/^[0-9a-f]{1,16}$/.test(loc)) throw bad('location is not hex', line);
      return {
        kind: 'delta',
        epoch: uint(parts[1], line, 'epoch'),
        address: BigInt(`0x${loc}`),
        reasonCode: uint(parts[3], line, 'reason', 0xffffffff),
        protocol: uint(parts[4], line, 'protocol', 0xffff),
        netns: uint(parts[5], line, 'netns', 0xffffffff),
        count: uint(parts[6], line, 'count'),
        bytes: uint(parts[7], line, 'bytes'),
      };
    }
    case 'END': {
      const f = fields(parts.slice(2), ['lost', 'misses', 'run_ns', 'run_cnt'], line);
      return {
        kind: 'end',
        epoch: uint(parts[1], line, 'epoch'),
        id: f.has('id') ? uint(f.get('id'), line, 'id') : null,
        lost: uint(f.get('lost'), line, 'lost'),
        misses: uint(f.get('misses'), line, 'misses'),
        runNs: uint(f.get('run_ns'), line, 'run_ns'),
        runCnt: uint(f.get('run_cnt'), line, 'run_cnt'),
        samples: uint(f.get('samples') ?? '0', line, 'samples'),
        suppressed: uint(f.get('suppressed') ?? '0', line, 'suppressed'),
        rbFail: uint(f.get('rb_fail') ?? '0', line, 'rb_fail'),
        stackFail: uint(f.get('stack_fail') ?? '0', line, 'stack_fail'),
      };
    }
    case 'READY': {
      const f = fields(parts.slice(1), ['attach', 'pinned', 'resumed', 'epoch', 'max_keys'], line);
      const resumed = f.get('resumed');
      if (resumed !== '0' && resumed !== '1') throw bad('resumed is not 0 or 1', line);
      const pinned = f.get('pinned') as string;
      return {
        kind: 'ready',
        attach: attachType(f.get('attach'), line),
        pinned: pinned === 'none' ? null : pinned,
        resumed: resumed === '1',
        epoch: uint(f.get('epoch'), line, 'epoch'),
        maxKeys: uint(f.get('max_keys'), line, 'max_keys', 0xffffffff),
        atomics: flagField(f.get('atomics'), line, 'atomics'),
        qdisc: flagField(f.get('qdisc'), line, 'qdisc'),
      };
    }
    case 'S':
      return parseSampleLine(parts, line);
    case 'K':
      return parseStackLine(parts, line);
    case 'W':
      return { kind: 'warn', text: parts.slice(1).join(' ') };
    case 'CHECK': {
      const attach = attachType(parts[1], line);
      if (parts[2] === 'ok') return { kind: 'check', attach, ok: true, message: '' };
      if (parts[2] === 'fail') return { kind: 'check', attach, ok: false, message: parts.slice(3).join(' ') };
      throw bad('CHECK without ok or fail', line);
    }
    case 'BYE':
      if (parts.length > 2) throw bad('BYE with more than an id', line);
      return { kind: 'bye', id: parts.length === 2 ? uint(parts[1], line, 'id') : null };
    default:
      throw bad('unknown line type', line);
  }
}

/**
 * Splits a byte stream into complete lines. A last line without its newline (the loader died in the
 * middle of writing it) is never returned: it could be a number cut short.
 */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    return lines;
  }

  /** What is left at the end of the stream (an incomplete line), then forgets it. */
  end(): string {
    const r = this.rest;
    this.rest = '';
    return r;
  }
}
