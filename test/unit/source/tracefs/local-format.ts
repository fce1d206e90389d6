/**
 * A minimal parser of a tracepoint format file for the tracefs source's tests only (the real one is
 * src/kernel/format.ts, written separately): fields without common_*, and the __print_symbolic table.
 */
import type { TracepointField, TracepointFormat } from '../../../../src/kernel/types.js';

export function localParseFormat(text: string): TracepointFormat {
  const name = /^name: (\S+)$/m.exec(text)?.[1] ?? '';
  const id = Number(/^ID: (\d+)$/m.exec(text)?.[1] ?? Number.NaN);
  const fields: TracepointField[] = [];
  for (const m of text.matchAll(/field:(.+?)\s+(\w+);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d);/g)) {
    const [, type = '', fieldName = '', offset, size, signed] = m;
    if (fieldName.startsWith('common_')) continue;
    fields.push({ name: fieldName, type: type.trim(), offset: Number(offset), size: Number(size), signed: signed === '1' });
  }
  const printFmt = /^print fmt: (.*)$/m.exec(text)?.[1] ?? '';
  const reasons = new Map<number, string>();
  for (const m of printFmt.matchAll(/\{ (\d+), "(\w+)" \}/g)) reasons.set(Number(m[1]), m[2] ?? '');
  return { name, id, fields, printFmt, reasons };
}

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Path of a file in test/fixtures/tracefs (tests run from dist/test/..., fixtures stay in test/). */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../../../../../test/fixtures/tracefs/${name}`, import.meta.url));
}

export function fixtureText(name: string): string {
  return readFileSync(fixturePath(name), 'utf8');
}

export function fixtureFormat(kernel: '5.15' | '6.1' | '6.18'): TracepointFormat {
  return localParseFormat(fixtureText(`kfree_skb-format-${kernel}.txt`));
}
