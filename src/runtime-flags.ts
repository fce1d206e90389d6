/**
 * V8 settings for the kdrop agent process, applied before any other module loads (cli.ts imports this file
 * first: ESM evaluates imports in order).
 *
 * The young generation starts with 1 MB semi-spaces and V8 doubles them, up to 16 MB each, while
 * modules load and /proc/kallsyms is parsed; the pages stay resident afterwards. kdrop allocates
 * little per interval, so a young generation that never grows costs a few more (cheap) scavenges and
 * saves ~25 MB of RSS (kdrop agent measured: VmHWM 131 -> 106 MB, VmRSS 127 -> 97 MB). The same as
 * NODE_OPTIONS=--max-semi-space-size=1, which only works at startup; the growth factor is read at each
 * growth, so it works from here. An explicit semi-space setting in NODE_OPTIONS or the node command
 * line wins.
 *
 * --optimize-for-size (the agent too): V8 trades speed for memory (smaller heap growth steps, less eager
 * optimization). Measured here on the bundled agent (bench load, VmRSS after 8 s): 98-101 -> 88 MB; it
 * works when set from here (unlike --jitless or --lite-mode, which only work on the node command line and
 * would save another ~8 MB: docs/performance.md).
 *
 * --no-opt (the agent): no TurboFan, V8's top-tier optimizing compiler; the interpreter, Sparkplug and
 * Maglev remain. The agent's JavaScript runs once per interval over a few keys, and TurboFan is a large part
 * of the Node binary's code: its pages stay resident once it ran. Measured here on the bundled agent (bpf
 * source, 1 s interval, VmRSS after 8 s, three runs each): 90-96 -> 84-87 MiB (the binary's resident pages
 * 51.8 -> 46.4 MiB), start-up unchanged. Without Maglev too (--no-maglev) it saves ~3 MiB more, but the
 * symbol table's parse at start then runs in the baseline tiers: first report 0.8 -> 1.2-1.4 s. Where the
 * agent falls back to the tracefs source, which parses every drop in Node, TurboFan is turned back on
 * (optimizingCompilers(), from compose.ts) before it starts.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const explicit = /--(max-semi-space-size|semi-space-growth-factor|min-semi-space-size)\b/;
const tiers = /--(no-)?(opt|turbofan|jitless)\b/;
const given = (re: RegExp): boolean => re.test(process.env.NODE_OPTIONS ?? '') || process.execArgv.some((a) => re.test(a));

// Only for the long-running agent: `kdrop watch --source tracefs` parses every event in Node, and there
// a small young generation measured up to ~20% more CPU at ~400k events/s (noisy: 1.6-1.95 vs 1.95
// us/event); the agent showed no difference (bpftrace: 0.60 vs 0.62 s, tracefs: 2.85 vs 3.02 s of CPU).
const isAgent = process.argv.slice(2).includes('agent');

const set: string[] = [];
const apply = (flag: string): void => {
  setFlagsFromString(flag);
  set.push(flag);
};
if (isAgent && !given(explicit)) apply('--semi-space-growth-factor=1');
if (isAgent && !given(/--(no-)?optimize[-_]for[-_]size\b/)) apply('--optimize-for-size');
let compilersOff = false;
if (isAgent && !given(tiers)) {
  apply('--no-opt');
  compilersOff = true;
}

/** The V8 flags set here (the agent logs them at start). */
export function runtimeFlags(): readonly string[] {
  return set;
}

/** Turns TurboFan back on where it was turned off here (a source that parses every event). */
export function optimizingCompilers(): void {
  if (!compilersOff) return;
  setFlagsFromString('--opt');
  compilersOff = false;
  set.push('--opt');
}

/**
 * One full garbage collection in the agent, once its start-up reads are parsed (the reason names from
 * BTF, the symbols' check). When /sys/kernel/btf/vmlinux was read whole (5.5 MB here; since then it is read
 * in 256 KB windows, kernel/btf-file.ts), its buffer was garbage right after, but promoted while the file was
 * read in chunks, and without a full collection V8 kept it, with the rest of the start-up garbage, until the
 * old generation next filled: measured on the agent (process.memoryUsage(), 0.1 s steps), 6.2 MiB of array
 * buffers and RSS 79-80 MiB from 0.5 s to ~8 s, then 73 MiB after the first full collection. Kept for the rest
 * of the start-up garbage (its own effect after the windowed read was not measured separately). Not for other
 * commands (short-lived).
 * `gc` is exposed only for this call (the way Jest's --logHeapUsage reaches it) and hidden again.
 */
export function collectStartupGarbage(): boolean {
  if (!isAgent) return false;
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  setFlagsFromString('--no-expose-gc');
  if (typeof gc !== 'function') return false;
  gc();
  return true;
}
