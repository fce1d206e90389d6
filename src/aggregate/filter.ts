import type { DropEntry, NetnsOwner } from '../enrich/types.js';
import { DEFAULT_HIDDEN_CLASSES, normalizeReasonName, reasonClassOf, type ReasonClass } from '../enrich/reason-catalog.js';

/**
 * `kdrop watch` hides the classes in DEFAULT_HIDDEN_CLASSES (benign: a socket closed with unread data,
 * queue purges, stale TCP segments) because they are routine, not faults. `--all` shows them; `--class`
 * naming the class, or `--reason` naming one of its reasons, shows them too.
 */
export { DEFAULT_HIDDEN_CLASSES };

export interface EntryFilterSpec {
  /** Kernel reason names to keep (without SKB_DROP_REASON_); empty = all. */
  readonly reasons: readonly string[];
  readonly excludeReasons: readonly string[];
  /** Function names to keep; empty = all. */
  readonly functions: readonly string[];
  /** Netns inodes to keep; empty = all. */
  readonly netns: readonly number[];
  /** Reason classes to keep; empty (or absent) = all. */
  readonly classes?: readonly ReasonClass[];
  /** Show the default-hidden classes too. */
  readonly all: boolean;
  /** Keep only drops whose owner matches (e.g. --pod); undefined = all. */
  readonly owner?: (owner: NetnsOwner) => boolean;
}

/** What a filter looks at: a drop entry, or a described sample (trace). */
export type FilterableEntry = Pick<DropEntry, 'reason' | 'function' | 'netns' | 'owner'>;

export type EntryFilter = (e: FilterableEntry) => boolean;

/** Normalizes a user-given reason (`no_socket`, `SKB_DROP_REASON_NO_SOCKET`) to the kernel's name form. */
export function normalizeReason(text: string): string {
  return normalizeReasonName(text);
}

export function buildFilter(spec: EntryFilterSpec): EntryFilter {
  const keep = new Set(spec.reasons.map(normalizeReason));
  const exclude = new Set(spec.excludeReasons.map(normalizeReason));
  const classes = new Set(spec.classes ?? []);
  // Hidden by default unless shown by --all or asked for by class (a reason asked for by name is kept below).
  const hidden = new Set(spec.all ? [] : DEFAULT_HIDDEN_CLASSES.filter((c) => !classes.has(c)));
  const functions = new Set(spec.functions);
  const netns = new Set(spec.netns);
  return (e) => {
    if (e.reason !== null) {
      if (keep.size > 0 && !keep.has(e.reason)) return false;
      if (exclude.has(e.reason)) return false;
      const cls = reasonClassOf(e.reason);
      if (cls !== null && classes.size > 0 && !classes.has(cls)) return false;
      if (cls !== null && hidden.has(cls) && !keep.has(e.reason)) return false;
    } else if (keep.size > 0 || classes.size > 0) {
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
  return [...spec.reasons, ...spec.excludeReasons].map(normalizeReason).filter((r) => !known.has(r) && !/^UNKNOWN_(?:[A-Z0-9_]+_)?\d+$/.test(r));
}
