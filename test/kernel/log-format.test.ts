/** Logs of a command run by a person: readable text lines with --log-format text, JSON lines otherwise. Needs root. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cliPath } from '../helpers/cli.js';
import { kernelTestSkipReason } from '../helpers/netns.js';
import { PROBE, probeSkipReason } from '../helpers/probe.js';
import { selfNetnsNotice } from '../../src/enrich/proc-scan.js';

const skip = kernelTestSkipReason() ?? false;
const skipProbe = probeSkipReason() ?? false;
const run = (format: string) =>
  spawnSync(process.execPath, [cliPath, '--log-format', format, 'watch', '--source', 'tracefs', '--count', '1', '--interval', '200ms'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', KDROP_LOG_LEVEL: 'info' },
    timeout: 60_000,
  });

test('watch --log-format text: readable "[time] LEVEL: component: message" lines, no JSON', { skip }, () => {
  const r = run('text');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => /^\[\d\d:\d\d:\d\d\] [A-Z]+: /.test(l));
  assert.ok(lines.some((l) => l.endsWith('INFO: source.tracefs: tracefs source started')), r.stderr);
  assert.ok(!r.stderr.split('\n').some((l) => l.startsWith('{"level"')), r.stderr);
});

test('watch --log-format json: one JSON object per log line with a component', { skip }, () => {
  const r = run('json');
  assert.equal(r.status, 0, r.stderr);
  const recs = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(recs.some((x) => x['msg'] === 'tracefs source started' && x['component'] === 'source.tracefs'), r.stderr);
});

test('watch on a terminal at its default level: the seed lines, and any warning one short line (no fields, no hostNetwork off Kubernetes)', { skip: skipProbe }, () => {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', KDROP_PROBE: PROBE, KDROP_PIN_ROOT: `/sys/fs/bpf/kdrop-test-${process.pid}-tty` };
  delete env['KDROP_LOG_LEVEL'];
  delete env['KDROP_LOG_FORMAT'];
  delete env['KUBERNETES_SERVICE_HOST'];
  // script(1) gives kdrop a terminal on stdin, stdout and stderr, as a person has.
  const cmd = [process.execPath, cliPath, 'watch', '--source', 'bpf', '--count', '1', '--interval', '500ms'].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(r.status, 0, r.stdout);
  const lines = r.stdout.replace(/\r/g, '').split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines[0], 'Monitoring for dropped packets', r.stdout);
  assert.equal(lines.at(-1), 'Stopping dropped packet monitor', r.stdout);
  for (const l of lines.slice(1, -1)) {
    assert.match(l, /^(\d+ packets? dropped at \S+ .*|\[\d\d:\d\d:\d\d\] (WARN|ERROR): [^\n]{1,160})$/, `a seed line or a one-line warning: ${JSON.stringify(l)}\n${r.stdout}`);
    assert.doesNotMatch(l, /INFO|hostNetwork|loaderPid|pinned/, l);
  }
});

test('the pid 1 netns fallback: a warning naming hostNetwork in a pod, a debug line on a plain host', () => {
  assert.deepEqual(selfNetnsNotice(true).level, 'warn');
  assert.match(selfNetnsNotice(true).message, /hostNetwork/);
  assert.equal(selfNetnsNotice(false).level, 'debug');
  assert.doesNotMatch(selfNetnsNotice(false).message, /hostNetwork/);
});
