/**
 * What kernel tests expect of the running kernel, read from it and never assumed:
 * - drop reason codes, from the kfree_skb format file (else BTF enum skb_drop_reason): the numbering
 *   drifts (NO_SOCKET is 2 on 6.1, 3 from 6.12);
 * - the functions that free known drops, from kallsyms: 7.x inlines __udp4_lib_rcv into udp_rcv (and
 *   __udp6_lib_rcv into udpv6_rcv); nftables drops are freed in nf_hook_slow on older kernels and in
 *   nft_do_chain on newer ones.
 * Netns inodes are read with readlink (helpers/netns.ts, src/enrich/proc-scan.ts), never written down.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseFormat } from '../../src/kernel/format.js';
import { parseBtfEnum } from '../../src/kernel/btf-enums.js';
import { dropReasonNames } from '../../src/kernel/btf-reasons.js';

const FORMAT_FILES = ['/sys/kernel/tracing/events/skb/kfree_skb/format', '/sys/kernel/debug/tracing/events/skb/kfree_skb/format'];
const BTF = '/sys/kernel/btf/vmlinux';

let reasons: Map<string, number> | undefined;

/** This kernel's drop reasons, name (without SKB_DROP_REASON_) -> code; empty before 5.17. */
export function kernelReasonCodes(): ReadonlyMap<string, number> {
  if (reasons) return reasons;
  const file = FORMAT_FILES.find((f) => existsSync(f));
  let table: ReadonlyMap<number, string> = file ? parseFormat(readFileSync(file, 'utf8')).reasons : new Map();
  if (table.size === 0 && existsSync(BTF)) table = dropReasonNames(parseBtfEnum(readFileSync(BTF), 'skb_drop_reason'));
  reasons = new Map([...table].map(([code, name]) => [name, code]));
  return reasons;
}

/** The running kernel's code of drop reason `name` (e.g. NO_SOCKET); throws when the kernel has no such reason. */
export function reasonCode(name: string): number {
  const code = kernelReasonCodes().get(name);
  if (code === undefined) {
    const n = kernelReasonCodes().size;
    throw new Error(`expected drop reason ${name} in the running kernel's kfree_skb format or BTF; found ${n === 0 ? 'no reasons (before 5.17?)' : `${n} reasons without it`}`);
  }
  return code;
}

/** Known drops the tests make, and the functions that may free them, innermost first. */
const SITES = {
  /** UDP over IPv4 to a closed port (NO_SOCKET) */
  udp4: ['__udp4_lib_rcv', 'udp_rcv'],
  /** UDP over IPv6 to a closed port (NO_SOCKET) */
  udp6: ['__udp6_lib_rcv', 'udpv6_rcv'],
  /** a TCP SYN over IPv4 to a closed port (NO_SOCKET) */
  tcp4: ['tcp_v4_rcv'],
  /** an nftables drop rule (NETFILTER_DROP): nft_do_chain on newer kernels, nf_hook_slow on older ones */
  nft: ['nft_do_chain', 'nf_hook_slow'],
} as const;
export type DropSite = keyof typeof SITES;

/** Text symbols of /proc/kallsyms, core and modules. */
function textSymbols(): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync('/proc/kallsyms', 'utf8').split('\n')) {
    const [, type, name] = line.split(/\s+/);
    if ((type === 't' || type === 'T') && name) out.add(name);
  }
  return out;
}

const found = new Map<DropSite, string[]>();

/**
 * The candidates for `site` that are functions of the running kernel, innermost first. Read from kallsyms
 * once per site, except nft (nf_tables is a module that loads with the first table: read each time).
 */
export function dropFunctions(site: DropSite): string[] {
  const known = found.get(site);
  if (known) return known;
  const syms = textSymbols();
  const list = SITES[site].filter((f) => syms.has(f));
  if (list.length === 0) throw new Error(`expected one of ${SITES[site].join(', ')} in /proc/kallsyms (the ${site} drop site); found none`);
  if (site !== 'nft') found.set(site, list);
  return list;
}

/**
 * The function that frees `site`'s drop on the running kernel: the innermost candidate it has (a function
 * inlined into its caller has no symbol of its own). For nft, where both exist and the kernel version
 * decides, tests accept any of dropFunctions('nft').
 */
export function dropFunction(site: Exclude<DropSite, 'nft'>): string {
  return dropFunctions(site)[0] as string;
}
