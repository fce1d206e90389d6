/**
 * Enums from a raw BTF file without holding the file: the type section is walked in 256 KB reads, and
 * only the strings asked for (the enums' names, then the wanted enums' enumerator names) are read from
 * the string section, in offset order. /sys/kernel/btf/vmlinux is 5.5 MB here; read whole (readFile) it
 * was the agent's largest start-up buffer, resident until V8's next full collection (docs/performance.md).
 * Same answers as parseBtfEnums (btf-enums.ts) on the whole blob, and FORMAT_PARSE for the same files.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { BTF_MAGIC, KIND, btfError, extraBytes, type BtfBase } from './btf-enums.js';

/** 256 KB: ~25 reads for vmlinux (5.5 MB), each a trip through the thread pool that the counters and the /proc scan share at start. */
const CHUNK = 256 * 1024;

interface FileLayout {
  readonly le: boolean;
  readonly typeStart: number;
  readonly typeEnd: number;
  readonly strStart: number;
  readonly strLen: number;
}

async function readAt(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

async function fileLayout(fh: FileHandle, size: number, buf: Buffer): Promise<FileLayout> {
  if (size < 24) throw btfError('file too short for a header', 'at least 24 bytes', `${size} bytes`);
  await readAt(fh, buf, 24, 0);
  let le = true;
  const magic = buf.readUInt16LE(0);
  if (magic !== BTF_MAGIC) {
    if (buf.readUInt16BE(0) === BTF_MAGIC) le = false;
    else throw btfError('bad magic', '0xeb9f', `0x${magic.toString(16)}`);
  }
  const u32 = (off: number): number => (le ? buf.readUInt32LE(off) : buf.readUInt32BE(off));
  const hdrLen = u32(4);
  const typeStart = hdrLen + u32(8);
  const typeEnd = typeStart + u32(12);
  const strStart = hdrLen + u32(16);
  const strLen = u32(20);
  if (typeEnd > size || strStart + strLen > size || hdrLen < 24) {
    throw btfError('sections outside the file', `type and string sections within ${size} bytes`, `types ${typeStart}..${typeEnd}, strings ${strStart}..${strStart + strLen}`);
  }
  return { le, typeStart, typeEnd, strStart, strLen };
}

/** NUL-terminated strings of the string section at the given offsets, read in windows in offset order. */
async function readStrings(fh: FileHandle, l: FileLayout, offsets: Iterable<number>, base: BtfBase | undefined, chunk: number): Promise<Map<number, string>> {
  const decoder = new TextDecoder();
  const baseLen = base?.strings.byteLength ?? 0;
  const out = new Map<number, string>();
  let win = Buffer.allocUnsafe(chunk);
  let winStart = 0;
  let winLen = 0;
  for (const off of [...new Set(offsets)].sort((a, b) => a - b)) {
    if (base !== undefined && off < baseLen) {
      let end = off;
      while (end < baseLen && base.strings[end] !== 0) end++;
      out.set(off, decoder.decode(base.strings.subarray(off, end)));
      continue;
    }
    const local = off - baseLen;
    if (local >= l.strLen) throw btfError('string offset outside the string section', `< ${baseLen + l.strLen}`, String(off));
    for (;;) {
      const inWin = local >= winStart && local < winStart + winLen;
      const nul = inWin ? win.indexOf(0, local - winStart) : -1;
      if (inWin && (nul >= 0 && nul < winLen)) {
        out.set(off, decoder.decode(win.subarray(local - winStart, nul)));
        break;
      }
      if (inWin && winStart + winLen >= l.strLen) {
        out.set(off, decoder.decode(win.subarray(local - winStart, winLen)));
        break;
      }
      // Not in the window, or cut by its end: a window from here (twice as long if one was not enough).
      const want = inWin && winStart === local ? win.length * 2 : chunk;
      if (want > win.length) win = Buffer.allocUnsafe(want);
      winStart = local;
      winLen = await readAt(fh, win, Math.min(want, l.strLen - local), l.strStart + local);
      if (winLen === 0) throw btfError('string section cut short', `${l.strLen} bytes`, `${local} bytes`);
    }
  }
  return out;
}

interface EnumAt {
  readonly nameOff: number;
  readonly kind: number;
  readonly vlen: number;
  readonly signed: boolean;
  readonly body: number;
}

/**
 * parseBtfEnums on a file: enumerators of every enum (or enum64) whose name `wanted` accepts, by enum
 * name (value -> enumerator name, the first name kept for a repeated value). With `base`, split BTF.
 * Throws FORMAT_PARSE for a file that is not valid BTF; rejects with the file's error when unreadable.
 */
export async function readBtfEnums(path: string, wanted: (enumName: string) => boolean, base?: BtfBase, chunk = CHUNK): Promise<Map<string, Map<number, string>>> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.allocUnsafe(Math.max(chunk, 24));
    const l = await fileLayout(fh, size, buf);
    const u32 = (off: number): number => (l.le ? buf.readUInt32LE(off) : buf.readUInt32BE(off));
    // The type section: each btf_type's 12 bytes are read through the window; members are skipped.
    const enums: EnumAt[] = [];
    let winStart = 0;
    let winLen = 0;
    for (let p = l.typeStart; p < l.typeEnd; ) {
      if (p + 12 > l.typeEnd) throw btfError(`truncated type at byte ${p}`, '12 bytes of btf_type', `${l.typeEnd - p} bytes`);
      if (p < winStart || p + 12 > winStart + winLen) {
        winStart = p;
        winLen = await readAt(fh, buf, Math.min(buf.length, l.typeEnd - p), p);
      }
      const nameOff = u32(p - winStart);
      const info = u32(p - winStart + 4);
      const vlen = info & 0xffff;
      const kind = (info >>> 24) & 0x1f;
      const extra = extraBytes(kind, vlen, p);
      const body = p + 12;
      if (body + extra > l.typeEnd) throw btfError(`truncated type at byte ${p}`, `${extra} bytes of members`, `${l.typeEnd - body} bytes`);
      if ((kind === KIND.ENUM || kind === KIND.ENUM64) && nameOff !== 0) enums.push({ nameOff, kind, vlen, signed: info >>> 31 === 1, body });
      p = body + extra;
    }
    const names = await readStrings(fh, l, enums.map((e) => e.nameOff), base, chunk);
    const picked = new Map<string, EnumAt>();
    for (const e of enums) {
      const name = names.get(e.nameOff) ?? '';
      if (!picked.has(name) && wanted(name)) picked.set(name, e);
    }
    // The wanted enums' members (8 or 12 bytes each), then their names.
    const members: Array<{ readonly name: string; readonly items: Array<readonly [number, number]> }> = [];
    for (const [name, e] of picked) {
      const width = e.kind === KIND.ENUM ? 8 : 12;
      const bytes = Buffer.allocUnsafe(e.vlen * width);
      await readAt(fh, bytes, bytes.length, e.body);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const items: Array<readonly [number, number]> = [];
      for (let i = 0; i < e.vlen; i++) {
        const m = i * width;
        let value: number;
        if (e.kind === KIND.ENUM) value = e.signed ? view.getInt32(m + 4, l.le) : view.getUint32(m + 4, l.le);
        else {
          const v = (BigInt(view.getUint32(m + 8, l.le)) << 32n) | BigInt(view.getUint32(m + 4, l.le));
          value = Number(e.signed ? BigInt.asIntN(64, v) : v);
        }
        items.push([view.getUint32(m, l.le), value]);
      }
      members.push({ name, items });
    }
    const memberNames = await readStrings(fh, l, members.flatMap((m) => m.items.map(([off]) => off)), base, chunk);
    const found = new Map<string, Map<number, string>>();
    for (const { name, items } of members) {
      const result = new Map<number, string>();
      for (const [off, value] of items) if (!result.has(value)) result.set(value, memberNames.get(off) ?? '');
      found.set(name, result);
    }
    return found;
  } finally {
    await fh.close();
  }
}

/** The string section of a BTF file (btfBase of the whole blob), for reading modules' split BTF. */
export async function readBtfBase(path: string): Promise<BtfBase> {
  const fh = await open(path, 'r');
  try {
    const l = await fileLayout(fh, (await fh.stat()).size, Buffer.allocUnsafe(24));
    const strings = Buffer.allocUnsafe(l.strLen);
    await readAt(fh, strings, l.strLen, l.strStart);
    return { strings };
  } finally {
    await fh.close();
  }
}

/** Reads a raw BTF file and returns the enumerators of `enumName` (value -> name), empty when absent. */
export async function readBtfEnum(path: string, enumName: string): Promise<Map<number, string>> {
  return (await readBtfEnums(path, (n) => n === enumName)).get(enumName) ?? new Map();
}
