/** Helpers for kernel tests of the bpf source: skip reasons, the loader's path, our pin directories. */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
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

/**
 * kdrop-probe forced onto its pre-5.12 object (--no-atomics, the one the loader picks where the kernel
 * refuses BPF atomics but add), as an executable wrapper for BpfSource's `probe` option; remove() after.
 */
export function pre512Probe(): { readonly path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'kdrop-pre512-'));
  const path = join(dir, 'kdrop-probe');
  writeFileSync(path, `#!/bin/sh\nexec '${PROBE.replaceAll("'", "'\\''")}' --no-atomics "$@"\n`, { mode: 0o755 });
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Whether the running kernel takes BPF atomics other than add (5.12+), from its release. */
export function kernelTakesAtomics(): boolean {
  const [major = 0, minor = 0] = release().split('.').map((x) => Number.parseInt(x, 10));
  return major > 5 || (major === 5 && minor >= 12);
}
