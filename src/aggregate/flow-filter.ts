/**
 * `kdrop trace`'s flow filters, applied in Node to each sample: --proto (tcp, udp, icmp, icmpv6 or a
 * protocol number), --port (source or destination), --host (source or destination address). Within a
 * filter any value matches; all given filters must match.
 */
import { isIP } from 'node:net';
import type { Flow } from '../vocabulary/flow-sample.js';
import { transportName } from '../vocabulary/flow-sample.js';

export interface FlowFilterSpec {
  readonly protos: readonly string[];
  readonly ports: readonly number[];
  readonly hosts: readonly string[];
}

/** `::ffff:1.2.3.4` and `0:0::1` style spellings compared in one form. */
function canonical(addr: string): string {
  if (isIP(addr) !== 6) return addr;
  try {
    return new URL(`http://[${addr}]/`).hostname.slice(1, -1);
  } catch {
    return addr;
  }
}

export function buildFlowFilter(spec: FlowFilterSpec): (f: Flow) => boolean {
  const protos = new Set(spec.protos.map((p) => p.toLowerCase()));
  const ports = new Set(spec.ports);
  const hosts = new Set(spec.hosts.map(canonical));
  return (f) => {
    if (protos.size > 0) {
      const name = transportName(f.transport);
      if (name === null || (!protos.has(name) && !protos.has(String(f.transport)))) return false;
    }
    if (ports.size > 0 && !((f.srcPort !== null && ports.has(f.srcPort)) || (f.dstPort !== null && ports.has(f.dstPort)))) return false;
    if (hosts.size > 0 && !((f.srcAddr !== null && hosts.has(canonical(f.srcAddr))) || (f.dstAddr !== null && hosts.has(canonical(f.dstAddr))))) return false;
    return true;
  };
}
