/**
 * Per-key counting in Node for the tracefs source: the tracepoint carries neither the netns nor the
 * packet length, so every key has netns null and bytes null.
 */
import { keyString, type DropSample } from '../types.js';

export interface CountedDrop {
  readonly address: bigint;
  readonly reasonCode: number | null;
  readonly protocol: number;
}

interface Entry {
  readonly address: bigint;
  readonly reasonCode: number | null;
  readonly protocol: number;
  count: number;
}

export class DropCounter {
  readonly #entries = new Map<string, Entry>();
  #total = 0;

  add(drop: CountedDrop, n = 1): void {
    const key = keyString({ address: drop.address, reasonCode: drop.reasonCode, protocol: drop.protocol, netns: null });
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      this.#entries.set(key, { address: drop.address, reasonCode: drop.reasonCode, protocol: drop.protocol, count: n });
    } else {
      entry.count += n;
    }
    this.#total += n;
  }

  /** Total events counted over all keys. */
  get total(): number {
    return this.#total;
  }

  /** Cumulative totals, one sample per key (fresh objects: callers may keep them). */
  samples(): DropSample[] {
    return [...this.#entries.values()].map((e) => ({
      address: e.address,
      reasonCode: e.reasonCode,
      protocol: e.protocol,
      netns: null,
      count: e.count,
      bytes: null,
    }));
  }
}
