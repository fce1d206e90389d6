/**
 * The agent's kallsyms symbolizer without a table: resolve() answers from a cache of resolved addresses,
 * and prepare() resolves the addresses not in it with one streaming pass over /proc/kallsyms
 * (kallsyms-pass.ts), keeping nothing of the file. Saves the ~5 MB the table holds for the agent's whole
 * life, for the CPU of a pass whenever an interval brings addresses not seen before (docs/performance.md).
 *
 * Only for callers that prepare() every address before they resolve() it: the pipeline does, per
 * interval; samples are described one by one as they come (synchronously), so a pipeline with samples
 * keeps KallsymsSymbolizer (src/symbolize/load.ts chooses). Like KallsymsSymbolizer, an address that
 * resolved to nothing is retried (with a fresh cache: modules may have come and gone) at most once per
 * minReloadIntervalMs; an address never seen is resolved at once, so a module loaded after start
 * resolves in its first interval.
 */
import { join } from 'node:path';
import type { HostPaths } from '../host-paths.js';
import { logger } from '../log.js';
import { resolveInOnePass } from './kallsyms-pass.js';
import { readKptrRestrict } from './kallsyms-symbolizer.js';
import type { Resolved, Symbolizer } from './types.js';

const log = logger('kallsyms');

/** Resolves addresses in one pass; answers in the order given. Rejects like resolveInOnePass. */
export type ResolvePass = (addresses: readonly bigint[]) => Promise<(Resolved | null)[]>;

export interface StreamingSymbolizerOptions {
  readonly pass: ResolvePass;
  /** Clock in ms; Date.now by default. */
  readonly now?: () => number;
  /** Least time between two retries of unresolved addresses; 10 s by default. */
  readonly minReloadIntervalMs?: number;
  /** Cached addresses kept at most (the oldest go first, never an interval's own); 20000 by default. */
  readonly maxCached?: number;
}

export class StreamingSymbolizer implements Symbolizer {
  readonly #cache = new Map<bigint, Resolved | null>();
  readonly #pass: ResolvePass;
  readonly #now: () => number;
  readonly #minInterval: number;
  readonly #maxCached: number;
  #lastReload: number;
  #reloads = 0;
  #passes = 0;
  /** prepare() calls run one after the other: a pass never clears what another interval is about to resolve. */
  #queue: Promise<void> = Promise.resolve();

  constructor(opts: StreamingSymbolizerOptions) {
    this.#pass = opts.pass;
    this.#now = opts.now ?? Date.now;
    this.#minInterval = opts.minReloadIntervalMs ?? 10_000;
    this.#maxCached = opts.maxCached ?? 20_000;
    this.#lastReload = this.#now();
  }

  /**
   * Checks `${paths.proc}/kallsyms` with one pass that keeps nothing: throws KALLSYMS_RESTRICTED when the
   * addresses are hidden, KALLSYMS_PARSE on a line of another shape, as the table's load does.
   */
  static async load(paths: HostPaths): Promise<StreamingSymbolizer> {
    const file = join(paths.proc, 'kallsyms');
    await resolveInOnePass(file, [], { kptrRestrict: await readKptrRestrict(paths.proc), source: file });
    log.debug('kallsyms checked; symbols are resolved per interval (no table)');
    return new StreamingSymbolizer({
      pass: async (addresses) => resolveInOnePass(file, addresses, { kptrRestrict: await readKptrRestrict(paths.proc), source: file }),
    });
  }

  /** Passes that retried unresolved addresses since start. */
  reloads(): number {
    return this.#reloads;
  }

  /** Passes over kallsyms since start (the check at start not counted). */
  passes(): number {
    return this.#passes;
  }

  /** Number of cached addresses. */
  get size(): number {
    return this.#cache.size;
  }

  resolve(address: bigint): Resolved | null {
    return this.#cache.get(address) ?? null;
  }

  prepare(addresses: Iterable<bigint>): Promise<void> {
    const batch = new Set(addresses);
    const run = this.#queue.then(() => this.#prepare(batch));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #prepare(batch: ReadonlySet<bigint>): Promise<void> {
    const missing: bigint[] = [];
    let unresolved = false;
    for (const a of batch) {
      const c = this.#cache.get(a);
      if (c === undefined) missing.push(a);
      else if (c === null) unresolved = true;
    }
    const reload = unresolved && this.#now() - this.#lastReload >= this.#minInterval;
    if (missing.length === 0 && !reload) return;
    if (reload) this.#lastReload = this.#now();
    // A retry starts from a fresh cache (what was resolved may have moved: a module unloaded, another loaded).
    const todo = reload ? [...batch] : missing;
    let answers: (Resolved | null)[];
    const started = this.#now();
    try {
      answers = await this.#pass(todo);
    } catch (err) {
      // The cached addresses still resolve; the others answer null this interval and are tried again next.
      log.warn({ err }, 'kallsyms pass failed; unresolved addresses show as hex this interval');
      return;
    }
    this.#passes++;
    log.debug({ addresses: todo.length, retry: reload, ms: this.#now() - started, passes: this.#passes }, 'kallsyms pass');
    if (reload) {
      this.#cache.clear();
      this.#reloads++;
    }
    this.#evict(batch, todo.length);
    for (let i = 0; i < todo.length; i++) this.#cache.set(todo[i]!, answers[i]!);
  }

  /** Makes room for `adding` entries: drops the oldest cached addresses that are not in this batch. */
  #evict(batch: ReadonlySet<bigint>, adding: number): void {
    let excess = this.#cache.size + adding - this.#maxCached;
    if (excess <= 0) return;
    for (const a of this.#cache.keys()) {
      if (excess <= 0) break;
      if (batch.has(a)) continue;
      this.#cache.delete(a);
      excess--;
    }
  }
}
