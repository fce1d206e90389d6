/**
 * A writer of the cpio "newc" format, the one the kernel unpacks as an initramfs: directories, regular files
 * (streamed from the host's files) and symlinks, all owned by root. No compression (the kernel unpacks a plain
 * archive fastest, and QEMU loads it from the page cache).
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';

export type CpioEntry =
  | { readonly kind: 'dir'; readonly path: string }
  | { readonly kind: 'file'; readonly path: string; readonly from: string; readonly mode?: number }
  | { readonly kind: 'data'; readonly path: string; readonly data: Buffer | string; readonly mode?: number }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string };

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

function header(ino: number, mode: number, nlink: number, size: number, name: string): Buffer {
  const nameBytes = Buffer.from(`${name}\0`);
  const fields = ['070701', hex8(ino), hex8(mode), hex8(0), hex8(0), hex8(nlink), hex8(0), hex8(size), hex8(0), hex8(0), hex8(0), hex8(0), hex8(nameBytes.length), hex8(0)];
  const head = Buffer.concat([Buffer.from(fields.join('')), nameBytes]);
  return Buffer.concat([head, Buffer.alloc((4 - (head.length % 4)) % 4)]);
}

async function write(out: WriteStream, chunk: Buffer): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

/** Writes the entries (paths relative to /, without a leading slash) as a newc archive at `file`. */
export async function writeCpio(file: string, entries: readonly CpioEntry[]): Promise<number> {
  const out = createWriteStream(file);
  let ino = 1;
  let total = 0;
  const put = async (b: Buffer): Promise<void> => {
    total += b.length;
    await write(out, b);
  };
  const pad = async (size: number): Promise<void> => {
    const n = (4 - (size % 4)) % 4;
    if (n) await put(Buffer.alloc(n));
  };
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, '');
    if (e.kind === 'dir') {
      await put(header(ino++, 0o040755, 2, 0, path));
    } else if (e.kind === 'symlink') {
      const t = Buffer.from(e.target);
      await put(header(ino++, 0o120777, 1, t.length, path));
      await put(t);
      await pad(t.length);
    } else if (e.kind === 'data') {
      const d = Buffer.from(e.data);
      await put(header(ino++, 0o100000 | (e.mode ?? 0o644), 1, d.length, path));
      await put(d);
      await pad(d.length);
    } else {
      const st = await stat(e.from);
      await put(header(ino++, 0o100000 | (e.mode ?? st.mode & 0o777), 1, st.size, path));
      let n = 0;
      for await (const chunk of createReadStream(e.from)) {
        n += (chunk as Buffer).length;
        await put(chunk as Buffer);
      }
      if (n !== st.size) throw new Error(`cpio: ${e.from} changed while archived (${st.size} -> ${n} bytes)`);
      await pad(n);
    }
  }
  await put(header(0, 0, 1, 0, 'TRAILER!!!'));
  out.end();
  await once(out, 'close');
  return total;
}
