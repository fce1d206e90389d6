/**
 * A stand-in for bpftrace in unit tests: replays recorded NDJSON. Not a test file.
 *
 *   fake-bpftrace --version                 prints FAKE_BPFTRACE_VERSION (default "bpftrace v0.17.0")
 *   fake-bpftrace -f json ... -e PROGRAM    plays run number N of the scenario in FAKE_BPFTRACE_SCENARIO,
 *                                           N counted in the file FAKE_BPFTRACE_STATE (one run per spawn)
 *
 * A scenario run: `start` lines are printed at once; each SIGUSR1 prints the next of `snapshots` (the last
 * one repeats); after `dieAfter` snapshots the process exits 1 without printing; SIGINT prints `exit` and
 * exits 0 (with `ignoreSigint`, SIGINT is ignored). `startStderr` + `startExitCode` make it fail at start
 * instead.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';

interface Run {
  start?: string[];
  snapshots?: string[][];
  exit?: string[];
  dieAfter?: number;
  startStderr?: string;
  startExitCode?: number;
  ignoreSigint?: boolean;
}

const args = process.argv.slice(2);
if (args.includes('--version')) {
  process.stdout.write(`${process.env['FAKE_BPFTRACE_VERSION'] ?? 'bpftrace v0.17.0'}\n`);
  process.exit(0);
}
const scenario = JSON.parse(readFileSync(process.env['FAKE_BPFTRACE_SCENARIO'] ?? '', 'utf8')) as { runs: Run[] };
const stateFile = process.env['FAKE_BPFTRACE_STATE'] ?? '';
const n = existsSync(stateFile) ? Number(readFileSync(stateFile, 'utf8')) : 0;
writeFileSync(stateFile, String(n + 1));
const run = scenario.runs[Math.min(n, scenario.runs.length - 1)] ?? {};
if (process.env['FAKE_BPFTRACE_ARGS']) {
  writeFileSync(`${process.env['FAKE_BPFTRACE_ARGS']}.${n}`, JSON.stringify(args));
  writeFileSync(`${process.env['FAKE_BPFTRACE_ARGS']}.${n}.pid`, String(process.pid));
}

if (run.startExitCode !== undefined) {
  process.stderr.write(run.startStderr ?? '');
  process.exit(run.startExitCode);
}
const out = (lines: readonly string[]): void => {
  for (const l of lines) process.stdout.write(`${l}\n`);
};
process.stderr.write('ERROR: Unknown error -1: couldn\'t set RLIMIT_MEMLOCK for bpftrace.\n');
let shown = 0;
process.on('SIGUSR1', () => {
  const snaps = run.snapshots ?? [];
  const s = snaps[Math.min(shown, snaps.length - 1)];
  shown++;
  if (run.dieAfter !== undefined && shown > run.dieAfter) process.exit(1);
  if (s) out(s);
});
process.on('SIGINT', () => {
  if (run.ignoreSigint === true) return;
  out(run.exit ?? []);
  process.exit(0);
});
process.on('SIGTERM', () => process.exit(0));
out(run.start ?? []); // after the handlers, as bpftrace prints its ready marker after setting them up
setInterval(() => undefined, 1 << 30);
