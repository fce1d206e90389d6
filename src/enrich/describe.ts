import type { DropSample } from '../source/types.js';
import type { Symbolizer } from '../symbolize/types.js';
import { formatLocation } from '../symbolize/types.js';
import type { DropEntry, NetnsResolver } from './types.js';
import { networkType } from './network-type.js';
import { unknownReasonName } from '../kernel/subsystem-reasons.js';

/**
 * Reason code -> kernel name; for a code the running kernel does not name, `UNKNOWN_<code>` (core) or
 * `UNKNOWN_<SUBSYSTEM>_<n>` / `UNKNOWN_SUBSYS<id>_<n>` (subsystem codes, high 16 bits set).
 */
export function describeReason(reasons: ReadonlyMap<number, string> | null, code: number | null, subsystems?: ReadonlyMap<number, string>): string | null {
  if (code === null || reasons === null) return null;
  return reasons.get(code) ?? unknownReasonName(code, subsystems);
}

export interface DescribeContext {
  readonly symbolizer: Symbolizer;
  /** null when the kernel's tracepoint has no reason field. */
  readonly reasons: ReadonlyMap<number, string> | null;
  /** Subsystem id -> name (OPENVSWITCH), to name subsystem codes the kernel's tables lack. */
  readonly reasonSubsystems?: ReadonlyMap<number, string>;
  readonly resolver: NetnsResolver;
}

/** Symbolizes and enriches one sample: the symbolize and enrich stages applied to a source's key. */
export function describe(ctx: DescribeContext, s: DropSample): DropEntry {
  const sym = ctx.symbolizer.resolve(s.address);
  return {
    address: s.address,
    function: sym?.function ?? null,
    offset: sym?.offset ?? null,
    module: sym?.module ?? null,
    location: formatLocation(s.address, sym),
    reasonCode: s.reasonCode,
    reason: describeReason(ctx.reasons, s.reasonCode, ctx.reasonSubsystems),
    protocol: s.protocol,
    networkType: networkType(s.protocol),
    netns: s.netns,
    owner: ctx.resolver.resolve(s.netns, s.count),
    count: s.count,
    bytes: s.bytes,
  };
}
