/**
 * A sampled drop: one example packet of a counted key, with its flow (L3/L4 parsed in the kernel), the
 * interface and optionally its kernel stack. The bpf source produces them (rate-limited per key in the
 * kernel); the enrich stage describes them; watch --flows, trace and the agent's log export consume them.
 * Counts never come from samples: a sample only shows what one of the counted drops looked like.
 */
import type { DropKey } from './drop-key.js';
import type { NetnsOwner } from '../enrich/types.js';

/** L3/L4 of the dropped packet, as far as the kernel could parse it; null where absent. */
export interface Flow {
  /** 4 or 6; null when the packet had no IP header the probe could find. */
  readonly family: 4 | 6 | null;
  /** IP protocol number (6 tcp, 17 udp, 1 icmp, 58 icmpv6), null when unknown. */
  readonly transport: number | null;
  readonly srcAddr: string | null;
  readonly srcPort: number | null;
  readonly dstAddr: string | null;
  readonly dstPort: number | null;
  /** TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80). */
  readonly tcpFlags: number | null;
  readonly icmpType: number | null;
  readonly icmpCode: number | null;
}

/** What the source hands over: raw kernel values. */
export interface FlowSample extends DropKey {
  /** Wall-clock time of the drop (from the kernel's monotonic timestamp). */
  readonly time: Date;
  readonly flow: Flow;
  /** skb->dev's ifindex and name, null when the skb had no device. */
  readonly ifindex: number | null;
  readonly ifname: string | null;
  /** skb->len at the drop. */
  readonly len: number;
  /** Kernel return addresses, innermost first; null without --stacks (or when the kernel gave none). */
  readonly stack: readonly bigint[] | null;
  /** Drops of this key the kernel counted but did not sample since this key's previous sample. */
  readonly suppressed: number;
}

/** A sample after the symbolize and enrich stages. */
export interface DescribedSample extends FlowSample {
  readonly function: string | null;
  readonly offset: number | null;
  readonly location: string;
  readonly module: string | null;
  readonly reason: string | null;
  readonly networkType: string;
  readonly owner: NetnsOwner;
  /** The stack symbolized (`function+0xoff` per frame), null without a stack. */
  readonly stackText: readonly string[] | null;
}

/** tcp | udp | icmp | icmpv6 | udplite | sctp, else the protocol number as text; null when unknown. */
export function transportName(p: number | null): string | null {
  if (p === null) return null;
  const names: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp', 136: 'udplite' };
  return names[p] ?? String(p);
}

const TCP_FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'] as const;

/** `SYN|ACK` style. */
export function tcpFlagsText(flags: number): string {
  const set = TCP_FLAG_NAMES.filter((_, i) => (flags & (1 << i)) !== 0);
  return set.length === 0 ? 'none' : set.join('|');
}

function endpoint(addr: string | null, port: number | null, family: 4 | 6 | null): string {
  const a = addr ?? '?';
  if (port === null) return a;
  return family === 6 ? `[${a}]:${port}` : `${a}:${port}`;
}

/** `udp 10.0.0.5:41234 -> 10.0.0.7:53`, `tcp [::1]:5000 -> [::1]:80 SYN`, `icmp 10.0.0.1 -> 10.0.0.2 type 8/0`. */
export function formatFlow(f: Flow): string {
  if (f.family === null) return 'non-IP';
  const t = transportName(f.transport) ?? `ipv${f.family}`;
  let text = `${t} ${endpoint(f.srcAddr, f.srcPort, f.family)} -> ${endpoint(f.dstAddr, f.dstPort, f.family)}`;
  if (f.tcpFlags !== null) text += ` ${tcpFlagsText(f.tcpFlags)}`;
  if (f.icmpType !== null) text += ` type ${f.icmpType}/${f.icmpCode ?? 0}`;
  return text;
}
