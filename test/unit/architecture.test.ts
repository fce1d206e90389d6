/**
 * The pipeline's layering, checked on the sources: a stage imports only from earlier stages (source ->
 * symbolize -> enrich -> aggregate -> export) and from the shared modules; sources know nothing of
 * Kubernetes. And no module grows past the size a reader can hold in mind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));
const STAGES = ['source', 'symbolize', 'enrich', 'aggregate', 'export'] as const;
const MAX_LINES = 300;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const stageOf = (file: string): number => STAGES.indexOf(relative(SRC, file).split('/')[0] as (typeof STAGES)[number]);

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g)) {
    const spec = m[1] ?? m[2];
    if (spec !== undefined) out.push(spec);
  }
  return out;
}

test('no stage imports from a later stage', () => {
  const bad: string[] = [];
  for (const f of files(SRC)) {
    const from = stageOf(f);
    if (from < 0) continue;
    for (const spec of imports(f)) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(f), spec).replace(/\.js$/, '.ts');
      const to = stageOf(target);
      if (to > from) bad.push(`${relative(SRC, f)} -> ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('sources know nothing of Kubernetes', () => {
  const bad = files(join(SRC, 'source')).filter((f) => imports(f).some((s) => s.includes('kubernetes') || s.includes('/enrich/')));
  assert.deepEqual(bad.map((f) => relative(SRC, f)), []);
});

test(`no module in src/ over ${MAX_LINES} lines`, () => {
  const big = files(SRC)
    .map((f) => ({ f: relative(SRC, f), n: readFileSync(f, 'utf8').split('\n').length }))
    .filter((x) => x.n > MAX_LINES)
    .map((x) => `${x.f}: ${x.n}`);
  assert.deepEqual(big, []);
});

/** Imports from `from` (a folder under src/) that resolve into `into` (a folder under src/). */
function importsInto(from: string, into: string): string[] {
  const bad: string[] = [];
  for (const f of files(join(SRC, from))) {
    for (const spec of imports(f)) {
      if (!spec.startsWith('.')) continue;
      const target = relative(SRC, resolve(dirname(f), spec));
      if (target.startsWith(`${into}/`)) bad.push(`${relative(SRC, f)} -> ${target}`);
    }
  }
  return bad;
}

test('shared modules import no stage, command or view: vocabulary <- source, top <- commands, config <- top, bpf <- bpftrace', () => {
  assert.deepEqual(
    [
      ...importsInto('vocabulary', 'source'),
      ...importsInto('top', 'commands'),
      ...importsInto('config', 'top'),
      ...importsInto('source/bpf', 'source/bpftrace'),
      ...importsInto('source/bpftrace', 'source/bpf'),
    ],
    [],
  );
});
