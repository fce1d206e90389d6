/**
 * One streaming pass over /proc/kallsyms that resolves a set of addresses without building a table:
 * what the agent's StreamingSymbolizer does instead of holding ~120k symbols (~5 MB) for its whole life.
 *
 * The pending addresses A[0..k) are sorted. A text symbol at x falls into bucket p = lowerBound(A, x)
 * (A[p-1] < x <= A[p]); each bucket keeps only its greatest start (name, module, rank: the symbol that
 * names the address, as SymbolTable's preferSymbol picks it) and its least start (the next symbol's
 * address and module). After the pass, A[j]'s symbol is the greatest start of buckets 0..j and its end
 * the least start of buckets j+1..k: the same function, offset, size and module as SymbolTable gives.
 * Cost: O(lines * log k) compares and no allocation per line; memory O(k).
 */
import { restrictedError, type KallsymsContext } from './kallsyms.js';
import { SymbolLineScanner, scanFile } from './symbol-line-scanner.js';
import type { Resolved } from './types.js';

const decoder = new TextDecoder();

/** preferSymbol's order of the bytes of a name: weak after non-weak, then fewer leading underscores. */
function rankOfBytes(type: number, buf: Uint8Array, start: number, end: number): number {
  let u = 0;
  while (start + u < end && u < 127 && buf[start + u] === 95) u++;
  return (type === 119 || type === 87 ? 128 : 0) + u;
}

/** Per bucket: its greatest start (with the name) and its least start. Index k+1 buckets. */
class Buckets {
  readonly maxHi: Uint32Array;
  readonly maxLo: Uint32Array;
  readonly maxRank: Uint8Array;
  readonly maxModule: Uint16Array;
  readonly maxName: (Uint8Array | null)[];
  readonly maxNameLen: Uint16Array;
  readonly minHi: Uint32Array;
  readonly minLo: Uint32Array;
  readonly minRank: Uint8Array;
  readonly minModule: Uint16Array;
  /** 0: empty bucket. */
  readonly used: Uint8Array;

  constructor(n: number) {
    this.maxHi = new Uint32Array(n);
    this.maxLo = new Uint32Array(n);
    this.maxRank = new Uint8Array(n);
    this.maxModule = new Uint16Array(n);
    this.maxName = Array.from({ length: n }, () => null);
    this.maxNameLen = new Uint16Array(n);
    this.minHi = new Uint32Array(n);
    this.minLo = new Uint32Array(n);
    this.minRank = new Uint8Array(n);
    this.minModule = new Uint16Array(n);
    this.used = new Uint8Array(n);
  }

  setName(p: number, buf: Uint8Array, start: number, end: number): void {
    const len = Math.min(end - start, 0xffff);
    let b = this.maxName[p] ?? null;
    if (b === null || b.length < len) this.maxName[p] = b = new Uint8Array(Math.max(64, len));
    // Byte by byte: a subarray per call was ~12 MB of garbage per pass (one address; a line improves
    // the bucket at nearly every line of the sorted core kernel).
    for (let i = 0; i < len; i++) b[i] = buf[start + i]!;
    this.maxNameLen[p] = len;
  }
}

/** Module names of one pass by id (0: the core kernel), interned by runs: module lines come in runs. */
class ModuleIds {
  readonly names: (string | null)[] = [null];
  readonly #ids = new Map<string, number>();
  #last = new Uint8Array(64);
  #lastLen = -1;
  #lastId = 0;

  id(buf: Uint8Array, start: number, end: number): number {
    if (start < 0) return 0;
    const len = end - start;
    if (len === this.#lastLen) {
      let k = 0;
      while (k < len && this.#last[k] === buf[start + k]) k++;
      if (k === len) return this.#lastId;
    }
    if (len > this.#last.length) this.#last = new Uint8Array(len);
    this.#last.set(buf.subarray(start, end));
    this.#lastLen = len;
    const name = decoder.decode(buf.subarray(start, end));
    let id = this.#ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.#ids.set(name, id);
    }
    this.#lastId = id;
    return id;
  }
}

/**
 * Resolves `addresses` (any order, duplicates allowed) with one pass over a kallsyms file; answers in the
 * order given. An empty list only checks the file: KALLSYMS_PARSE for a line of another shape,
 * KALLSYMS_RESTRICTED when every address is zero; a file that cannot be read rejects with the fs error.
 */
export async function resolveInOnePass(file: string, addresses: readonly bigint[], ctx: KallsymsContext = {}): Promise<(Resolved | null)[]> {
  const sorted = [...new Set(addresses)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const k = sorted.length;
  const aHi = new Uint32Array(k);
  const aLo = new Uint32Array(k);
  for (let j = 0; j < k; j++) {
    aHi[j] = Number(sorted[j]! >> 32n);
    aLo[j] = Number(sorted[j]! & 0xffffffffn);
  }
  const b = new Buckets(k + 1);
  const modules = new ModuleIds();
  let nonZero = false;
  const source = ctx.source ?? file;
  const scanner = new SymbolLineScanner(source, true, (buf, hi, lo, type, nameStart, nameEnd, modStart, modEnd) => {
    if (hi !== 0 || lo !== 0) nonZero = true;
    // t T w W
    if (type !== 116 && type !== 84 && type !== 119 && type !== 87) return;
    // p = lowerBound(A, x): the first j with A[j] >= x.
    let l = 0;
    let h = k;
    while (l < h) {
      const m = (l + h) >>> 1;
      if (aHi[m]! < hi || (aHi[m] === hi && aLo[m]! < lo)) l = m + 1;
      else h = m;
    }
    const p = l;
    const rank = rankOfBytes(type, buf, nameStart, nameEnd);
    if (b.used[p] === 0) {
      b.used[p] = 1;
      const mod = modules.id(buf, modStart, modEnd);
      b.maxHi[p] = b.minHi[p] = hi;
      b.maxLo[p] = b.minLo[p] = lo;
      b.maxRank[p] = b.minRank[p] = rank;
      b.maxModule[p] = b.minModule[p] = mod;
      b.setName(p, buf, nameStart, nameEnd);
      return;
    }
    const mh = b.maxHi[p]!;
    const ml = b.maxLo[p]!;
    // A later line at the same address names it only with a strictly better rank (the earlier one wins ties).
    if (hi > mh || (hi === mh && (lo > ml || (lo === ml && rank < b.maxRank[p]!)))) {
      b.maxHi[p] = hi;
      b.maxLo[p] = lo;
      b.maxRank[p] = rank;
      b.maxModule[p] = modules.id(buf, modStart, modEnd);
      b.setName(p, buf, nameStart, nameEnd);
    }
    const nh = b.minHi[p]!;
    const nl = b.minLo[p]!;
    if (hi < nh || (hi === nh && (lo < nl || (lo === nl && rank < b.minRank[p]!)))) {
      b.minHi[p] = hi;
      b.minLo[p] = lo;
      b.minRank[p] = rank;
      b.minModule[p] = modules.id(buf, modStart, modEnd);
    }
  });
  await scanFile(file, scanner);
  const total = scanner.end();
  if (total > 0 && !nonZero) throw restrictedError(source, total, ctx.kptrRestrict);
  const bySorted = answers(sorted, b, modules.names);
  const at = new Map<bigint, Resolved | null>();
  for (let j = 0; j < k; j++) at.set(sorted[j]!, bySorted[j]!);
  return addresses.map((a) => at.get(a) ?? null);
}

/** Prefix max of the buckets' greatest starts and suffix min of their least starts, per address. */
function answers(sorted: readonly bigint[], b: Buckets, modules: readonly (string | null)[]): (Resolved | null)[] {
  const k = sorted.length;
  // next[j]: the first used bucket after j (k + 1: none).
  const next = new Uint32Array(k + 1);
  let n = k + 1;
  for (let p = k; p >= 0; p--) {
    next[p] = n;
    if (b.used[p] === 1) n = p;
  }
  const out: (Resolved | null)[] = [];
  let last = -1;
  const names = new Map<number, string>();
  for (let j = 0; j < k; j++) {
    if (b.used[j] === 1) last = j;
    if (last < 0) {
      out.push(null);
      continue;
    }
    const start = (BigInt(b.maxHi[last]!) << 32n) | BigInt(b.maxLo[last]!);
    let name = names.get(last);
    if (name === undefined) {
      name = decoder.decode(b.maxName[last]!.subarray(0, b.maxNameLen[last]!));
      names.set(last, name);
    }
    const module = modules[b.maxModule[last]!] ?? null;
    const offset = sorted[j]! - start;
    const q = next[j]!;
    // A symbol ends where the next one of the same region (core kernel or one module) starts.
    if (q <= k && b.minModule[q] === b.maxModule[last]) {
      const end = (BigInt(b.minHi[q]!) << 32n) | BigInt(b.minLo[q]!);
      out.push({ function: name, offset: Number(offset), size: Number(end - start), module });
    } else out.push(offset === 0n ? { function: name, offset: 0, size: null, module } : null);
  }
  return out;
}
