import type { SeriesAttributes } from './label-policy.js';
import { Attr } from '../vocabulary/attributes.js';
import { logger } from '../log.js';

const log = logger('series');

/** One exported series of the drop metrics: cumulative since `startTimeMs`. */
export interface SeriesPoint {
  readonly attributes: SeriesAttributes;
  /** Cumulative drops since the series started. */
  readonly drops: number;
  /** Cumulative bytes, or null when the source never reported lengths for this series. */
  readonly bytes: number | null;
  /** When the series was created (its cumulative start time). */
  readonly startTimeMs: number;
  /** Last time drops were added. */
  readonly updatedMs: number;
  /** True for the single series taking drops beyond the limit. */
  readonly overflow: boolean;
}

export interface SeriesStoreOptions {
  /** Most series per drop metric, not counting the overflow series. Default 2000. */
  readonly limit?: number;
  /** A series not updated for this long is removed; 0 keeps series forever. Default 15 minutes. */
  readonly ttlMs?: number;
  /** How long a series of a deleted pod (expirePod) stays exported before it is removed. Default 60 s. */
  readonly retireGraceMs?: number;
  readonly now?: () => number;
}

export interface SeriesStats {
  /** Series now exported, overflow series included. */
  readonly active: number;
  /** Drops (cumulative) that went to the overflow series. */
  readonly overflowDrops: number;
  /** Series removed so far (TTL or expirePod). */
  readonly expired: number;
}

export const DEFAULT_SERIES_LIMIT = 2000;
export const DEFAULT_SERIES_TTL_MS = 15 * 60_000;
export const DEFAULT_RETIRE_GRACE_MS = 60_000;
const OVERFLOW_KEY = '\u0000overflow';
const OVERFLOW_ATTRIBUTES: SeriesAttributes = Object.freeze({ [Attr.overflow]: 'true' });
const OVERFLOW_LOG_EVERY_MS = 10 * 60_000;

interface MutableSeries {
  attributes: SeriesAttributes;
  drops: number;
  bytes: number | null;
  startTimeMs: number;
  updatedMs: number;
  overflow: boolean;
  /** Set by expirePod(): removed at the first sweep at or after this time. */
  retireAtMs: number | null;
  /** UIDs of the pods whose drops went into this series (kept even when k8s.pod.uid is not exported). */
  podUids: Set<string> | null;
}

/** A series rarely sees more than one pod (a StatefulSet pod recreated under its name); bound it anyway. */
const MAX_UIDS_PER_SERIES = 16;

/** A stable key for an attribute set (order-independent). */
export function seriesKey(attributes: SeriesAttributes): string {
  return JSON.stringify(Object.keys(attributes).sort().map((k) => [k, attributes[k]]));
}

/**
 * The drop metrics' series, cumulative per attribute set, with a cardinality guard and expiry so pod
 * churn cannot grow memory:
 * - at most `limit` series; drops for a new attribute set beyond it go to one series with
 *   otel.metric.overflow=true (so totals stay right) and are counted in `overflowDrops`; a warning is
 *   logged when that starts (and at most every 10 minutes while it lasts);
 * - sweep() removes series not updated for `ttlMs`, and series marked by expirePod() once their grace
 *   period has passed. A removed series that gets drops again starts over from 0 with a new start time
 *   (a counter reset, which rate() and OTLP consumers handle).
 */
export class SeriesStore {
  private readonly series = new Map<string, MutableSeries>();
  private readonly limit: number;
  private readonly ttlMs: number;
  private readonly retireGraceMs: number;
  private readonly now: () => number;
  private overflowDrops = 0;
  private expiredCount = 0;
  private lastOverflowLog = Number.NEGATIVE_INFINITY;

  constructor(opts: SeriesStoreOptions = {}) {
    this.limit = opts.limit ?? DEFAULT_SERIES_LIMIT;
    this.ttlMs = opts.ttlMs ?? DEFAULT_SERIES_TTL_MS;
    this.retireGraceMs = opts.retireGraceMs ?? DEFAULT_RETIRE_GRACE_MS;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Adds an interval's drops (and bytes, when known) to the series of `attributes`. `podUid` names the pod
   * the drops belong to, so expirePod() can find its series even when k8s.pod.uid is not exported.
   */
  add(attributes: SeriesAttributes, drops: number, bytes: number | null, podUid: string | null = null): void {
    if (drops <= 0 && (bytes ?? 0) <= 0) return;
    const now = this.now();
    let key = seriesKey(attributes);
    let s = this.series.get(key);
    if (s === undefined) {
      const regular = this.series.size - (this.series.has(OVERFLOW_KEY) ? 1 : 0);
      if (regular >= this.limit) {
        key = OVERFLOW_KEY;
        s = this.series.get(key);
        this.overflowDrops += drops;
        this.logOverflow(now);
      }
      if (s === undefined) {
        s = {
          attributes: key === OVERFLOW_KEY ? OVERFLOW_ATTRIBUTES : Object.freeze({ ...attributes }),
          drops: 0,
          bytes: null,
          startTimeMs: now,
          updatedMs: now,
          overflow: key === OVERFLOW_KEY,
          retireAtMs: null,
          podUids: null,
        };
        this.series.set(key, s);
      }
    }
    s.drops += drops;
    if (bytes !== null) s.bytes = (s.bytes ?? 0) + bytes;
    s.updatedMs = now;
    s.retireAtMs = null;
    if (podUid !== null && !s.overflow) {
      s.podUids ??= new Set();
      if (s.podUids.size < MAX_UIDS_PER_SERIES) s.podUids.add(podUid);
    }
  }

  /**
   * A pod was deleted: its series are marked for removal after the grace period, unless another pod
   * (a StatefulSet pod recreated under the same name) also feeds them. Returns how many were marked.
   */
  expirePod(uid: string, graceMs = this.retireGraceMs): number {
    const at = this.now() + graceMs;
    let n = 0;
    for (const s of this.series.values()) {
      if (s.podUids === null || !s.podUids.delete(uid) || s.podUids.size > 0) continue;
      s.retireAtMs = Math.min(s.retireAtMs ?? at, at);
      n++;
    }
    return n;
  }

  /** Removes expired and retired series; returns how many were removed. Called once per interval. */
  sweep(): number {
    const now = this.now();
    let n = 0;
    for (const [key, s] of this.series) {
      const stale = this.ttlMs > 0 && now - s.updatedMs >= this.ttlMs;
      const retired = s.retireAtMs !== null && now >= s.retireAtMs;
      if (stale || retired) {
        this.series.delete(key);
        n++;
      }
    }
    this.expiredCount += n;
    if (n > 0) log.debug({ removed: n, active: this.series.size }, 'series expired');
    return n;
  }

  /** The series to export now (a copy; safe to hold while the store changes). */
  snapshot(): SeriesPoint[] {
    const out: SeriesPoint[] = [];
    for (const s of this.series.values()) {
      out.push({ attributes: s.attributes, drops: s.drops, bytes: s.bytes, startTimeMs: s.startTimeMs, updatedMs: s.updatedMs, overflow: s.overflow });
    }
    return out;
  }

  stats(): SeriesStats {
    return { active: this.series.size, overflowDrops: this.overflowDrops, expired: this.expiredCount };
  }

  private logOverflow(now: number): void {
    if (now - this.lastOverflowLog < OVERFLOW_LOG_EVERY_MS) return;
    this.lastOverflowLog = now;
    log.warn(
      { limit: this.limit, overflowDrops: this.overflowDrops, attribute: Attr.overflow },
      'series limit reached: drops of new attribute sets are counted in the overflow series; drop labels with --labels or raise --series-limit',
    );
  }
}
