/** Logs of a command run by a person: readable text lines with --log-format text, JSON lines otherwise. Needs root. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cliPath } from '../helpers/cli.js';
import { kernelTestSkipReason } from '../helpers/netns.js';

const skip = kernelTestSkipReason() ?? false;
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
