/**
 * Pure parsers for kdrop-probe's sample lines (probe/loader.c):
 *
 *   S <ktime> <location hex> <reason> <protocol> <netns> <l4proto> <saddr|-> <sport> <daddr|-> <dport>
 *     <tcpflags> <icmp type> <icmp code> <ifindex> <ifname|-> <len> <stackid> <suppressed>
 *   K <stackid> <addr hex>...      the stack of the S line that follows, innermost first
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import type { Flow } from '../../vocabulary/flow-sample.js';

export interface SampleLine {
  readonly kind: 'sample';
  /** bpf_ktime_get_ns() of the drop (CLOCK_MONOTONIC). */
  readonly ktimeNs: bigint;
  readonly address: bigint;
  readonly reasonCode: number;
  readonly protocol: number;
  readonly netns: number;
  readonly flow: Flow;
  readonly ifindex: number;
  readonly ifname: string | null;
  readonly len: number;
  /** Stack map id, -1 when none. */
  readonly stackId: number;
  /** Drops of this key the kernel did not sample since its previous sample. */
  readonly suppressed: number;
}

export interface StackLine {
  readonly kind: 'stack';
  readonly stackId: number;
  readonly addresses: readonly bigint[];
}

function bad(what: string, line: string): KdropError {
  return new KdropError(ErrorCodes.TRACER_OUTPUT, `bad kdrop-probe sample line: ${what}`, {
    expected: 'S <ktime> <location> <reason> <protocol> <netns> <l4proto> <saddr> <sport> <daddr> <dport> <tcpflags> <icmp type> <icmp code> <ifindex> <ifname> <len> <stackid> <suppressed>, or K <stackid> <addr>...',
    found: excerpt(line, 160),
  });
}

function uint(text: string | undefined, line: string, what: string, max: number): number {
  if (text === undefined || !/^\d{1,10}$/.test(text)) throw bad(`${what} is not a decimal integer`, line);
  const n = Number(text);
  if (n > max) throw bad(`${what} out of range`, line);
  return n;
}

function hex64(text: string | undefined, line: string, what: string): bigint {
  if (text === undefined || !/^[0-9a-f]{1,16}$/.test(text)) throw bad(`${what} is not hex`, line);
  return BigInt(`0x${text}`);
}

function addr(text: string | undefined, line: string, what: string): { family: 4 | 6 | null; addr: string | null } {
  if (text === '-') return { family: null, addr: null };
  if (text !== undefined && isIPv4(text)) return { family: 4, addr: text };
  if (text !== undefined && isIPv6(text)) return { family: 6, addr: text };
  throw bad(`${what} is not an IP address`, line);
}

const TCP = 6;
const UDP = 17;
const UDPLITE = 136;
const ICMP = 1;
const ICMPV6 = 58;

/** An S line (already split on spaces). Throws TRACER_OUTPUT when malformed. */
export function parseSampleLine(parts: readonly string[], line: string): SampleLine {
  if (parts.length !== 19) throw bad(`S line with ${parts.length - 1} fields, expected 18`, line);
  const ktime = parts[1] ?? '';
  if (!/^\d{1,20}$/.test(ktime)) throw bad('ktime is not a decimal integer', line);
  const l4 = uint(parts[6], line, 'l4proto', 255);
  const src = addr(parts[7], line, 'saddr');
  const dst = addr(parts[9], line, 'daddr');
  if (src.family !== dst.family) throw bad('saddr and daddr of different families', line);
  const sport = uint(parts[8], line, 'sport', 0xffff);
  const dport = uint(parts[10], line, 'dport', 0xffff);
  const tcpFlags = uint(parts[11], line, 'tcpflags', 255);
  const icmpType = uint(parts[12], line, 'icmp type', 255);
  const icmpCode = uint(parts[13], line, 'icmp code', 255);
  const ip = src.family !== null;
  const ports = ip && (l4 === TCP || l4 === UDP || l4 === UDPLITE);
  const icmp = ip && (l4 === ICMP || l4 === ICMPV6);
  const ifname = parts[15] ?? '-';
  // The loader prints `?` for bytes outside printable ASCII; IFNAMSIZ is 16 with the NUL.
  if (!/^[\x21-\x7e]{1,15}$/.test(ifname)) throw bad('ifname is not 1 to 15 printable characters', line);
  const stack = parts[17] ?? '';
  if (!/^-?\d{1,10}$/.test(stack)) throw bad('stackid is not an integer', line);
  return {
    kind: 'sample',
    ktimeNs: BigInt(ktime),
    address: hex64(parts[2], line, 'location'),
    reasonCode: uint(parts[3], line, 'reason', 0xffffffff),
    protocol: uint(parts[4], line, 'protocol', 0xffff),
    netns: uint(parts[5], line, 'netns', 0xffffffff),
    flow: {
      family: src.family,
      transport: ip ? l4 : null,
      srcAddr: src.addr,
      srcPort: ports ? sport : null,
      dstAddr: dst.addr,
      dstPort: ports ? dport : null,
      tcpFlags: ip && l4 === TCP ? tcpFlags : null,
      icmpType: icmp ? icmpType : null,
      icmpCode: icmp ? icmpCode : null,
    },
    ifindex: uint(parts[14], line, 'ifindex', 0xffffffff),
    ifname: ifname === '-' ? null : ifname,
    len: uint(parts[16], line, 'len', 0xffffffff),
    stackId: Number(stack),
    suppressed: uint(parts[18], line, 'suppressed', 0xffffffff),
  };
}

/** A K line (already split on spaces). */
export function parseStackLine(parts: readonly string[], line: string): StackLine {
  if (parts.length < 2 || parts.length > 130) throw bad(`K line with ${parts.length - 1} fields`, line);
  const id = uint(parts[1], line, 'stackid', 0x7fffffff);
  return { kind: 'stack', stackId: id, addresses: parts.slice(2).map((a, i) => hex64(a, line, `frame ${i}`)) };
}
