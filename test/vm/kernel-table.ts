/**
 * The supported-kernels table of docs/kernels.md, made from what a VM matrix run verified on each kernel.
 * KDROP_VM_UPDATE_DOCS=1 writes it between the markers; otherwise the test checks the doc says the same.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './initramfs.js';
import type { VmRun } from './qemu.js';
import { exact as exactCase, facts } from './assertions.js';

const DOC = join(REPO, 'docs', 'kernels.md');
const BEGIN = '<!-- kernel-table:begin (written by test/vm with KDROP_VM_UPDATE_DOCS=1; checked by every run) -->';
const END = '<!-- kernel-table:end -->';
const HEAD = ['| kernel | Debian package (suite) | attach | drop reasons | rx_sk | samples (trace) | qdisc reasons | counted == sent |', '|---|---|---|---|---|---|---|---|'];

const ok = (r: VmRun, name: string, pred: (c: Record<string, unknown>) => boolean): boolean => {
  const c = r.checks.get(name);
  return c !== undefined && c['error'] === undefined && pred(c);
};

export function kernelRows(runs: readonly VmRun[]): string[] {
  const sorted = [...runs].sort((a, b) => a.kernel.release.localeCompare(b.kernel.release, 'en', { numeric: true }));
  return sorted.map((r) => {
    const f = facts(r);
    const [suite, pv] = [r.kernel.pin.split(':')[0], r.kernel.pin.split(':').slice(1).join(':')];
    const w = r.checks.get('watch');
    const attach = typeof w?.['attach'] === 'string' ? `${String(w['source'])} (${w['attach']})` : String(w?.['source'] ?? 'none');
    const reasons = f.hasReason ? `${Object.keys(f.reasons).length} (format)` : 'none (no reason field)';
    const samples = ok(r, 'trace', (c) => (c['records'] as unknown[]).length === 1) ? 'yes' : 'no';
    const q = r.checks.get('qdisc');
    const counted = (src: string): string => Object.keys(((q?.[src] as Record<string, unknown> | undefined)?.['byReason'] ?? {}) as object).join(', ');
    const qreasons = f.qdiscDrop ? `${Object.keys((q?.['qdiscReasons'] ?? {}) as object).length} (qdisc:qdisc_drop); pfifo drops counted as ${counted('default')} (default source), ${counted('tracefs')} (tracefs)` : 'no qdisc:qdisc_drop';
    const exact = ok(r, 'watch', (c) => (c['cases'] as Record<string, unknown>[]).every(exactCase)) && ok(r, 'kill', exactCase);
    return `| ${f.release} | \`${pv}\` (${suite}) | ${attach} | ${reasons} | ${f.hasRxSk ? 'yes' : 'no'} | ${samples} | ${qreasons} | ${exact ? 'yes, per netns' : 'no'} |`;
  });
}

const byRelease = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });
const releaseOf = (row: string): string => row.split('|')[1]?.trim() ?? '';

/**
 * Writes (KDROP_VM_UPDATE_DOCS=1) or checks the table; a partial run (KDROP_VM_KERNELS) checks only its rows, and
 * writes only its rows (each kernel's row replaced or added, the others kept as the doc has them).
 */
export function checkDocs(rows: readonly string[], full: boolean): void {
  const doc = readFileSync(DOC, 'utf8');
  const [a, b] = [doc.indexOf(BEGIN), doc.indexOf(END)];
  assert.ok(a >= 0 && b > a, `${DOC} has the markers ${BEGIN} ... ${END}`);
  const current = doc.slice(a + BEGIN.length, b).trim();
  if (process.env['KDROP_VM_UPDATE_DOCS'] === '1') {
    const mine = new Set(rows.map(releaseOf));
    const kept = full ? [] : current.split('\n').slice(HEAD.length).filter((r) => r.startsWith('|') && !mine.has(releaseOf(r)));
    const table = [...HEAD, ...[...kept, ...rows].sort((x, y) => byRelease(releaseOf(x), releaseOf(y)))].join('\n');
    writeFileSync(DOC, `${doc.slice(0, a + BEGIN.length)}\n${table}\n${doc.slice(b)}`);
    return;
  }
  if (full) assert.equal(current, [...HEAD, ...rows].join('\n'), `${DOC} differs from what this run verified (KDROP_VM_UPDATE_DOCS=1 npm run test:vm rewrites it)`);
  else for (const row of rows) assert.ok(current.includes(row), `${DOC} lacks the row ${row}`);
}
