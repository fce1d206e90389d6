import type { CounterEntry } from '../enrich/counter-collector.js';
import { normalizeReason, type EntryFilterSpec } from './filter.js';

/**
 * Which kernel counters watch shows beside the filtered drops: the owner (--pod) and --netns filters apply
 * as to drops. Counters have no reason or function: a --function or --class filter hides them, and so
 * does --reason, except that --reason NETFILTER_DROP keeps the conntrack counters (the cause behind it).
 */
export function keepCounter(spec: EntryFilterSpec, c: CounterEntry): boolean {
  if (spec.functions.length > 0 || (spec.classes?.length ?? 0) > 0) return false;
  if (spec.reasons.length > 0 && !(c.file === 'conntrack' && spec.reasons.map(normalizeReason).includes('NETFILTER_DROP'))) return false;
  if (spec.netns.length > 0 && (c.netns === null || !spec.netns.includes(c.netns))) return false;
  if (spec.owner && !spec.owner(c.owner)) return false;
  return true;
}
