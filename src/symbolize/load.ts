/** Chooses the symbolizer: a System.map file when given, else /proc/kallsyms. */
import { readFile } from 'node:fs/promises';
import { ErrorCodes, KdropError } from '../errors.js';
import type { HostPaths } from '../host-paths.js';
import { KallsymsSymbolizer } from './kallsyms-symbolizer.js';
import { parseSystemMap } from './kallsyms.js';
import { SymbolTable } from './symbol-table.js';
import type { Symbolizer } from './types.js';

export async function loadSymbolizer(opts: { map?: string | undefined; paths: HostPaths }): Promise<Symbolizer> {
  if (opts.map === undefined) return KallsymsSymbolizer.load(opts.paths);
  let text: string;
  try {
    text = await readFile(opts.map, 'utf8');
  } catch (err) {
    throw new KdropError(ErrorCodes.CONFIG, `cannot read System.map file ${opts.map}`, {
      expected: 'a readable System.map file (e.g. /boot/System.map-$(uname -r))',
      found: (err as NodeJS.ErrnoException).code ?? String(err),
      cause: err,
    });
  }
  const table = SymbolTable.from(parseSystemMap(text, opts.map));
  if (table.size === 0) {
    throw new KdropError(ErrorCodes.KALLSYMS_PARSE, `no text symbols in ${opts.map}`, {
      expected: 'lines like "ffffffff81000000 T _stext"',
      found: 'no t/T/w/W symbols',
    });
  }
  return table;
}
