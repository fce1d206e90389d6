/**
 * `watch --flows`: the latest distinct examples per key, gathered from the samples between two intervals
 * and taken (then forgotten) when the key's count line is printed. Bounded: at most `perKey` examples per
 * key and `maxKeys` keys; a key whose examples were not taken within `maxAgeMs` is dropped.
 */
import { keyString, type DropKey } from '../source/types.js';
import type { DescribedSample } from '../vocabulary/flow-sample.js';
import { flowText } from '../export/sample-format.js';

interface Book {
  examples: DescribedSample[];
  updated: number;
}

export interface Examples {
  readonly examples: readonly DescribedSample[];
  /** Drops of the key in the interval that are not among the examples. */
  readonly more: number;
}

export class ExampleBook {
  private readonly books = new Map<string, Book>();

  constructor(
    private readonly perKey = 3,
    private readonly maxKeys = 4096,
    private readonly maxAgeMs = 60_000,
  ) {}

  add(s: DescribedSample, now = Date.now()): void {
    const ks = keyString(s);
    let b = this.books.get(ks);
    if (!b) {
      if (this.books.size >= this.maxKeys) this.expire(now, true);
      b = { examples: [], updated: now };
      this.books.set(ks, b);
    }
    b.updated = now;
    // Distinct by what the line shows: a repeat of a flow replaces the older one (latest first).
    const text = flowText(s);
    b.examples = [s, ...b.examples.filter((e) => flowText(e) !== text)].slice(0, this.perKey);
  }

  /** The examples of an entry's key, and how many of its `count` drops they leave unshown; then forgets them. */
  take(key: DropKey, count: number): Examples | null {
    const ks = keyString(key);
    const b = this.books.get(ks);
    if (!b) return null;
    this.books.delete(ks);
    return { examples: b.examples, more: Math.max(0, count - b.examples.length) };
  }

  /** Drops books not taken for maxAgeMs (or, when `oldest`, also the least recently updated one). */
  expire(now = Date.now(), oldest = false): void {
    let min: [string, number] | null = null;
    for (const [ks, b] of this.books) {
      if (now - b.updated > this.maxAgeMs) this.books.delete(ks);
      else if (min === null || b.updated < min[1]) min = [ks, b.updated];
    }
    if (oldest && min !== null && this.books.size >= this.maxKeys) this.books.delete(min[0]);
  }

  get size(): number {
    return this.books.size;
  }
}
