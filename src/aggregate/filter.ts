import type { DropEntry, NetnsOwner } from '../enrich/types.js';

/**
 * Drop reasons hidden by default in `kdrop watch` because they are routine, not faults: a socket closed
 * with unread data in its queues (SOCKET_CLOSE) and queue purges on close/teardown (QUEUE_PURGE).
 * `--all` shows them; `--reason` naming one of them shows it too.
 */
export const DEFAULT_HIDDEN_REASONS: readonly string[] = ['SOCKET_CLOSE', 'QUEUE_PURGE'];

export interface EntryFilterSpec {
  /** Kernel reason names to keep (without SKB_DROP_REASON_); empty = all. */
  readonly reasons: readonly string[];
  readonly excludeReasons: readonly string[];
  /** Function names to keep; empty = all. */
  readonly functions: readonly string[];
  /** Netns inodes to keep; empty = all. */
  readonly netns: readonly number[];
  /** Show the default-hidden reasons too. */
  readonly all: boolean;
  /** Keep only drops whose owner matches (e.g. --pod); undefined = all. */
  readonly owner?: (owner: NetnsOwner) => boolean;
}

export type EntryFilter = (e: DropEntry) => boolean;

/** Normalizes a user-given reason (`no_socket`, `SKB_DROP_REASON_NO_SOCKET`) to the kernel's name form. */
export function normalizeReason(text: string): string {
  return text.trim().toUpperCase().replace(/^SKB_DROP_REASON_/, '');
}

export function buildFilter(spec: EntryFilterSpec): EntryFilter {
  const keep = new Set(spec.reasons.map(normalizeReason));
  const exclude = new Set(spec.excludeReasons.map(normalizeReason));
  if (!spec.all) for (const r of DEFAULT_HIDDEN_REASONS) if (!keep.has(r)) exclude.add(r);
  const functions = new Set(spec.functions);
  const netns = new Set(spec.netns);
  return (e) => {
    if (e.reason !== null) {
      if (keep.size > 0 && !keep.has(e.reason)) return false;
      if (exclude.has(e.reason)) return false;
    } else if (keep.size > 0) {
      return false;
    }
    if (functions.size > 0 && (e.function === null || !functions.has(e.function))) return false;
    if (netns.size > 0 && (e.netns === null || !netns.has(e.netns))) return false;
    if (spec.owner && !spec.owner(e.owner)) return false;
    return true;
  };
}

/**
 * Reason names in the filter that the running kernel does not have (a typo would otherwise silently
 * hide everything). `UNKNOWN_<code>` names are accepted: they are what kdrop prints for unnamed codes.
 */
export function unknownReasons(spec: Pick<EntryFilterSpec, 'reasons' | 'excludeReasons'>, kernelNames: ReadonlyMap<number, string>): string[] {
  const known = new Set(kernelNames.values());
  return [...spec.reasons, ...spec.excludeReasons].map(normalizeReason).filter((r) => !known.has(r) && !/^UNKNOWN_\d+$/.test(r));
}
