/**
 * The symbolize and enrich stages for a sampled drop: location and every stack frame to `function+0xoff`
 * (kallsyms), reason code to the kernel's name, netns to its owner (pod, host or netns). The resolver is
 * asked with 0 drops: a sample stands for no extra drop (the counts already include it). The stack starts
 * at the drop location (the frames of kfree_skb itself and of the tracing trampoline are cut).
 */
import type { DescribedSample, FlowSample } from '../vocabulary/flow-sample.js';
import { formatLocation } from '../symbolize/types.js';
import { describeReason, type DescribeContext } from './describe.js';
import { networkType } from './network-type.js';

/** The frames from the drop location outwards: the ones inside kfree_skb and the tracing trampoline go. */
export function trimStack(stack: readonly bigint[], location: bigint): readonly bigint[] {
  const i = stack.indexOf(location);
  return i > 0 ? stack.slice(i) : stack;
}

export function describeSample(ctx: DescribeContext, s: FlowSample): DescribedSample {
  const sym = ctx.symbolizer.resolve(s.address);
  const stack = s.stack === null ? null : trimStack(s.stack, s.address);
  return {
    ...s,
    stack,
    function: sym?.function ?? null,
    offset: sym?.offset ?? null,
    location: formatLocation(s.address, sym),
    module: sym?.module ?? null,
    reason: describeReason(ctx.reasons, s.reasonCode, ctx.reasonSubsystems),
    networkType: networkType(s.protocol),
    owner: ctx.resolver.resolve(s.netns, 0),
    stackText: stack === null ? null : stack.map((a) => formatLocation(a, ctx.symbolizer.resolve(a))),
  };
}
