/** CPU and memory of a process and all its descendants, read from /proc (no extra tools). */
import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = 100; // USER_HZ on Linux x86-64 and arm64
const PAGE = 4096;

interface Stat {
  pid: number;
  ppid: number;
  /** utime + stime in ticks */
  ticks: number;
  rssPages: number;
}

function readStat(pid: number): Stat | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // rest[0] = state (field 3); field n is rest[n-3]
    return { pid, ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]), rssPages: Number(rest[21]) };
  } catch {
    return null;
  }
}

export function processTree(root: number): Stat[] {
  const all: Stat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st) all.push(st);
  }
  const children = new Map<number, Stat[]>();
  for (const st of all) {
    const list = children.get(st.ppid) ?? [];
    list.push(st);
    children.set(st.ppid, list);
  }
  const out: Stat[] = [];
  const rootStat = all.find((s) => s.pid === root);
  if (!rootStat) return out;
  const queue = [rootStat];
  while (queue.length > 0) {
    const s = queue.shift()!;
    out.push(s);
    queue.push(...(children.get(s.pid) ?? []));
  }
  return out;
}

/** CPU seconds used so far by the live tree. */
export function treeCpuSeconds(root: number): number {
  return processTree(root).reduce((a, s) => a + s.ticks, 0) / CLK_TCK;
}

/** Samples RSS every `ms` and keeps the peaks until stopped: the whole tree's sum, and the root process alone. */
export function rssPeakSampler(root: number, ms = 100): { stop(): { tree: number; root: number } } {
  let peak = 0;
  let rootPeak = 0;
  const tick = (): void => {
    const tree = processTree(root);
    peak = Math.max(peak, tree.reduce((a, s) => a + s.rssPages, 0) * PAGE);
    rootPeak = Math.max(rootPeak, (tree.find((s) => s.pid === root)?.rssPages ?? 0) * PAGE);
  };
  tick();
  const t = setInterval(tick, ms);
  return {
    stop() {
      clearInterval(t);
      tick();
      return { tree: peak, root: rootPeak };
    },
  };
}
