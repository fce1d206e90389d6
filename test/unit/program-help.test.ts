/** The CLI's help says what the settings accept: every --source lists every source the schema takes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram } from '../../src/program.js';
import { sourceChoice } from '../../src/config/common.js';

test('--source help of every command lists the sources the command can start', () => {
  const program = buildProgram();
  const seen: string[] = [];
  for (const cmd of program.commands) {
    const opt = cmd.options.find((o) => o.long === '--source');
    if (opt === undefined || cmd.name() === 'trace') continue; // trace: samples need bpf, its help says so
    seen.push(cmd.name());
    for (const choice of sourceChoice.options) assert.match(opt.description, new RegExp(`\\b${choice}\\b`), `${cmd.name()} --source help: ${opt.description}`);
  }
  assert.ok(seen.includes('watch') && seen.includes('top') && seen.includes('agent'), seen.join(' '));
});
