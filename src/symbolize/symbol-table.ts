/**
 * Sorted table of kernel text symbols with binary-search lookup. A symbol's size is the distance to the
 * next symbol of the same region (core kernel or one module). The last symbol of a region has no known
 * end, so only its own address resolves to it: an address past it gives null, not a wild offset.
 */
import type { KernelSymbol, Resolved, Symbolizer } from './types.js';

const TEXT_TYPES = new Set(['t', 'T', 'w', 'W']);

export function isTextSymbol(s: KernelSymbol): boolean {
  return TEXT_TYPES.has(s.type);
}

/**
 * Among symbols at the same address, which one names it (like scripts/kallsyms.c): non-weak before weak,
 * then fewer leading underscores, then the earlier one in the file. Negative when a is preferred.
 */
export function preferSymbol(a: KernelSymbol, ai: number, b: KernelSymbol, bi: number): number {
  const weak = (s: KernelSymbol) => (s.type === 'w' || s.type === 'W' ? 1 : 0);
  const underscores = (s: KernelSymbol) => /^_*/.exec(s.name)?.[0].length ?? 0;
  return weak(a) - weak(b) || underscores(a) - underscores(b) || ai - bi;
}

interface Entry {
  readonly address: bigint;
  readonly name: string;
  readonly module: string | null;
  /** Next symbol's address in the same region, or null for the last of its region. */
  readonly end: bigint | null;
}

export class SymbolTable implements Symbolizer {
  readonly #entries: readonly Entry[];

  private constructor(entries: readonly Entry[]) {
    this.#entries = entries;
  }

  static from(symbols: readonly KernelSymbol[]): SymbolTable {
    const text = symbols.map((s, i) => ({ s, i })).filter(({ s }) => isTextSymbol(s));
    text.sort((x, y) => (x.s.address < y.s.address ? -1 : x.s.address > y.s.address ? 1 : preferSymbol(x.s, x.i, y.s, y.i)));
    // One symbol per address: the preferred one comes first after the sort.
    const unique: KernelSymbol[] = [];
    for (const { s } of text) {
      const last = unique[unique.length - 1];
      if (last !== undefined && last.address === s.address) continue;
      unique.push(s);
    }
    const entries: Entry[] = unique.map((s, i) => {
      const next = unique[i + 1];
      const end = next !== undefined && next.module === s.module ? next.address : null;
      return { address: s.address, name: s.name, module: s.module, end };
    });
    return new SymbolTable(entries);
  }

  /** Number of distinct text symbol addresses. */
  get size(): number {
    return this.#entries.length;
  }

  resolve(address: bigint): Resolved | null {
    const e = this.#entries;
    let lo = 0;
    let hi = e.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const entry = e[mid];
      if (entry === undefined) break;
      if (entry.address <= address) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const entry = e[found];
    if (entry === undefined) return null;
    const offset = address - entry.address;
    if (entry.end === null) {
      if (offset !== 0n) return null;
      return { function: entry.name, offset: 0, size: null, module: entry.module };
    }
    return { function: entry.name, offset: Number(offset), size: Number(entry.end - entry.address), module: entry.module };
  }
}
