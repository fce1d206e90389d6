/**
 * The per-CPU ring buffers of a tracefs instance (per_cpu/cpuN/trace_pipe_raw), opened with O_NONBLOCK:
 * a read returns one (possibly partial) page or EAGAIN, so a drain never blocks in the kernel. Each page
 * read goes to the consumer with its CPU; pages are read into one reused buffer.
 */
import { constants } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { logger } from '../../log.js';

const log = logger('source.tracefs');

interface CpuReader {
  readonly cpu: number;
  readonly file: FileHandle;
}

/** Called with the shared page buffer, the bytes read into it and the CPU they came from. */
export type PageConsumer = (page: Buffer, length: number, cpu: number) => void;

export class CpuReaders {
  #readers: CpuReader[] = [];
  #page: Buffer = Buffer.alloc(0);
  readonly #consume: PageConsumer;
  #draining: Promise<boolean> | null = null;

  constructor(consume: PageConsumer) {
    this.#consume = consume;
  }

  /** Bytes per page read (the instance's sub-buffer size, known after open()). */
  get pageBytes(): number {
    return this.#page.byteLength;
  }

  /** Number of open per-CPU files. */
  get size(): number {
    return this.#readers.length;
  }

  /** Opens the trace_pipe_raw of each CPU of the instance at `dir`; what opened before a failure is closed by close(). */
  async open(dir: string, cpus: readonly number[]): Promise<void> {
    const subbufKb = await readFile(join(dir, 'buffer_subbuf_size_kb'), 'utf8').then(
      (t) => Number.parseInt(t, 10),
      () => 4,
    );
    this.#page = Buffer.alloc(Math.max(4096, (Number.isFinite(subbufKb) ? subbufKb : 4) * 1024));
    for (const cpu of cpus) {
      const path = join(dir, 'per_cpu', `cpu${cpu}`, 'trace_pipe_raw');
      const file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
      this.#readers.push({ cpu, file });
    }
  }

  /** Reads every CPU until EAGAIN (or pagesPerCpu pages). Returns true when a CPU had more to read. */
  drain(pagesPerCpu: number): Promise<boolean> {
    if (this.#draining !== null) {
      // Chain so a caller always sees what was in the buffers when it asked.
      const previous = this.#draining;
      this.#draining = previous.catch(() => false).then(() => this.#drainOnce(pagesPerCpu));
    } else {
      this.#draining = this.#drainOnce(pagesPerCpu);
    }
    const current = this.#draining;
    return current.finally(() => {
      if (this.#draining === current) this.#draining = null;
    });
  }

  /** Resolves when no drain is in flight (a failed one included). */
  async idle(): Promise<void> {
    if (this.#draining !== null) await this.#draining.catch(() => undefined);
  }

  /** Closes the per-CPU files. */
  async close(): Promise<void> {
    const readers = this.#readers;
    this.#readers = [];
    await Promise.all(readers.map((r) => r.file.close().catch((err: unknown) => log.debug({ err, cpu: r.cpu }, 'close failed'))));
  }

  async #drainOnce(pagesPerCpu: number): Promise<boolean> {
    let more = false;
    for (const reader of this.#readers) {
      for (let pages = 0; ; pages++) {
        if (pages >= pagesPerCpu) {
          more = true;
          break;
        }
        let bytesRead: number;
        try {
          ({ bytesRead } = await reader.file.read(this.#page, 0, this.#page.byteLength, null));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
          throw err;
        }
        if (bytesRead === 0) break;
        this.#consume(this.#page, bytesRead, reader.cpu);
      }
    }
    return more;
  }
}
