/** Helpers for tests of the real tracer: skip reasons, and finding the bpftrace processes kdrop started. */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { OWNER_ENV } from '../../src/source/bpftrace/index.js';
import { kernelTestSkipReason } from './netns.js';

export const FORMAT_PATH = '/sys/kernel/tracing/events/skb/kfree_skb/format';

/** Why bpftrace kernel tests cannot run here, or null. */
export function bpftraceSkipReason(): string | null {
  const k = kernelTestSkipReason();
  if (k) return k;
  if (!existsSync(FORMAT_PATH)) return `no ${FORMAT_PATH} (tracefs not mounted?)`;
  if (!existsSync('/usr/bin/bpftrace') && !existsSync('/usr/local/bin/bpftrace')) return 'bpftrace not installed';
  return null;
}

/** Pids of the bpftrace processes whose owner tag (set by the bpftrace source) names this kdrop pid. */
export async function bpftraceOf(ownerPid: number): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const comm = await readFile(`/proc/${name}/comm`, 'utf8').catch(() => '');
    if (comm.trim() !== 'bpftrace') continue;
    const env = await readFile(`/proc/${name}/environ`, 'utf8').catch(() => '');
    if (env.split('\0').some((e) => e.startsWith(`${OWNER_ENV}=${ownerPid}:`))) out.push(Number(name));
  }
  return out;
}

/** True when the process no longer exists or is a zombie. */
export async function processGone(pid: number): Promise<boolean> {
  const st = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  return st === null || /^State:\s+Z/m.test(st);
}
