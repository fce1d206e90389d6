import type { DropEntry } from '../enrich/types.js';
import type { IntervalReport } from '../vocabulary/interval-report.js';
import { reasonClassOf, type ReasonClass } from '../enrich/reason-catalog.js';

/**
 * The `kdrop watch --json` record: snake_case, stable (fields may be added, never renamed or removed).
 * docs/metrics.md documents each field.
 */
export interface DropRecordJson {
  time: string;
  interval_s: number;
  count: number;
  bytes: number | null;
  address: string;
  function: string | null;
  offset: number | null;
  module: string | null;
  location: string;
  reason: string | null;
  reason_code: number | null;
  /** policy | congestion | error | benign | unknown; null when reason is null. */
  reason_class: ReasonClass | null;
  protocol: number;
  network_type: string;
  netns: number | null;
  scope: string;
  namespace: string | null;
  pod: string | null;
  pod_uid: string | null;
}

export function toRecord(report: IntervalReport, e: DropEntry): DropRecordJson {
  return {
    time: report.end.toISOString(),
    interval_s: Math.round(report.intervalS * 1000) / 1000,
    count: e.count,
    bytes: e.bytes,
    address: `0x${e.address.toString(16)}`,
    function: e.function,
    offset: e.offset,
    module: e.module,
    location: e.location,
    reason: e.reason,
    reason_code: e.reasonCode,
    reason_class: reasonClassOf(e.reason),
    protocol: e.protocol,
    network_type: e.networkType,
    netns: e.netns,
    scope: e.owner.scope,
    namespace: e.owner.namespace,
    pod: e.owner.pod,
    pod_uid: e.owner.podUid,
  };
}

/** One NDJSON line per entry; `extra` adds fields (watch --flows: `examples`). */
export function formatNdjson(report: IntervalReport, entries: readonly DropEntry[], extra?: (e: DropEntry) => Record<string, unknown>): string {
  return entries.map((e) => `${JSON.stringify(extra ? { ...toRecord(report, e), ...extra(e) } : toRecord(report, e))}\n`).join('');
}
