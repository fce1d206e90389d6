/**
 * The running kernel's drop-reason names: the core names from the kfree_skb print fmt, or from BTF enum
 * skb_drop_reason when the fmt carries no table (btf-enums.ts), plus the subsystem drop reasons
 * (subsystem-reasons.ts).
 */
import { join } from 'node:path';
import { logger } from '../log.js';
import { readBtfEnum } from './btf-file.js';
import { readSubsystemReasons } from './subsystem-reasons.js';
import type { TracepointFormat } from './types.js';

const log = logger('btf');

/**
 * Drop-reason names as the tracepoint prints them, from enum skb_drop_reason enumerators: only
 * SKB_DROP_REASON_* (not SKB_NOT_DROPPED_YET, SKB_CONSUMED or the SUBSYS masks), prefix stripped.
 */
export function dropReasonNames(enumerators: ReadonlyMap<number, string>): Map<number, string> {
  const out = new Map<number, string>();
  for (const [value, name] of enumerators) {
    if (!name.startsWith('SKB_DROP_REASON_') || name.startsWith('SKB_DROP_REASON_SUBSYS_')) continue;
    out.set(value, name.slice('SKB_DROP_REASON_'.length));
  }
  return out;
}

/**
 * The reason table to use for a format: its own print-fmt table when it has one; else, when the event has
 * a reason field, the names from BTF enum skb_drop_reason at btfPath (empty when BTF is unreadable).
 */
export async function reasonTableWithBtfFallback(
  format: TracepointFormat,
  btfPath = '/sys/kernel/btf/vmlinux',
): Promise<ReadonlyMap<number, string>> {
  if (format.reasons.size > 0 || !format.fields.some((f) => f.name === 'reason')) return format.reasons;
  try {
    const names = dropReasonNames(await readBtfEnum(btfPath, 'skb_drop_reason'));
    log.debug({ names: names.size, btfPath }, 'drop reason names from BTF');
    return names;
  } catch (err) {
    log.debug({ err, btfPath }, 'no drop reason names from BTF');
    return new Map();
  }
}

/** The running kernel's reason names: core names by code plus subsystem names by full code. */
export interface KernelReasons {
  /** Every named code: core (from the format or BTF) and subsystem reasons. */
  readonly names: ReadonlyMap<number, string>;
  /** Subsystem id -> name, for naming unknown codes (unknownReasonName). */
  readonly subsystems: ReadonlyMap<number, string>;
}

/**
 * Everything the running kernel says about reason codes: the core table (format, or BTF fallback) and
 * the subsystem reasons from BTF. Null when the tracepoint has no reason field.
 */
export async function readKernelReasons(format: TracepointFormat, btfDir = '/sys/kernel/btf'): Promise<KernelReasons | null> {
  if (!format.fields.some((f) => f.name === 'reason')) return null;
  const core = await reasonTableWithBtfFallback(format, join(btfDir, 'vmlinux'));
  const sub = await readSubsystemReasons(btfDir);
  if (sub.reasons.size === 0) return { names: core, subsystems: sub.subsystems };
  const names = new Map(core);
  for (const [code, name] of sub.reasons) if (!names.has(code)) names.set(code, name);
  return { names, subsystems: sub.subsystems };
}
