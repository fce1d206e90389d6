import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { logFormatFor } from '../../src/log.js';
import { cliPath } from '../helpers/cli.js';

test('log format: text for a person at a terminal, JSON for the agent and for pipes; explicit choice wins', () => {
  const argv = (...a: string[]) => ['node', 'cli.js', ...a];
  assert.equal(logFormatFor(argv('watch'), {}, true), 'text');
  assert.equal(logFormatFor(argv('doctor'), {}, true), 'text');
  assert.equal(logFormatFor(argv('agent'), {}, true), 'json');
  assert.equal(logFormatFor(argv('watch'), {}, false), 'json');
  assert.equal(logFormatFor(argv('--log-format', 'json', 'watch'), {}, true), 'json');
  assert.equal(logFormatFor(argv('--log-format=text', 'agent'), {}, false), 'text');
  assert.equal(logFormatFor(argv('agent'), { KDROP_LOG_FORMAT: 'text' }, false), 'text');
  assert.equal(logFormatFor(argv('--log-format', 'json', 'watch'), { KDROP_LOG_FORMAT: 'text' }, true), 'json');
});

test('a bad --log-format or KDROP_LOG_FORMAT is one CONFIG error naming what was typed (exit 2)', () => {
  const bad = spawnSync(process.execPath, [cliPath, '--log-format', 'yaml', 'symbolize', '0x1'], { encoding: 'utf8' });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /invalid --log-format .*\n.*expected text or json, found "yaml" \[KDROP_E_CONFIG\]/);
  const env = spawnSync(process.execPath, [cliPath, 'symbolize', '0x1'], { encoding: 'utf8', env: { ...process.env, KDROP_LOG_FORMAT: 'xml' } });
  assert.equal(env.status, 2, env.stderr);
  assert.match(env.stderr, /invalid KDROP_LOG_FORMAT .*\n.*found "xml"/);
});
