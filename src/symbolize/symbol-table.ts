/**
 * Sorted table of kernel text symbols with binary-search lookup. A symbol's size is the distance to the
 * next symbol of the same region (core kernel or one module). The last symbol of a region has no known
 * end, so only its own address resolves to it: an address past it gives null, not a wild offset.
 *
 * Storage is columnar (typed arrays and one buffer of UTF-8 names, decoded on lookup): ~120k symbols
 * cost ~5 MB outside the JS heap instead of tens of MB of objects, and loading /proc/kallsyms streams
 * the file through a 64 KB buffer without a string per line, which keeps the long-running agent's RSS
 * down (V8 keeps the high-water mark of its heap: loading from one big string cost ~45 MB of RSS).
 */
import type { KernelSymbol, Resolved, Symbolizer } from './types.js';
import { SymbolColumns, rankOf } from './symbol-columns.js';
import { columnsFromFile, columnsFromText, type LoadContext } from './symbol-table-builder.js';

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

export class SymbolTable implements Symbolizer {
  readonly #addresses: BigUint64Array;
  /** Names as UTF-8 bytes; symbol k's name is #names[#nameStart[k], #nameStart[k + 1]). */
  readonly #names: Buffer;
  readonly #nameStart: Uint32Array;
  readonly #moduleIndex: Uint16Array;
  /** Index 0 is the core kernel (null). */
  readonly #modules: readonly (string | null)[];

  /** Sorts the candidates, keeps the preferred symbol per address and lays out the columns. */
  private constructor(c: SymbolColumns) {
    const { hi: chi, lo: clo, rank: crank } = c;
    const order = new Uint32Array(c.n);
    for (let i = 0; i < c.n; i++) order[i] = i;
    order.sort((x, y) => chi[x]! - chi[y]! || clo[x]! - clo[y]! || crank[x]! - crank[y]! || x - y);
    const kept = new Uint32Array(c.n);
    let n = 0;
    for (const i of order) {
      if (n > 0) {
        const last = kept[n - 1]!;
        if (chi[last] === chi[i] && clo[last] === clo[i]) continue;
      }
      kept[n++] = i;
    }
    this.#addresses = new BigUint64Array(n);
    this.#nameStart = new Uint32Array(n + 1);
    this.#moduleIndex = new Uint16Array(n);
    let bytes = 0;
    for (let k = 0; k < n; k++) {
      const i = kept[k]!;
      bytes += c.nameEnd[i]! - c.nameOff[i]!;
    }
    // A compact copy: keeps nothing of the (larger) candidate columns alive.
    this.#names = Buffer.allocUnsafeSlow(bytes);
    let offset = 0;
    for (let k = 0; k < n; k++) {
      const i = kept[k]!;
      this.#addresses[k] = (BigInt(chi[i]!) << 32n) | BigInt(clo[i]!);
      this.#moduleIndex[k] = c.module[i]!;
      this.#nameStart[k] = offset;
      const name = c.name(i);
      this.#names.set(name, offset);
      offset += name.length;
    }
    this.#nameStart[n] = offset;
    this.#modules = c.modules;
  }

  static from(symbols: readonly KernelSymbol[]): SymbolTable {
    const c = new SymbolColumns();
    for (const s of symbols) {
      if (!isTextSymbol(s)) continue;
      c.push(Number(s.address >> 32n), Number(s.address & 0xffffffffn), s.type, s.name, s.module);
    }
    return new SymbolTable(c);
  }

  /**
   * Straight from /proc/kallsyms (or System.map, with `allowModules` false) text, keeping only text
   * symbols. Same errors as parseKallsyms.
   */
  static fromText(text: string, ctx: LoadContext = {}): SymbolTable {
    return new SymbolTable(columnsFromText(text, ctx));
  }

  /**
   * Streams a kallsyms (or System.map, with `allowModules` false) file through one 64 KB buffer: what
   * the symbolizer loads at start. Same errors as fromText; a file that cannot be read rejects with
   * the fs error.
   */
  static async fromFile(file: string, ctx: LoadContext = {}): Promise<SymbolTable> {
    return new SymbolTable(await columnsFromFile(file, ctx));
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
    // A symbol ends where the next one of the same region (core kernel or one module) starts.
    const end = found + 1 < a.length && this.#moduleIndex[found] === this.#moduleIndex[found + 1] ? a[found + 1]! : 0n;
    const name = this.#names.toString('utf8', this.#nameStart[found]!, this.#nameStart[found + 1]!);
    const module = this.#modules[this.#moduleIndex[found]!] ?? null;
    const offset = address - start;
    if (end === 0n) {
      if (offset !== 0n) return null;
      return { function: name, offset: 0, size: null, module };
    }
    return { function: name, offset: Number(offset), size: Number(end - start), module };
  }
}
