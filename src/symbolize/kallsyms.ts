/** Parsers for /proc/kallsyms and System.map text. */
import { ErrorCodes, KdropError, excerpt } from '../errors.js';
import type { KernelSymbol } from './types.js';

export interface KallsymsContext {
  /** Value of /proc/sys/kernel/kptr_restrict, when known, for the error message. */
  readonly kptrRestrict?: number | null;
  /** Where the text came from, for error messages. */
  readonly source?: string;
}

const LINE = /^([0-9a-fA-F]{1,16})\s+([A-Za-z?])\s+(\S+)(?:\s+\[([^\]\s]+)\])?$/;

/** Called once per symbol line; `addressHex` has no 0x prefix. */
export type SymbolVisitor = (addressHex: string, type: string, name: string, module: string | null) => void;

/**
 * Walks the symbol lines of kallsyms/System.map text without materializing them all: the symbol table
 * is built from a file of ~200k lines, and only text symbols are kept. Throws KALLSYMS_PARSE with the
 * line number on a line of another shape.
 */
export function visitSymbolLines(text: string, source: string, allowModules: boolean, visit: SymbolVisitor): number {
  let count = 0;
  let lineNo = 0;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '') continue;
    const m = LINE.exec(line);
    if (m === null || (!allowModules && m[4] !== undefined)) {
      throw new KdropError(ErrorCodes.KALLSYMS_PARSE, `${source}, line ${lineNo}: cannot parse symbol line`, {
        expected: allowModules ? '"ADDRESS TYPE NAME" or "ADDRESS TYPE NAME\\t[MODULE]"' : '"ADDRESS TYPE NAME"',
        found: excerpt(line),
      });
    }
    const [, addr = '', type = '', name = '', mod] = m;
    visit(addr, type, name, mod ?? null);
    count++;
  }
  return count;
}

/** The error for a kallsyms whose addresses are all zero (kptr_restrict / CAP_SYSLOG). */
export function restrictedError(source: string, symbols: number, kptrRestrict: number | null | undefined): KdropError {
  const krText = kptrRestrict === undefined || kptrRestrict === null ? 'kernel.kptr_restrict (value unknown)' : `kernel.kptr_restrict=${kptrRestrict}`;
  return new KdropError(ErrorCodes.KALLSYMS_RESTRICTED, `${source} shows only zero addresses`, {
    expected: 'real kernel addresses',
    found: `${symbols} symbols, all at 0 (${krText})`,
    hint:
      kptrRestrict === 2
        ? 'kptr_restrict=2 hides addresses even from root: sysctl -w kernel.kptr_restrict=1 (or 0), or pass --map /boot/System.map-$(uname -r)'
        : 'reading addresses needs CAP_SYSLOG (run as root) and kernel.kptr_restrict < 2; or pass --map /boot/System.map-$(uname -r)',
  });
}

function parseLines(text: string, source: string, allowModules: boolean): KernelSymbol[] {
  const out: KernelSymbol[] = [];
  visitSymbolLines(text, source, allowModules, (addr, type, name, module) => {
    out.push({ address: BigInt(`0x${addr}`), type, name, module });
  });
  return out;
}

/** Parses /proc/kallsyms text. Throws KALLSYMS_RESTRICTED when every address is zero. */
export function parseKallsyms(text: string, ctx: KallsymsContext = {}): KernelSymbol[] {
  const source = ctx.source ?? '/proc/kallsyms';
  const symbols = parseLines(text, source, true);
  if (symbols.length > 0 && symbols.every((s) => s.address === 0n)) throw restrictedError(source, symbols.length, ctx.kptrRestrict);
  return symbols;
}

/** Parses a System.map file (`ffffffff81000000 T _text` lines; no modules). */
export function parseSystemMap(text: string, source = 'System.map'): KernelSymbol[] {
  return parseLines(text, source, false);
}
