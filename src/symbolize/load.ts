/**
 * Chooses the symbolizer: a System.map file when given, else /proc/kallsyms: as a table
 * (KallsymsSymbolizer), or, with `streaming`, resolved per interval without a table (StreamingSymbolizer:
 * only for callers that prepare() every address before they resolve() it).
 */
import { ErrorCodes, KdropError, isKdropError } from '../errors.js';
import type { HostPaths } from '../host-paths.js';
import { KallsymsSymbolizer } from './kallsyms-symbolizer.js';
import { StreamingSymbolizer } from './streaming-symbolizer.js';
import { SymbolTable } from './symbol-table.js';
import type { Symbolizer } from './types.js';

export async function loadSymbolizer(opts: { map?: string | undefined; paths: HostPaths; streaming?: boolean }): Promise<Symbolizer> {
  if (opts.map === undefined) return opts.streaming === true ? StreamingSymbolizer.load(opts.paths) : KallsymsSymbolizer.load(opts.paths);
  let table: SymbolTable;
  try {
    table = await SymbolTable.fromFile(opts.map, { allowModules: false, source: opts.map });
  } catch (err) {
    if (isKdropError(err)) throw err;
    throw new KdropError(ErrorCodes.CONFIG, `cannot read System.map file ${opts.map}`, {
      expected: 'a readable System.map file (e.g. /boot/System.map-$(uname -r))',
      found: (err as NodeJS.ErrnoException).code ?? String(err),
      cause: err,
    });
  }
  if (table.size === 0) {
    throw new KdropError(ErrorCodes.KALLSYMS_PARSE, `no text symbols in ${opts.map}`, {
      expected: 'lines like "ffffffff81000000 T _stext"',
      found: 'no t/T/w/W symbols',
    });
  }
  return table;
}
