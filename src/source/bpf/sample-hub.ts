/**
 * Turns kdrop-probe's S and K lines into FlowSamples for the subscribers of a BpfSource: pairs each
 * sample with its stack (its K line precedes its S line; the loader frees an id only after a whole
 * interval in which no sample named it, and prints -1 for a sample whose stack it cannot vouch for), converts the kernel's
 * monotonic timestamp to wall time, and keeps the probe's cumulative sample counters.
 */
import type { FlowSample } from '../../vocabulary/flow-sample.js';
import type { SampleStats } from '../types.js';
import type { SampleLine, StackLine } from './sample-lines.js';

/** The stack map holds KDROP_STACKS (1024) ids. */
const MAX_STACKS = 1024;

export class SampleHub {
  private readonly listeners = new Set<(s: FlowSample) => void>();
  private readonly stacks = new Map<number, readonly bigint[]>();
  private counters: SampleStats = { emitted: 0, suppressed: 0, ringFull: 0, stackFailed: 0 };
  private received = 0;

  constructor(private readonly hasReason: boolean) {}

  subscribe(listener: (s: FlowSample) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): SampleStats & { readonly received: number } {
    return { ...this.counters, received: this.received };
  }

  end(ev: { samples: number; suppressed: number; rbFail: number; stackFail: number }): void {
    this.counters = { emitted: ev.samples, suppressed: ev.suppressed, ringFull: ev.rbFail, stackFailed: ev.stackFail };
  }

  stack(ev: StackLine): void {
    this.stacks.delete(ev.stackId);
    this.stacks.set(ev.stackId, ev.addresses);
    if (this.stacks.size > MAX_STACKS) {
      const oldest = this.stacks.keys().next().value;
      if (oldest !== undefined) this.stacks.delete(oldest);
    }
  }

  sample(ev: SampleLine, nowMs = Date.now(), monoNs = process.hrtime.bigint()): void {
    this.received++;
    if (this.listeners.size === 0) return;
    // bpf_ktime_get_ns() and process.hrtime() are both CLOCK_MONOTONIC.
    const ageMs = Number(monoNs - ev.ktimeNs) / 1e6;
    const s: FlowSample = {
      time: new Date(nowMs - Math.max(0, ageMs)),
      address: ev.address,
      reasonCode: this.hasReason ? ev.reasonCode : null,
      protocol: ev.protocol,
      netns: ev.netns === 0 ? null : ev.netns,
      flow: ev.flow,
      ifindex: ev.ifindex === 0 ? null : ev.ifindex,
      ifname: ev.ifname,
      len: ev.len,
      stack: ev.stackId < 0 ? null : (this.stacks.get(ev.stackId) ?? null),
      suppressed: ev.suppressed,
    };
    for (const l of this.listeners) l(s);
  }
}
