/**
 * Builds the columns of a symbol table from kallsyms/System.map text or a file streamed through one 64 KB
 * buffer: the text symbols of each line a SymbolLineScanner finds, and the check for the all-zero
 * (restricted) kallsyms.
 */
import { restrictedError, type KallsymsContext } from './kallsyms.js';
import { SymbolColumns } from './symbol-columns.js';
import { SymbolLineScanner, scanFile } from './symbol-line-scanner.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Collects the text symbols of kallsyms/System.map lines from a SymbolLineScanner, and checks for the
 * all-zero (restricted) kallsyms.
 */
class TableBuilder {
  readonly columns = new SymbolColumns();
  readonly scanner: SymbolLineScanner;
  #nonZero = false;
  /** The last module's name as bytes and its id: module lines come in runs. */
  #lastModule = new Uint8Array(64);
  #lastModuleLength = -1;
  #lastModuleId = 0;

  constructor(
    readonly source: string,
    readonly allowModules: boolean,
    readonly kptrRestrict: number | null | undefined,
  ) {
    this.scanner = new SymbolLineScanner(source, allowModules, (buf, hi, lo, type, nameStart, nameEnd, modStart, modEnd) => {
      if (hi !== 0 || lo !== 0) this.#nonZero = true;
      // t T w W
      if (type !== 116 && type !== 84 && type !== 119 && type !== 87) return;
      const moduleId = modStart < 0 ? 0 : this.#moduleId(buf, modStart, modEnd);
      this.columns.pushBytes(hi, lo, type, buf, nameStart, nameEnd, moduleId);
    });
  }

  #moduleId(buf: Uint8Array, start: number, end: number): number {
    const len = end - start;
    if (len === this.#lastModuleLength) {
      let same = true;
      for (let k = 0; k < len; k++) {
        if (this.#lastModule[k] !== buf[start + k]) {
          same = false;
          break;
        }
      }
      if (same) return this.#lastModuleId;
    }
    if (len > this.#lastModule.length) this.#lastModule = new Uint8Array(len);
    this.#lastModule.set(buf.subarray(start, end));
    this.#lastModuleLength = len;
    this.#lastModuleId = this.columns.moduleId(decoder.decode(buf.subarray(start, end)));
    return this.#lastModuleId;
  }

  finish(): SymbolColumns {
    const total = this.scanner.end();
    if (this.allowModules && total > 0 && !this.#nonZero) throw restrictedError(this.source, total, this.kptrRestrict);
    return this.columns;
  }
}

export type LoadContext = KallsymsContext & { allowModules?: boolean };

function builderFor(ctx: LoadContext): TableBuilder {
  return new TableBuilder(ctx.source ?? '/proc/kallsyms', ctx.allowModules ?? true, ctx.kptrRestrict);
}

/** The text symbols of kallsyms (or System.map, with `allowModules` false) text. */
export function columnsFromText(text: string, ctx: LoadContext): SymbolColumns {
  const b = builderFor(ctx);
  b.scanner.push(encoder.encode(text));
  return b.finish();
}

/** The text symbols of a kallsyms (or System.map) file, streamed through one 64 KB buffer. */
export async function columnsFromFile(file: string, ctx: LoadContext): Promise<SymbolColumns> {
  const b = builderFor({ source: file, ...ctx });
  await scanFile(file, b.scanner);
  return b.finish();
}
