/**
 * Byte-level scanner for /proc/kallsyms and System.map lines, fed in chunks (a 64 KB read buffer):
 * it never holds the whole file nor creates a string per line, which keeps the agent's peak RSS down
 * (the file is ~5 MB and ~200k lines; V8 keeps the high-water mark of its heap).
 *
 * Accepts the same lines as visitSymbolLines' pattern
 * `^([0-9a-fA-F]{1,16})\s+([A-Za-z?])\s+(\S+)(?:\s+\[([^\]\s]+)\])?$` on the trimmed line, with ASCII
 * whitespace (space, \t, \r, \v, \f) as separators; blank lines are skipped.
 */
import { open } from 'node:fs/promises';
import { ErrorCodes, KdropError, excerpt } from '../errors.js';

/**
 * Receives each symbol line. The address comes split in its high and low 32 bits; `type` is the
 * letter's byte; name and module are byte ranges of `buf`, valid only during the call (modStart < 0:
 * no module).
 */
export type SymbolBytesVisitor = (
  buf: Uint8Array,
  hi: number,
  lo: number,
  type: number,
  nameStart: number,
  nameEnd: number,
  modStart: number,
  modEnd: number,
) => void;

const NL = 10;
const LBRACKET = 91;
const RBRACKET = 93;

function isSpace(b: number): boolean {
  return b === 32 || (b >= 9 && b <= 13);
}

function hexValue(b: number): number {
  if (b >= 48 && b <= 57) return b - 48;
  const l = b | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

function isTypeLetter(b: number): boolean {
  const l = b | 0x20;
  return (l >= 97 && l <= 122) || b === 63;
}

const utf8 = new TextDecoder();

export class SymbolLineScanner {
  readonly #source: string;
  readonly #allowModules: boolean;
  readonly #visit: SymbolBytesVisitor;
  /** Start of a line that continues in the next chunk. */
  #carry = new Uint8Array(0);
  #carryLen = 0;
  #lineNo = 0;
  #count = 0;

  constructor(source: string, allowModules: boolean, visit: SymbolBytesVisitor) {
    this.#source = source;
    this.#allowModules = allowModules;
    this.#visit = visit;
  }

  /** Number of symbol lines seen so far. */
  get count(): number {
    return this.#count;
  }

  /** Parses the complete lines of `chunk[0, length)` and keeps the unfinished last one. */
  push(chunk: Uint8Array, length = chunk.length): void {
    let start = 0;
    if (this.#carryLen > 0) {
      const nl = chunk.indexOf(NL);
      if (nl < 0 || nl >= length) {
        this.#append(chunk, 0, length);
        return;
      }
      this.#append(chunk, 0, nl);
      this.#line(this.#carry, 0, this.#carryLen);
      this.#carryLen = 0;
      start = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl < 0 || nl >= length) break;
      this.#line(chunk, start, nl);
      start = nl + 1;
    }
    if (start < length) this.#append(chunk, start, length);
  }

  /** Parses a last line without a final newline; returns the number of symbol lines. */
  end(): number {
    if (this.#carryLen > 0) {
      this.#line(this.#carry, 0, this.#carryLen);
      this.#carryLen = 0;
    }
    return this.#count;
  }

  #append(chunk: Uint8Array, from: number, to: number): void {
    const need = this.#carryLen + (to - from);
    if (need > this.#carry.length) {
      const grown = new Uint8Array(Math.max(need, this.#carry.length * 2, 256));
      grown.set(this.#carry.subarray(0, this.#carryLen));
      this.#carry = grown;
    }
    this.#carry.set(chunk.subarray(from, to), this.#carryLen);
    this.#carryLen = need;
  }

  #line(buf: Uint8Array, start: number, end: number): void {
    this.#lineNo++;
    let s = start;
    let e = end;
    while (s < e && isSpace(buf[s]!)) s++;
    while (e > s && isSpace(buf[e - 1]!)) e--;
    if (s === e) return;
    let i = s;
    let hi = 0;
    let lo = 0;
    for (; i < e; i++) {
      const d = hexValue(buf[i]!);
      if (d < 0) break;
      hi = hi * 16 + (lo >>> 28);
      lo = ((lo << 4) | d) >>> 0;
    }
    const digits = i - s;
    if (digits === 0 || digits > 16 || i === e || !isSpace(buf[i]!)) return this.#fail(buf, s, e);
    while (isSpace(buf[i]!)) i++;
    const type = buf[i]!;
    if (!isTypeLetter(type) || i + 1 >= e || !isSpace(buf[i + 1]!)) return this.#fail(buf, s, e);
    i += 1;
    while (isSpace(buf[i]!)) i++;
    const nameStart = i;
    while (i < e && !isSpace(buf[i]!)) i++;
    const nameEnd = i;
    let modStart = -1;
    let modEnd = -1;
    if (i < e) {
      while (isSpace(buf[i]!)) i++;
      // `[MODULE]` up to the end of the line: no whitespace or ']' inside, not empty.
      if (!this.#allowModules || buf[i] !== LBRACKET || buf[e - 1] !== RBRACKET || e - i < 3) return this.#fail(buf, s, e);
      for (let k = i + 1; k < e - 1; k++) {
        const b = buf[k]!;
        if (b === RBRACKET || isSpace(b)) return this.#fail(buf, s, e);
      }
      modStart = i + 1;
      modEnd = e - 1;
    }
    this.#count++;
    this.#visit(buf, hi, lo, type, nameStart, nameEnd, modStart, modEnd);
  }

  #fail(buf: Uint8Array, s: number, e: number): never {
    throw new KdropError(ErrorCodes.KALLSYMS_PARSE, `${this.#source}, line ${this.#lineNo}: cannot parse symbol line`, {
      expected: this.#allowModules ? '"ADDRESS TYPE NAME" or "ADDRESS TYPE NAME\\t[MODULE]"' : '"ADDRESS TYPE NAME"',
      found: excerpt(utf8.decode(buf.subarray(s, Math.min(e, s + 200)))),
    });
  }
}

/** Feeds `file` to `scanner` through one 64 KB buffer (kallsyms and System.map are read this way, never whole). */
export async function scanFile(file: string, scanner: SymbolLineScanner): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  const fh = await open(file, 'r');
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      scanner.push(buf, bytesRead);
    }
  } finally {
    await fh.close();
  }
}
