/**
 * V8 settings of src/runtime-flags.ts, observed in a child Node (the flags are process-wide): for the agent
 * the optimizing compilers stay off (a hot function is neither Maglev- nor TurboFan-compiled) until
 * optimizingCompilers() turns them back on (the tracefs source); other commands keep them; a flag given on
 * the command line wins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

const flagsModule = new URL('../../src/runtime-flags.js', import.meta.url).href;

// Runs in the child: imports the module, runs a hot function, reports whether V8 optimized it (bits of
// %GetOptimizationStatus: 32 Maglev, 64 TurboFan), then again after optimizingCompilers().
const script = `
const m = await import(${JSON.stringify(flagsModule)});
const optimized = (f) => (eval('%GetOptimizationStatus(f)') & (32 | 64)) !== 0;
const hot = () => new Function('a', 'let x = 0; for (let i = 0; i < a.length; i++) x += a.charCodeAt(i) * i; return x;');
const until = (f, ms) => {
  const end = Date.now() + ms;
  let t = 0;
  do { for (let i = 0; i < 20000; i++) t += f('hello world ' + (i & 7)); } while (!optimized(f) && Date.now() < end);
  return optimized(f);
};
const before = until(hot(), 1500);
const flags = [...m.runtimeFlags()];
m.optimizingCompilers();
const after = until(hot(), 20000);
process.stdout.write(JSON.stringify({ flags, before, after }));
`;

function child(args: readonly string[], nodeFlags: readonly string[] = []): { flags: string[]; before: boolean; after: boolean } {
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', ...nodeFlags, '--input-type=module', '-e', script, 'kdrop', ...args], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  return JSON.parse(out) as { flags: string[]; before: boolean; after: boolean };
}

test('agent: no optimizing compiler until optimizingCompilers(), then a hot function is optimized', () => {
  const r = child(['agent', '--interval', '1s']);
  assert.deepEqual(r.flags, ['--semi-space-growth-factor=1', '--optimize-for-size', '--no-opt', '--no-maglev']);
  assert.equal(r.before, false, 'not optimized while the compilers are off');
  assert.equal(r.after, true, 'optimized once they are back on');
});

test('watch: nothing set, a hot function is optimized', () => {
  const r = child(['watch', '--source', 'tracefs']);
  assert.deepEqual(r.flags, []);
  assert.equal(r.before, true);
});

test('a tier flag on the node command line wins: the agent leaves the compilers as given', () => {
  const r = child(['agent'], ['--maglev']);
  assert.deepEqual(r.flags, ['--semi-space-growth-factor=1', '--optimize-for-size']);
  assert.equal(r.before, true);
});

