/** Effective capabilities from /proc/<pid>/status (`CapEff:	000001fffeffffff`). */
import { ErrorCodes, KdropError, excerpt } from '../errors.js';

/** Capability numbers kdrop cares about (linux/capability.h). */
export const Capabilities = {
  CAP_DAC_READ_SEARCH: 2,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_RESOURCE: 24,
  CAP_SYSLOG: 34,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
} as const;

export type CapabilityName = keyof typeof Capabilities;

/** Parses the CapEff mask from a /proc/<pid>/status text. */
export function parseCapEff(statusText: string): bigint {
  const m = /^CapEff:\s*([0-9a-fA-F]{1,16})\s*$/m.exec(statusText);
  if (m === null || m[1] === undefined) {
    const line = /^CapEff:.*$/m.exec(statusText)?.[0] ?? '(no CapEff line)';
    throw new KdropError(ErrorCodes.PERMISSION, 'cannot read effective capabilities', {
      expected: 'a "CapEff:\\t<hex mask>" line in /proc/self/status',
      found: excerpt(line),
    });
  }
  return BigInt(`0x${m[1]}`);
}

export function hasCapability(mask: bigint, cap: CapabilityName): boolean {
  return ((mask >> BigInt(Capabilities[cap])) & 1n) === 1n;
}

/** The named capabilities present in a mask, in the order of Capabilities. */
export function capabilityNames(mask: bigint): CapabilityName[] {
  return (Object.keys(Capabilities) as CapabilityName[]).filter((c) => hasCapability(mask, c));
}
