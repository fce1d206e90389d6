/**
 * Symbolizer over /proc/kallsyms with a per-address cache. When an address of an interval lies outside
 * known text (a module loaded after start, a new BPF program), prepare() rereads /proc/kallsyms
 * asynchronously, at most once per minReloadIntervalMs, before the interval is described; resolve() is
 * synchronous and never reads a file, so a reload never blocks the event loop (health, /metrics).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostPaths } from '../host-paths.js';
import { logger } from '../log.js';
import { SymbolTable } from './symbol-table.js';
import type { Resolved, Symbolizer } from './types.js';

const log = logger('kallsyms');

export interface KallsymsSymbolizerOptions {
  /** Loads a fresh table. Rejects on failure. */
  readonly reload: () => Promise<SymbolTable>;
  /** Clock in ms; Date.now by default. */
  readonly now?: () => number;
  /** Least time between two reloads; 10 s by default. */
  readonly minReloadIntervalMs?: number;
}

/** Reads `${proc}/sys/kernel/kptr_restrict`, or null when it cannot be read. */
export async function readKptrRestrict(proc: string): Promise<number | null> {
  try {
    const n = Number((await readFile(join(proc, 'sys', 'kernel', 'kptr_restrict'), 'utf8')).trim());
    return Number.isInteger(n) ? n : null;
  } catch {
    return null;
  }
}

export class KallsymsSymbolizer implements Symbolizer {
  #table: SymbolTable;
  readonly #cache = new Map<bigint, Resolved | null>();
  readonly #reload: () => Promise<SymbolTable>;
  readonly #now: () => number;
  readonly #minInterval: number;
  #lastReload: number;
  #reloads = 0;

  constructor(table: SymbolTable, opts: KallsymsSymbolizerOptions) {
    this.#table = table;
    this.#reload = opts.reload;
    this.#now = opts.now ?? Date.now;
    this.#minInterval = opts.minReloadIntervalMs ?? 10_000;
    this.#lastReload = this.#now();
  }

  /** Loads `${paths.proc}/kallsyms`; throws KALLSYMS_RESTRICTED when addresses are hidden. */
  static async load(paths: HostPaths): Promise<KallsymsSymbolizer> {
    const file = join(paths.proc, 'kallsyms');
    const kptrRestrict = await readKptrRestrict(paths.proc);
    const table = await SymbolTable.fromFile(file, { kptrRestrict, source: file });
    log.debug({ symbols: table.size }, 'kallsyms loaded');
    return new KallsymsSymbolizer(table, {
      reload: async () => SymbolTable.fromFile(file, { kptrRestrict: await readKptrRestrict(paths.proc), source: file }),
    });
  }

  /** How often the table was reloaded since start. */
  reloads(): number {
    return this.#reloads;
  }

  /** Number of symbols in the current table. */
  get size(): number {
    return this.#table.size;
  }

  /**
   * Called with an interval's addresses before they are resolved: when one lies outside known text and a
   * reload is due, rereads kallsyms (asynchronously) so that resolve() finds it.
   */
  async prepare(addresses: Iterable<bigint>): Promise<void> {
    if (!this.#reloadDue()) return;
    for (const a of addresses) {
      if (this.#cache.get(a) !== undefined && this.#cache.get(a) !== null) continue;
      if (this.#table.resolve(a) !== null) continue;
      await this.#tryReload();
      return;
    }
  }

  resolve(address: bigint): Resolved | null {
    const cached = this.#cache.get(address);
    if (cached !== undefined) return cached;
    const r = this.#table.resolve(address);
    // A miss is cached too; the next reload (prepare()) clears the cache.
    this.#cache.set(address, r);
    return r;
  }

  #reloadDue(): boolean {
    return this.#now() - this.#lastReload >= this.#minInterval;
  }

  async #tryReload(): Promise<void> {
    this.#lastReload = this.#now();
    try {
      const table = await this.#reload();
      this.#table = table;
      this.#reloads++;
      this.#cache.clear();
      log.debug({ symbols: table.size, reloads: this.#reloads }, 'kallsyms reloaded');
    } catch (err) {
      log.warn({ err }, 'kallsyms reload failed; keeping the previous table');
    }
  }
}
