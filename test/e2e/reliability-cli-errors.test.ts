/**
 * Reliability: bad flags, environment variables and config give ONE clear error on stderr and exit code 2;
 * nothing is started and nothing is printed on stdout. Runs the built CLI as a child process; needs no root
 * (every case fails in option validation, before any kernel access).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cliPath } from '../helpers/cli.js';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function kdrop(args: readonly string[], env: NodeJS.ProcessEnv = {}): Result {
  const base = { ...process.env };
  for (const k of Object.keys(base)) if (k.startsWith('KDROP_')) delete base[k];
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    env: { ...base, KUBECONFIG: '/nonexistent/kdrop-reliability-test', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 2, nothing on stdout, no stack trace, no log lines; returns the stderr lines. */
function usageError(r: Result): string[] {
  assert.equal(r.code, 2, `exit code; stderr:\n${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.ok(!lines.some((l) => /^\s+at /.test(l)), `no stack trace:\n${r.stderr}`);
  assert.ok(!lines.some((l) => l.startsWith('{')), `no log lines (nothing was started):\n${r.stderr}`);
  return lines;
}

/** One KdropError CONFIG listing `n` problems, one per line, each matching a pattern in order. */
function configError(r: Result, what: RegExp, problems: readonly RegExp[]): void {
  const lines = usageError(r);
  assert.match(lines[0]!, new RegExp(`^kdrop: invalid ${what.source} \\(${problems.length} problems?\\):$`));
  assert.equal(lines.length, problems.length + 1, r.stderr);
  problems.forEach((p, i) => assert.match(lines[i + 1]!, p));
  assert.match(lines.at(-1)!, /\[KDROP_E_CONFIG\]$/);
}

test('watch --interval nope --source x: one error listing both problems, exit 2', () => {
  configError(kdrop(['watch', '--interval', 'nope', '--source', 'x']), /kdrop watch options/, [
    /^ {2}--interval: expected a duration like 5s, 500ms or 1m, found "nope"$/,
    /^ {2}--source: expected auto, bpf, bpftrace or tracefs, found "x"/,
  ]);
});

test('the same problems from KDROP_INTERVAL / KDROP_SOURCE', () => {
  configError(kdrop(['watch'], { KDROP_INTERVAL: 'soon', KDROP_SOURCE: 'ebpf' }), /kdrop watch options/, [/^ {2}KDROP_INTERVAL: .*found "soon"/, /^ {2}KDROP_SOURCE: .*found "ebpf"/]);
});

test('every bad watch option at once: five problems in one error', () => {
  configError(kdrop(['watch', '--count', '0', '--netns', 'abc', '--pod', 'BAD', '--reason', 'a b', '--interval', '0.0001ms']), /kdrop watch options/, [
    /--interval: .*found "0.0001ms"/,
    /--count: expected a positive whole number/,
    /--pod: expected NAMESPACE\/NAME/,
    /--reason\[0\]: expected a reason name/,
    /--netns\[0\]: expected a netns inode number/,
  ]);
});

test('durations a timer cannot wait (0 ms, more than 2^31-1 ms) are rejected', () => {
  configError(kdrop(['watch', '--interval', '3000000000h']), /kdrop watch options/, [/found "3000000000h"/]);
  configError(kdrop(['watch', '--interval', '0s']), /kdrop watch options/, [/found "0s"/]);
});

test('--log-level and KDROP_LOG_LEVEL: unknown levels are CONFIG errors (the env one used to crash in pino at import)', () => {
  configError(kdrop(['--log-level', 'loud', 'watch']), /--log-level/, [/found "loud"/]);
  configError(kdrop(['watch'], { KDROP_LOG_LEVEL: 'loud' }), /KDROP_LOG_LEVEL/, [/found "loud"/]);
  configError(kdrop(['symbolize', '0x1'], { KDROP_LOG_LEVEL: 'verbose' }), /KDROP_LOG_LEVEL/, [/found "verbose"/]);
});

test('host paths: an empty KDROP_PROC_PATH is a CONFIG error', () => {
  configError(kdrop(['watch'], { KDROP_PROC_PATH: '' }), /host paths/, [/^ {2}--proc \/ KDROP_PROC_PATH: expected a non-empty directory path/]);
});

test('usage errors from the option parser (unknown option or command, missing value or argument) exit 2 with one line', () => {
  for (const [args, msg] of [
    [['watch', '--bogus'], /^error: unknown option '--bogus'$/],
    [['bogus'], /^error: unknown command 'bogus'$/],
    [['watch', '--interval'], /^error: option '-i, --interval <duration>' argument missing$/],
    [['symbolize'], /^error: missing required argument 'address'$/],
    [['doctor', '--bogus'], /^error: unknown option '--bogus'$/],
  ] as const) {
    const lines = usageError(kdrop(args));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, msg);
  }
});

test('--help and --version still exit 0', () => {
  assert.equal(kdrop(['--help']).code, 0);
  assert.equal(kdrop(['watch', '--help']).code, 0);
  const v = kdrop(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('kdrop agent: flags, env and config file problems in one error, exit 2, nothing started', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'kdrop-cfg-'));
  try {
    const agentError = (r: Result, problems: readonly RegExp[]): void => {
      const lines = usageError(r);
      assert.match(lines[0]!, new RegExp(`^kdrop: invalid agent configuration \\(${problems.length} problems?\\):$`));
      problems.forEach((p, i) => assert.match(lines[i + 1]!, p));
      assert.match(lines.at(-1)!, /\[KDROP_E_CONFIG\]$/);
    };
    agentError(kdrop(['agent', '--interval', 'soon'], { KDROP_SOURCE: 'ebpf' }), [/--interval: .*found "soon"/, /KDROP_SOURCE: .*found "ebpf"/]);
    agentError(kdrop(['agent', '--metrics-address', 'nope'], { KDROP_LOG_LEVEL: 'loud' }), [/--metrics-address: .*found "nope"/, /KDROP_LOG_LEVEL: .*found "loud"/]);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"interval": 5,');
    agentError(kdrop(['agent', '--config', broken]), [/invalid JSON/]);
    const unknown = join(dir, 'unknown.json');
    writeFileSync(unknown, JSON.stringify({ interval: 'soon', bogus: 1 }));
    agentError(kdrop(['agent', '--config', unknown]), [/unknown key "bogus"/, /\(interval\): .*found "soon"/]);
    agentError(kdrop(['agent', '--config', join(dir, 'missing.json')]), [/cannot read .*ENOENT/]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
