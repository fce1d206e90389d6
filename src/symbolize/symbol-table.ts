/**
 * Sorted table of kernel text symbols with binary-search lookup. A symbol's size is the distance to the
 * next symbol of the same region (core kernel or one module). The last symbol of a region has no known
 * end, so only its own address resolves to it: an address past it gives null, not a wild offset.
 *
 * Storage is columnar (typed arrays and one flat string of names): ~120k symbols cost a few MB instead
 * of tens of MB of objects, and loading /proc/kallsyms allocates no object per symbol, which keeps the
 * long-running agent's RSS down (a process keeps the high-water mark of its heap).
 */
import type { KernelSymbol, Resolved, Symbolizer } from './types.js';
import { restrictedError, visitSymbolLines, type KallsymsContext } from './kallsyms.js';

const TEXT_TYPES = new Set(['t', 'T', 'w', 'W']);

export function isTextSymbol(s: KernelSymbol): boolean {
  return TEXT_TYPES.has(s.type);
}

/**
 * Among symbols at the same address, which one names it (like scripts/kallsyms.c): non-weak before weak,
 * then fewer leading underscores, then the earlier one in the file. Negative when a is preferred.
 */
export function preferSymbol(a: KernelSymbol, ai: number, b: KernelSymbol, bi: number): number {
  return rankOf(a.type, a.name) - rankOf(b.type, b.name) || ai - bi;
}

/** preferSymbol's order as one number: weak after non-weak, then fewer leading underscores. */
function rankOf(type: string, name: string): number {
  let u = 0;
  while (u < name.length && u < 127 && name.charCodeAt(u) === 95) u++;
  return (type === 'w' || type === 'W' ? 128 : 0) + u;
}

/** Growable columns of candidate symbols, in file order. */
class Columns {
  n = 0;
  hi = new Uint32Array(1024);
  lo = new Uint32Array(1024);
  rank = new Uint8Array(1024);
  module = new Uint16Array(1024);
  names: string[] = [];
  readonly modules: (string | null)[] = [null];
  readonly #moduleIds = new Map<string | null, number>([[null, 0]]);

  push(hi: number, lo: number, type: string, name: string, module: string | null): void {
    if (this.n === this.hi.length) this.#grow();
    let id = this.#moduleIds.get(module);
    if (id === undefined) {
      id = this.modules.length;
      this.modules.push(module);
      this.#moduleIds.set(module, id);
    }
    const i = this.n++;
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.rank[i] = rankOf(type, name);
    this.module[i] = id;
    this.names.push(name);
  }

  #grow(): void {
    const cap = this.hi.length * 2;
    const hi = new Uint32Array(cap);
    hi.set(this.hi);
    this.hi = hi;
    const lo = new Uint32Array(cap);
    lo.set(this.lo);
    this.lo = lo;
    const rank = new Uint8Array(cap);
    rank.set(this.rank);
    this.rank = rank;
    const module = new Uint16Array(cap);
    module.set(this.module);
    this.module = module;
  }
}

export class SymbolTable implements Symbolizer {
  readonly #addresses: BigUint64Array;
  /** Next symbol's address in the same region, or 0 for the last of its region. */
  readonly #ends: BigUint64Array;
  readonly #names: string;
  readonly #nameStart: Uint32Array;
  readonly #moduleIndex: Uint16Array;
  /** Index 0 is the core kernel (null). */
  readonly #modules: readonly (string | null)[];

  /** Sorts the candidates, keeps the preferred symbol per address and lays out the columns. */
  private constructor(c: Columns) {
    const order = Array.from({ length: c.n }, (_, i) => i);
    order.sort((x, y) => c.hi[x]! - c.hi[y]! || c.lo[x]! - c.lo[y]! || c.rank[x]! - c.rank[y]! || x - y);
    const kept: number[] = [];
    for (const i of order) {
      const last = kept[kept.length - 1];
      if (last !== undefined && c.hi[last] === c.hi[i] && c.lo[last] === c.lo[i]) continue;
      kept.push(i);
    }
    const n = kept.length;
    this.#addresses = new BigUint64Array(n);
    this.#ends = new BigUint64Array(n);
    this.#nameStart = new Uint32Array(n + 1);
    this.#moduleIndex = new Uint16Array(n);
    const names: string[] = new Array<string>(n);
    let offset = 0;
    for (let k = 0; k < n; k++) {
      const i = kept[k]!;
      this.#addresses[k] = (BigInt(c.hi[i]!) << 32n) | BigInt(c.lo[i]!);
      this.#moduleIndex[k] = c.module[i]!;
      this.#nameStart[k] = offset;
      names[k] = c.names[i]!;
      offset += c.names[i]!.length;
    }
    this.#nameStart[n] = offset;
    for (let k = 0; k + 1 < n; k++) {
      if (this.#moduleIndex[k] === this.#moduleIndex[k + 1]) this.#ends[k] = this.#addresses[k + 1]!;
    }
    // One flat string: keeps no slices of the (large) source text alive.
    this.#names = names.join('');
    this.#modules = c.modules;
  }

  static from(symbols: readonly KernelSymbol[]): SymbolTable {
    const c = new Columns();
    for (const s of symbols) {
      if (!isTextSymbol(s)) continue;
      c.push(Number(s.address >> 32n), Number(s.address & 0xffffffffn), s.type, s.name, s.module);
    }
    return new SymbolTable(c);
  }

  /**
   * Straight from /proc/kallsyms (or System.map, with `allowModules` false) text, keeping only text
   * symbols: what the symbolizer loads at start and on reload. Same errors as parseKallsyms.
   */
  static fromText(text: string, ctx: KallsymsContext & { allowModules?: boolean } = {}): SymbolTable {
    const source = ctx.source ?? '/proc/kallsyms';
    const allowModules = ctx.allowModules ?? true;
    const c = new Columns();
    let nonZero = false;
    const total = visitSymbolLines(text, source, allowModules, (addr, type, name, module) => {
      const hi = addr.length > 8 ? parseInt(addr.slice(0, -8), 16) : 0;
      const lo = parseInt(addr.slice(-8), 16);
      if (hi !== 0 || lo !== 0) nonZero = true;
      if (TEXT_TYPES.has(type)) c.push(hi, lo, type, name, module);
    });
    if (allowModules && total > 0 && !nonZero) throw restrictedError(source, total, ctx.kptrRestrict);
    return new SymbolTable(c);
  }

  /** Number of distinct text symbol addresses. */
  get size(): number {
    return this.#addresses.length;
  }

  resolve(address: bigint): Resolved | null {
    const a = this.#addresses;
    let lo = 0;
    let hi = a.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! <= address) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return null;
    const start = a[found]!;
    const end = this.#ends[found]!;
    const name = this.#names.slice(this.#nameStart[found]!, this.#nameStart[found + 1]!);
    const module = this.#modules[this.#moduleIndex[found]!] ?? null;
    const offset = address - start;
    if (end === 0n) {
      if (offset !== 0n) return null;
      return { function: name, offset: 0, size: null, module };
    }
    return { function: name, offset: Number(offset), size: Number(end - start), module };
  }
}
