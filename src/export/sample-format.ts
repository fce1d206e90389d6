/**
 * Sampled drops as text and JSON: the `e.g.` lines of `watch --flows`, the lines of `kdrop trace` and its
 * NDJSON record (snake_case, stable; docs/metrics.md documents each field).
 */
import type { DescribedSample } from '../vocabulary/flow-sample.js';
import { formatFlow, transportName } from '../vocabulary/flow-sample.js';
import { reasonClassOf } from '../enrich/reason-catalog.js';
import type { DropRecordJson } from './ndjson.js';

/** One example of a key, in `watch --flows --json` records' `examples` array. */
export interface ExampleJson {
  time: string;
  src_addr: string | null;
  src_port: number | null;
  dst_addr: string | null;
  dst_port: number | null;
  /** tcp | udp | icmp | icmpv6 | ... or the protocol number as text; null without an IP header. */
  transport: string | null;
  tcp_flags: number | null;
  icmp_type: number | null;
  icmp_code: number | null;
  ifindex: number | null;
  ifname: string | null;
  len: number;
  /** Symbolized kernel stack (function+0xoff, innermost first), null without --stack. */
  stack: string[] | null;
}

/** The `kdrop trace --json` record: the watch record's fields for one packet, plus the flow. */
export interface TraceRecordJson extends Omit<DropRecordJson, 'time' | 'bytes'>, ExampleJson {
  /** skb->len of this packet (a sample always has one). */
  bytes: number;
  /** Drops of this key the kernel counted but did not sample since its previous sample. */
  suppressed: number;
}

export function toExample(s: DescribedSample): ExampleJson {
  const f = s.flow;
  return {
    time: s.time.toISOString(),
    src_addr: f.srcAddr,
    src_port: f.srcPort,
    dst_addr: f.dstAddr,
    dst_port: f.dstPort,
    transport: transportName(f.transport),
    tcp_flags: f.tcpFlags,
    icmp_type: f.icmpType,
    icmp_code: f.icmpCode,
    ifindex: s.ifindex,
    ifname: s.ifname,
    len: s.len,
    stack: s.stackText === null ? null : [...s.stackText],
  };
}

export function toTraceRecord(s: DescribedSample): TraceRecordJson {
  return {
    ...toExample(s),
    interval_s: 0,
    count: 1,
    bytes: s.len,
    address: `0x${s.address.toString(16)}`,
    function: s.function,
    offset: s.offset,
    module: s.module,
    location: s.location,
    reason: s.reason,
    reason_code: s.reasonCode,
    reason_class: reasonClassOf(s.reason),
    protocol: s.protocol,
    network_type: s.networkType,
    netns: s.netns,
    scope: s.owner.scope,
    namespace: s.owner.namespace,
    pod: s.owner.pod,
    pod_uid: s.owner.podUid,
    suppressed: s.suppressed,
  };
}

/** `udp 10.0.0.5:41234 -> 10.0.0.7:53 on eth0`. */
export function flowText(s: DescribedSample): string {
  return `${formatFlow(s.flow)}${s.ifname === null ? '' : ` on ${s.ifname}`}`;
}

function ownerText(s: DescribedSample): string {
  if (s.owner.scope === 'pod') return `pod ${s.owner.namespace ?? '?'}/${s.owner.pod ?? '?'}`;
  if (s.owner.scope === 'host') return 'host';
  return s.netns === null ? 'netns ?' : `netns ${s.netns}`;
}

/** `16:04:33.123 pod default/web-0 NO_SOCKET __udp4_lib_rcv+0x4bc udp 10.0.0.5:41234 -> 10.0.0.7:53 on eth0`. */
export function formatTraceLine(s: DescribedSample): string {
  const t = s.time.toISOString().slice(11, 23);
  const sup = s.suppressed > 0 ? ` (+${s.suppressed} suppressed)` : '';
  return `${t} ${ownerText(s)} ${s.reason ?? '-'} ${s.location} ${flowText(s)}${sup}`;
}

/** The stack under a trace line, one indented frame per line. */
export function formatStack(s: DescribedSample): string {
  if (s.stackText === null) return '';
  return s.stackText.map((f) => `    ${f}\n`).join('');
}
