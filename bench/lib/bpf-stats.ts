/**
 * In-kernel cost per event of the BPF programs a monitor runs, from the kernel's own accounting
 * (kernel.bpf_stats_enabled=1: run_time_ns and run_cnt per program). The sysctl is turned on only for a
 * short extra load and off again after (withBpfStats). The monitor's programs are
 * the ones its process tree holds (prog_id in /proc/<pid>/fdinfo); bpftool gives their counters.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

interface ProgInfo {
  id: number;
  name?: string;
  run_time_ns?: number;
  run_cnt?: number;
}

/** Ids of the BPF programs the processes hold (fdinfo of a program or link fd names its prog_id). */
function heldProgramIds(pids: ReadonlySet<number>): Set<number> {
  const ids = new Set<number>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fdinfo`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^prog_id:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
        if (m?.[1]) ids.add(Number(m[1]));
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return ids;
}

/** run_time_ns and run_cnt summed over the programs held by any of `pids`. */
export function programStats(pids: ReadonlySet<number>): { ns: number; cnt: number; names: string[] } {
  const ids = heldProgramIds(pids);
  const out = execFileSync('bpftool', ['prog', 'show', '-j'], { maxBuffer: 64 << 20 }).toString();
  const progs = JSON.parse(out) as ProgInfo[];
  let ns = 0;
  let cnt = 0;
  const names: string[] = [];
  for (const p of progs) {
    if (!ids.has(p.id)) continue;
    ns += p.run_time_ns ?? 0;
    cnt += p.run_cnt ?? 0;
    names.push(p.name ?? String(p.id));
  }
  return { ns, cnt, names };
}

/**
 * Runs `fn` with kernel.bpf_stats_enabled=1. Only a run that found it 0 turns it on, and it turns it off again
 * after `fn`, or on SIGINT/SIGTERM. Restoring "the previous value" was not enough: two benches at once (one read
 * 0 and set 1, the other read that 1) left it on for good when the second restored its 1 after the first's 0.
 */
export async function withBpfStats<T>(fn: () => Promise<T>): Promise<T> {
  if (readFileSync(SYSCTL, 'utf8').trim() !== '0') return await fn(); // on already: not ours to turn off
  writeFileSync(SYSCTL, '1');
  const off = (): void => writeFileSync(SYSCTL, '0');
  const onSignal = (sig: NodeJS.Signals): void => {
    off();
    process.kill(process.pid, sig);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    off();
  }
}
