/** One kernel text symbol. */
export interface KernelSymbol {
  readonly address: bigint;
  readonly name: string;
  /** Symbol type letter from kallsyms/System.map (t, T, W, ...). */
  readonly type: string;
  /** Module name without brackets, or null for the core kernel. */
  readonly module: string | null;
}

/** Where an address lies. */
export interface Resolved {
  readonly function: string;
  readonly offset: number;
  /** Distance to the next symbol, or null for the last symbol of a table. */
  readonly size: number | null;
  readonly module: string | null;
}

export interface Symbolizer {
  /** null when the address lies outside every known symbol. Synchronous: never reads a file. */
  resolve(address: bigint): Resolved | null;
  /**
   * Called with an interval's addresses before they are resolved; a symbolizer that can learn new text
   * (kallsyms: modules loaded after start) refreshes itself here, asynchronously.
   */
  prepare?(addresses: Iterable<bigint>): Promise<void>;
}

/** `function+0xoff` as the seed and the NDJSON `location` field print it; the hex address if unknown. */
export function formatLocation(address: bigint, r: Resolved | null): string {
  if (r === null) return `0x${address.toString(16)}`;
  return `${r.function}+0x${r.offset.toString(16)}`;
}

/** `function+0xoff/0xsize [module]`, the symbolize command's form (kernel's %pS style). */
export function formatFull(address: bigint, r: Resolved | null): string {
  if (r === null) return `0x${address.toString(16)}`;
  const size = r.size === null ? '' : `/0x${r.size.toString(16)}`;
  const mod = r.module === null ? '' : ` [${r.module}]`;
  return `${r.function}+0x${r.offset.toString(16)}${size}${mod}`;
}
