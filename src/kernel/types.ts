/** A field of a tracepoint format file. */
export interface TracepointField {
  readonly name: string;
  /** The C type as written, e.g. "void *", "enum skb_drop_reason". */
  readonly type: string;
  readonly offset: number;
  readonly size: number;
  readonly signed: boolean;
}

/** Parsed events/<system>/<event>/format. */
export interface TracepointFormat {
  readonly name: string;
  readonly id: number;
  /** Common fields (common_*) excluded. */
  readonly fields: readonly TracepointField[];
  readonly printFmt: string;
  /** Reason code -> name without the SKB_DROP_REASON_ prefix, from __print_symbolic; empty if none. */
  readonly reasons: ReadonlyMap<number, string>;
}
