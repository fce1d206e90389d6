/**
 * `kdrop symbolize [--map FILE] ADDR...`: one line per address, `0xADDR function+0xoff/0xsize [module]`,
 * or `0xADDR ?` with the reason on stderr. Exit code 0 when every address resolved, 1 when some address
 * was bad or unknown, 2 when no symbols could be loaded or no address was given.
 */
import { isKdropError } from '../errors.js';
import type { HostPaths } from '../host-paths.js';
import { parseAddress } from '../symbolize/address.js';
import { loadSymbolizer } from '../symbolize/load.js';
import { formatFull, type Symbolizer } from '../symbolize/types.js';

export interface SymbolizeOptions {
  map: string | undefined;
  addresses: string[];
  paths: HostPaths;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

export async function runSymbolize(opts: SymbolizeOptions): Promise<number> {
  const { out, err } = opts;
  if (opts.addresses.length === 0) {
    err.write('kdrop symbolize: no address given; usage: kdrop symbolize [--map FILE] ADDR...\n');
    return 2;
  }
  let symbolizer: Symbolizer;
  try {
    symbolizer = await loadSymbolizer({ map: opts.map, paths: opts.paths });
  } catch (e) {
    if (!isKdropError(e)) throw e;
    err.write(`kdrop symbolize: ${e.code}: ${e.message}\n`);
    return 2;
  }
  const source = opts.map ?? `${opts.paths.proc}/kallsyms`;
  let failed = 0;
  for (const text of opts.addresses) {
    let address: bigint;
    try {
      address = parseAddress(text);
    } catch (e) {
      if (!isKdropError(e)) throw e;
      failed++;
      out.write(`${text} ?\n`);
      err.write(`kdrop symbolize: ${e.code}: ${e.message}\n`);
      continue;
    }
    const hex = `0x${address.toString(16)}`;
    const r = symbolizer.resolve(address);
    if (r === null) {
      failed++;
      out.write(`${hex} ?\n`);
      err.write(`kdrop symbolize: ${hex} is not inside any text symbol of ${source}\n`);
      continue;
    }
    out.write(`${hex} ${formatFull(address, r)}\n`);
  }
  return failed === 0 ? 0 : 1;
}
