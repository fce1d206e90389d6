/** Helpers for kernel tests of the bpf source: skip reasons, the loader's path, our pin directories. */
import { existsSync, readdirSync } from 'node:fs';
import { probePath } from '../../src/source/bpf/index.js';
import { kernelTestSkipReason } from './netns.js';

export const PIN_ROOT = '/sys/fs/bpf/kdrop';

export const PROBE = probePath();

/** Why kernel tests of the bpf source cannot run here, or null. */
export function probeSkipReason(): string | null {
  const k = kernelTestSkipReason();
  if (k) return k;
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'no kernel BTF (/sys/kernel/btf/vmlinux)';
  if (!existsSync(PROBE)) return `kdrop-probe not built at ${PROBE} (run scripts/build-probe.sh)`;
  return null;
}

/** Pin directories of kdrop process `pid` (named <pid>-<starttime>-<n>). */
export function pinsOf(pid: number): string[] {
  if (!existsSync(PIN_ROOT)) return [];
  return readdirSync(PIN_ROOT).filter((n) => n.startsWith(`${pid}-`));
}
