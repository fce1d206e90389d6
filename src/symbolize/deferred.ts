import type { Resolved, Symbolizer } from './types.js';

/**
 * A symbolizer that is still loading (reading /proc/kallsyms takes a few hundred ms): the source starts
 * counting without waiting for it. The pipeline awaits prepare() before it resolves an interval's
 * addresses, so reports are symbolized as before; prepare() rejects with the load's error (e.g.
 * KDROP_E_KALLSYMS_RESTRICTED), which ends watch and agent at their first interval. Before the load
 * ends, resolve() answers null (a sample that comes that early shows its hex address).
 */
export class DeferredSymbolizer implements Symbolizer {
  private inner: Symbolizer | null = null;
  private readonly loaded: Promise<Symbolizer>;

  constructor(loading: Promise<Symbolizer>) {
    this.loaded = loading.then((s) => (this.inner = s));
    // Handled here: the error is rethrown to whoever awaits prepare() or ready().
    this.loaded.catch(() => undefined);
  }

  /** The loaded symbolizer, or the load's error. */
  ready(): Promise<Symbolizer> {
    return this.loaded;
  }

  resolve(address: bigint): Resolved | null {
    return this.inner?.resolve(address) ?? null;
  }

  async prepare(addresses: Iterable<bigint>): Promise<void> {
    const s = await this.loaded;
    await s.prepare?.(addresses);
  }
}
