/**
 * V8 settings of src/runtime-flags.ts, observed in a child Node (the flags are process-wide): for the agent
 * TurboFan stays off (a hot function is not TurboFan-compiled) until
 * optimizingCompilers() turns it back on (the tracefs source); other commands keep it; a flag given on
 * the command line wins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

const flagsModule = new URL('../../src/runtime-flags.js', import.meta.url).href;

// Runs in the child: imports the module, runs a hot function, reports whether TurboFan compiled it (bit 64
// of %GetOptimizationStatus), then again after optimizingCompilers().
const script = `
const m = await import(${JSON.stringify(flagsModule)});
const optimized = (f) => (eval('%GetOptimizationStatus(f)') & 64) !== 0;
const hot = () => new Function('a', 'let x = 0; for (let i = 0; i < a.length; i++) x += a.charCodeAt(i) * i; return x;');
const until = (f, ms) => {
  const end = Date.now() + ms;
  let t = 0;
  do { for (let i = 0; i < 20000; i++) t += f('hello world ' + (i & 7)); } while (!optimized(f) && Date.now() < end);
  return optimized(f);
};
const before = until(hot(), Number(process.env.KDROP_TEST_BEFORE_MS));
const flags = [...m.runtimeFlags()];
m.optimizingCompilers();
const after = until(hot(), 20000);
process.stdout.write(JSON.stringify({ flags, before, after }));
`;

/** `beforeMs`: how long the first hot function runs (stopping early once TurboFan compiled it). */
function child(args: readonly string[], beforeMs: number, nodeFlags: readonly string[] = []): { flags: string[]; before: boolean; after: boolean } {
  const env = { ...process.env, NODE_OPTIONS: '', KDROP_TEST_BEFORE_MS: String(beforeMs) };
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', ...nodeFlags, '--input-type=module', '-e', script, 'kdrop', ...args], { encoding: 'utf8', env });
  return JSON.parse(out) as { flags: string[]; before: boolean; after: boolean };
}

test('agent: no TurboFan until optimizingCompilers(), then a hot function is TurboFan-compiled', () => {
  const r = child(['agent', '--interval', '1s'], 1500);
  assert.deepEqual(r.flags, ['--semi-space-growth-factor=1', '--optimize-for-size', '--no-opt']);
  assert.equal(r.before, false, 'not compiled by TurboFan while it is off');
  assert.equal(r.after, true, 'compiled once it is back on');
});

test('watch: nothing set, a hot function is TurboFan-compiled', () => {
  const r = child(['watch', '--source', 'tracefs'], 20_000);
  assert.deepEqual(r.flags, []);
  assert.equal(r.before, true);
});

test('a tier flag on the node command line wins: the agent leaves the compilers as given', () => {
  const r = child(['agent'], 20_000, ['--opt']);
  assert.deepEqual(r.flags, ['--semi-space-growth-factor=1', '--optimize-for-size']);
  assert.equal(r.before, true);
});


// Runs in the child with --trace-gc: V8 prints each collection between the two markers (synchronous
// writes, so they stay in order), with its reason ("testing" for a requested one).
const gcScript = `
import { writeSync } from 'node:fs';
const m = await import(${JSON.stringify(flagsModule)});
writeSync(1, 'BEFORE\\n');
const ran = m.collectStartupGarbage();
writeSync(1, 'AFTER ' + JSON.stringify({ ran, gcVisible: typeof globalThis.gc }) + '\\n');
`;

function gcChild(args: readonly string[]): { ran: boolean; gcVisible: string; between: string } {
  const out = execFileSync(process.execPath, ['--trace-gc', '--input-type=module', '-e', gcScript, 'kdrop', ...args], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  const between = out.slice(out.indexOf('BEFORE\n'), out.indexOf('AFTER '));
  const after = /AFTER (\{.*\})/.exec(out)?.[1];
  assert.ok(after !== undefined, `no AFTER line in: ${out.slice(-300)}`);
  return { ...(JSON.parse(after) as { ran: boolean; gcVisible: string }), between };
}

test('agent: collectStartupGarbage() runs one full collection at once and leaves gc hidden', () => {
  const r = gcChild(['agent']);
  assert.equal(r.ran, true);
  assert.match(r.between, /Mark-Compact[^\n]*testing/, 'a requested full collection between the markers');
  assert.equal(r.gcVisible, 'undefined', 'gc is not left on the global object');
});

test('watch: collectStartupGarbage() does nothing (short-lived commands keep V8 as it is)', () => {
  const r = gcChild(['watch']);
  assert.equal(r.ran, false);
  assert.doesNotMatch(r.between, /Mark-Compact/);
});
