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

function parseLines(text: string, source: string, allowModules: boolean): KernelSymbol[] {
  const out: KernelSymbol[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    const m = LINE.exec(line);
    if (m === null || (!allowModules && m[4] !== undefined)) {
      throw new KdropError(ErrorCodes.KALLSYMS_PARSE, `${source}, line ${i + 1}: cannot parse symbol line`, {
        expected: allowModules ? '"ADDRESS TYPE NAME" or "ADDRESS TYPE NAME\\t[MODULE]"' : '"ADDRESS TYPE NAME"',
        found: excerpt(line),
      });
    }
    const [, addr = '', type = '', name = '', mod] = m;
    out.push({ address: BigInt(`0x${addr}`), type, name, module: mod ?? null });
  }
  return out;
}

/** Parses /proc/kallsyms text. Throws KALLSYMS_RESTRICTED when every address is zero. */
export function parseKallsyms(text: string, ctx: KallsymsContext = {}): KernelSymbol[] {
  const source = ctx.source ?? '/proc/kallsyms';
  const symbols = parseLines(text, source, true);
  if (symbols.length > 0 && symbols.every((s) => s.address === 0n)) {
    const kr = ctx.kptrRestrict;
    const krText = kr === undefined || kr === null ? 'kernel.kptr_restrict (value unknown)' : `kernel.kptr_restrict=${kr}`;
    throw new KdropError(ErrorCodes.KALLSYMS_RESTRICTED, `${source} shows only zero addresses`, {
      expected: 'real kernel addresses',
      found: `${symbols.length} symbols, all at 0 (${krText})`,
      hint:
        kr === 2
          ? 'kptr_restrict=2 hides addresses even from root: sysctl -w kernel.kptr_restrict=1 (or 0), or pass --map /boot/System.map-$(uname -r)'
          : 'reading addresses needs CAP_SYSLOG (run as root) and kernel.kptr_restrict < 2; or pass --map /boot/System.map-$(uname -r)',
    });
  }
  return symbols;
}

/** Parses a System.map file (`ffffffff81000000 T _text` lines; no modules). */
export function parseSystemMap(text: string, source = 'System.map'): KernelSymbol[] {
  return parseLines(text, source, false);
}
