/**
 * Builds minimal raw BTF blobs for tests: a few enums (and one int and struct so the walker skips other
 * kinds), as vmlinux (base) or as a module's split BTF on top of a base.
 */
export interface EnumSpec {
  readonly name: string;
  readonly values: readonly (readonly [string, number])[];
  /** enum64 (kind 19) instead of enum (kind 6). */
  readonly wide?: boolean;
  readonly signed?: boolean;
}

export interface BtfSpec {
  readonly enums: readonly EnumSpec[];
  readonly bigEndian?: boolean;
  /** Split BTF on top of this base blob (string offsets continue after the base's string section). */
  readonly base?: Uint8Array;
}

function baseStrings(base: Uint8Array): string[] {
  const v = new DataView(base.buffer, base.byteOffset, base.byteLength);
  const hdr = v.getUint32(4, true);
  const off = v.getUint32(16, true);
  const len = v.getUint32(20, true);
  return Buffer.from(base.subarray(hdr + off, hdr + off + len)).toString('latin1').split('\0').slice(0, -1);
}

export function buildBtf(spec: BtfSpec): Uint8Array {
  const le = spec.bigEndian !== true;
  const inherited = spec.base === undefined ? [] : baseStrings(spec.base);
  const baseLen = inherited.reduce((n, s) => n + Buffer.byteLength(s) + 1, 0);
  const strings: string[] = spec.base === undefined ? [''] : [];
  const strOff = (s: string): number => {
    // Strings the base has are referenced there (like pahole's dedup against vmlinux).
    let off = 0;
    for (const x of inherited) {
      if (x === s) return off;
      off += Buffer.byteLength(x) + 1;
    }
    off = baseLen;
    for (const x of strings) {
      if (x === s) return off;
      off += Buffer.byteLength(x) + 1;
    }
    strings.push(s);
    return off;
  };
  const words: number[] = [];
  const type = (name: string, kind: number, vlen: number, sizeOrType: number, signed = false) =>
    words.push(name === '' ? 0 : strOff(name), ((signed ? 1 : 0) << 31 | (kind << 24) | vlen) >>> 0, sizeOrType);
  if (spec.base === undefined) {
    type('int', 1, 0, 4);
    words.push(0x01000020);
    type('pair', 4, 1, 8);
    words.push(strOff('a'), 1, 0);
  }
  for (const e of spec.enums) {
    if (e.wide === true) {
      type(e.name, 19, e.values.length, 8, e.signed ?? false);
      for (const [n, v] of e.values) {
        const big = BigInt.asUintN(64, BigInt(v));
        words.push(strOff(n), Number(big & 0xffffffffn), Number(big >> 32n));
      }
    } else {
      type(e.name, 6, e.values.length, 4, e.signed ?? false);
      for (const [n, v] of e.values) words.push(strOff(n), v >>> 0);
    }
  }
  const typeBytes = words.length * 4;
  const strBuf = Buffer.concat(strings.map((s) => Buffer.from(`${s}\0`)));
  const buf = Buffer.alloc(24 + typeBytes + strBuf.length);
  const w16 = (v: number, o: number) => (le ? buf.writeUInt16LE(v, o) : buf.writeUInt16BE(v, o));
  const w32 = (v: number, o: number) => (le ? buf.writeUInt32LE(v, o) : buf.writeUInt32BE(v, o));
  w16(0xeb9f, 0);
  buf[2] = 1;
  w32(24, 4);
  w32(0, 8);
  w32(typeBytes, 12);
  w32(typeBytes, 16);
  w32(strBuf.length, 20);
  words.forEach((v, i) => w32(v >>> 0, 24 + i * 4));
  strBuf.copy(buf, 24 + typeBytes);
  return new Uint8Array(buf);
}
