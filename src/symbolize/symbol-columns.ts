/**
 * Growable columns of candidate kernel symbols, in file order, before SymbolTable sorts and compacts
 * them: typed arrays plus UTF-8 names in fixed blocks.
 */
const encoder = new TextEncoder();

/** preferSymbol's order as one number: weak after non-weak, then fewer leading underscores. */
export function rankOf(type: string, name: string): number {
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
export class SymbolColumns {
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
