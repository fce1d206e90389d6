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
import { open } from 'node:fs/promises';
import { restrictedError, type KallsymsContext } from './kallsyms.js';
import { SymbolLineScanner } from './symbol-line-scanner.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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

/** Bytes per name block: names go into fixed blocks that are never copied or regrown. */
const NAME_BLOCK = 256 * 1024;

/** A copy of a typed array with room for `cap` elements. */
function grown<T extends Uint8Array | Uint16Array | Uint32Array>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}

/**
 * Growable columns of candidate symbols, in file order. Names are UTF-8 bytes in a list of fixed
 * blocks (a name never spans two): growing by doubling one buffer left ~8 MB of garbage buffers per
 * kallsyms load, which stayed resident until the next major GC.
 */
class Columns {
  n = 0;
  hi = new Uint32Array(1024);
  lo = new Uint32Array(1024);
  rank = new Uint8Array(1024);
  module = new Uint16Array(1024);
  /** Candidate i's name: global byte range [nameOff[i], nameEnd[i]) of the blocks, block = offset / NAME_BLOCK. */
  nameOff = new Uint32Array(1024);
  nameEnd = new Uint32Array(1024);
  readonly nameBlocks: Uint8Array[] = [];
  /** Next free global name offset. */
  #nameTop = 0;
  readonly modules: (string | null)[] = [null];
  readonly #moduleIds = new Map<string | null, number>([[null, 0]]);

  moduleId(module: string | null): number {
    let id = this.#moduleIds.get(module);
    if (id === undefined) {
      id = this.modules.length;
      this.modules.push(module);
      this.#moduleIds.set(module, id);
    }
    return id;
  }

  push(hi: number, lo: number, type: string, name: string, module: string | null): void {
    const bytes = encoder.encode(name);
    this.#add(hi, lo, rankOf(type, name), this.moduleId(module), bytes, 0, bytes.length);
  }

  /** Same as push, with the name as bytes (rank from the bytes: '_' is one byte in UTF-8). */
  pushBytes(hi: number, lo: number, type: number, buf: Uint8Array, nameStart: number, nameEnd: number, moduleId: number): void {
    const len = nameEnd - nameStart;
    let u = 0;
    while (u < len && u < 127 && buf[nameStart + u] === 95) u++;
    this.#add(hi, lo, (type === 119 || type === 87 ? 128 : 0) + u, moduleId, buf, nameStart, nameEnd);
  }

  /** The name of candidate i as a view into its block. */
  name(i: number): Uint8Array {
    const off = this.nameOff[i]!;
    const block = Math.floor(off / NAME_BLOCK);
    const start = off - block * NAME_BLOCK;
    return this.nameBlocks[block]!.subarray(start, start + (this.nameEnd[i]! - off));
  }

  #add(hi: number, lo: number, rank: number, moduleId: number, buf: Uint8Array, nameStart: number, nameEnd: number): void {
    if (this.n === this.hi.length) this.#grow();
    const len = nameEnd - nameStart;
    let off = this.#nameTop;
    const used = off % NAME_BLOCK;
    let top = off + len;
    if (this.nameBlocks.length === 0 || (off > 0 && used === 0) || used + len > NAME_BLOCK) {
      // A new block; a name longer than a block gets one buffer over several block slots, and the
      // next name starts a new block.
      off = this.nameBlocks.length * NAME_BLOCK;
      const slots = Math.max(1, Math.ceil(len / NAME_BLOCK));
      this.nameBlocks.push(new Uint8Array(slots * NAME_BLOCK));
      for (let k = 1; k < slots; k++) this.nameBlocks.push(new Uint8Array(0));
      top = slots > 1 ? this.nameBlocks.length * NAME_BLOCK : off + len;
    }
    const block = Math.floor(off / NAME_BLOCK);
    this.nameBlocks[block]!.set(buf.subarray(nameStart, nameEnd), off - block * NAME_BLOCK);
    this.#nameTop = top;
    const i = this.n++;
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.rank[i] = rank;
    this.module[i] = moduleId;
    this.nameOff[i] = off;
    this.nameEnd[i] = off + len;
  }

  #grow(): void {
    const cap = this.hi.length * 2;
    this.hi = grown(this.hi, cap);
    this.lo = grown(this.lo, cap);
    this.rank = grown(this.rank, cap);
    this.module = grown(this.module, cap);
    this.nameOff = grown(this.nameOff, cap);
    this.nameEnd = grown(this.nameEnd, cap);
  }

}

/**
 * Collects the text symbols of kallsyms/System.map lines from a SymbolLineScanner, and checks for the
 * all-zero (restricted) kallsyms.
 */
class TableBuilder {
  readonly columns = new Columns();
  readonly scanner: SymbolLineScanner;
  #nonZero = false;
  /** The last module's name as bytes and its id: module lines come in runs. */
  #lastModule = new Uint8Array(64);
  #lastModuleLength = -1;
  #lastModuleId = 0;

  constructor(
    readonly source: string,
    readonly allowModules: boolean,
    readonly kptrRestrict: number | null | undefined,
  ) {
    this.scanner = new SymbolLineScanner(source, allowModules, (buf, hi, lo, type, nameStart, nameEnd, modStart, modEnd) => {
      if (hi !== 0 || lo !== 0) this.#nonZero = true;
      // t T w W
      if (type !== 116 && type !== 84 && type !== 119 && type !== 87) return;
      const moduleId = modStart < 0 ? 0 : this.#moduleId(buf, modStart, modEnd);
      this.columns.pushBytes(hi, lo, type, buf, nameStart, nameEnd, moduleId);
    });
  }

  #moduleId(buf: Uint8Array, start: number, end: number): number {
    const len = end - start;
    if (len === this.#lastModuleLength) {
      let same = true;
      for (let k = 0; k < len; k++) {
        if (this.#lastModule[k] !== buf[start + k]) {
          same = false;
          break;
        }
      }
      if (same) return this.#lastModuleId;
    }
    if (len > this.#lastModule.length) this.#lastModule = new Uint8Array(len);
    this.#lastModule.set(buf.subarray(start, end));
    this.#lastModuleLength = len;
    this.#lastModuleId = this.columns.moduleId(decoder.decode(buf.subarray(start, end)));
    return this.#lastModuleId;
  }

  finish(): SymbolTable {
    const total = this.scanner.end();
    if (this.allowModules && total > 0 && !this.#nonZero) throw restrictedError(this.source, total, this.kptrRestrict);
    return SymbolTable.fromColumns(this.columns);
  }
}

type LoadContext = KallsymsContext & { allowModules?: boolean };

function builderFor(ctx: LoadContext): TableBuilder {
  return new TableBuilder(ctx.source ?? '/proc/kallsyms', ctx.allowModules ?? true, ctx.kptrRestrict);
}

/** Read size: one 64 KB buffer per load, reused for every read. */
const READ_SIZE = 64 * 1024;

export class SymbolTable implements Symbolizer {
  readonly #addresses: BigUint64Array;
  /** Names as UTF-8 bytes; symbol k's name is #names[#nameStart[k], #nameStart[k + 1]). */
  readonly #names: Buffer;
  readonly #nameStart: Uint32Array;
  readonly #moduleIndex: Uint16Array;
  /** Index 0 is the core kernel (null). */
  readonly #modules: readonly (string | null)[];

  /** Sorts the candidates, keeps the preferred symbol per address and lays out the columns. */
  private constructor(c: Columns) {
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

  /** @internal The table of a finished TableBuilder. */
  static fromColumns(c: Columns): SymbolTable {
    return new SymbolTable(c);
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
   * symbols. Same errors as parseKallsyms.
   */
  static fromText(text: string, ctx: LoadContext = {}): SymbolTable {
    const b = builderFor(ctx);
    b.scanner.push(encoder.encode(text));
    return b.finish();
  }

  /**
   * Streams a kallsyms (or System.map, with `allowModules` false) file through one 64 KB buffer: what
   * the symbolizer loads at start. Same errors as fromText; a file that cannot be read rejects with
   * the fs error.
   */
  static async fromFile(file: string, ctx: LoadContext = {}): Promise<SymbolTable> {
    const b = builderFor({ source: file, ...ctx });
    const buf = new Uint8Array(READ_SIZE);
    const fh = await open(file, 'r');
    try {
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        b.scanner.push(buf, bytesRead);
      }
    } finally {
      await fh.close();
    }
    return b.finish();
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
