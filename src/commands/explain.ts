/**
 * `kdrop explain REASON|CODE`: what a drop reason means, its class, where the kernel raises it and what
 * to check next, from the one table in src/enrich/reason-catalog.ts. A name is taken with or without
 * SKB_DROP_REASON_, in any case; a number is resolved against the running kernel's reason table (the
 * numbering drifts between kernels). An unknown reason is a KdropError UNKNOWN_REASON (exit code 2).
 */
import { ErrorCodes, KdropError, excerpt, isKdropError } from '../errors.js';
import type { HostPaths } from '../host-paths.js';
import { join } from 'node:path';
import { findTracefs } from '../kernel/tracefs.js';
import { readTracepointFormat } from '../kernel/format.js';
import { readKernelReasons, type KernelReasons } from '../kernel/btf-reasons.js';
import { subsystemOf, unknownReasonName } from '../kernel/subsystem-reasons.js';
import { lookupReason, normalizeReasonName, type ReasonClass, type ReasonInfo } from '../enrich/reason-catalog.js';
import { logger } from '../log.js';
import { explainCounter } from './explain-counter.js';

const log = logger('explain');

export interface Explanation {
  readonly name: string;
  /** Codes of this name on the running kernel (empty when it has no such name or could not be read). */
  readonly codes: readonly number[];
  readonly class: ReasonClass;
  readonly meaning: string;
  readonly raisedIn: string;
  readonly check: readonly string[];
  readonly subsystem: string | null;
  /** False when the name is in the running kernel's table but not in kdrop's notes. */
  readonly documented: boolean;
  /** Whether the running kernel's table was read (false: no tracefs/BTF access). */
  readonly kernelRead: boolean;
}

/** Reads the running kernel's reason table; null when tracefs or the format cannot be read. */
export async function kernelReasonTable(paths: HostPaths): Promise<KernelReasons | null> {
  try {
    const tracefs = await findTracefs(paths, { mount: false });
    const format = await readTracepointFormat(tracefs);
    return await readKernelReasons(format, join(paths.sys, 'kernel', 'btf'));
  } catch (err) {
    if (!isKdropError(err)) throw err;
    log.debug({ err }, 'running kernel reason table unavailable');
    return null;
  }
}

function unknownReason(query: string, kernel: KernelReasons | null, detail: string): KdropError {
  return new KdropError(ErrorCodes.UNKNOWN_REASON, `unknown drop reason ${excerpt(query)}`, {
    expected: kernel === null
      ? 'a reason name like NO_SOCKET or SKB_DROP_REASON_NETFILTER_DROP (numeric codes need the running kernel\'s tracefs)'
      : `a reason name or code of this kernel (${kernel.names.size} named codes, e.g. NO_SOCKET, NETFILTER_DROP)`,
    found: detail,
    hint: 'docs/reasons.md lists every reason kdrop knows; `kdrop watch --json` shows reason and reason_code as the kernel reports them',
  });
}

/** Resolves a query (name or code) to an explanation; throws UNKNOWN_REASON when neither kdrop nor the kernel knows it. */
export function explain(query: string, kernel: KernelReasons | null): Explanation {
  const text = query.trim();
  let name: string;
  if (/^(0x[0-9a-f]+|\d+)$/i.test(text)) {
    const code = text.toLowerCase().startsWith('0x') ? Number.parseInt(text.slice(2), 16) : Number(text);
    if (kernel === null) throw unknownReason(text, null, 'a numeric code, but the running kernel\'s reason table could not be read');
    const named = kernel.names.get(code);
    if (named === undefined) {
      const sub = subsystemOf(code);
      throw unknownReason(text, kernel, sub === 0
        ? `code ${code}, which this kernel does not name (kdrop shows it as ${unknownReasonName(code, kernel.subsystems)})`
        : `code ${code} = subsystem ${sub} (${kernel.subsystems.get(sub) ?? 'unknown subsystem'}), reason ${code % 65536}, which this kernel does not name (kdrop shows it as ${unknownReasonName(code, kernel.subsystems)})`);
    }
    name = named;
  } else {
    name = normalizeReasonName(text);
    if (!/^[A-Z0-9_]+$/.test(name)) throw unknownReason(text, kernel, 'not a reason name (letters, digits and _ only)');
  }
  const codes = kernel === null ? [] : [...kernel.names].filter(([, n]) => n === name).map(([c]) => c);
  const notes: ReasonInfo | undefined = lookupReason(name);
  if (notes === undefined) {
    if (codes.length === 0) throw unknownReason(text, kernel, kernel === null ? `${name}, not in kdrop's table` : `${name}, neither in kdrop's table nor in this kernel's`);
    return {
      name, codes, class: 'unknown', subsystem: null, documented: false, kernelRead: true,
      meaning: 'The running kernel names this reason, but kdrop has no notes on it yet (a newer kernel than kdrop\'s table).',
      raisedIn: 'unknown to kdrop: search the kernel source for the name (include/net/dropreason-core.h documents each reason)',
      check: ['kdrop watch --reason ' + name + ' (the function that drops)', 'the kernel\'s comment on it in include/net/dropreason-core.h'],
    };
  }
  return {
    name, codes, class: notes.class, meaning: notes.meaning, raisedIn: notes.raisedIn, check: notes.check,
    subsystem: notes.subsystem ?? null, documented: true, kernelRead: kernel !== null,
  };
}

/** Text form: one field per line, checks as a list. */
export function formatExplanation(e: Explanation): string {
  const codes = !e.kernelRead
    ? '(running kernel not read)'
    : e.codes.length === 0 ? 'not in this kernel\'s table' : e.codes.map((c) => (c >= 65536 ? `${c} (0x${c.toString(16)})` : String(c))).join(', ');
  const lines = [
    e.name,
    `  class:      ${e.class}`,
    `  code:       ${codes}`,
    ...(e.subsystem === null ? [] : [`  subsystem:  ${e.subsystem}`]),
    `  meaning:    ${e.meaning}`,
    `  raised in:  ${e.raisedIn}`,
    '  check next:',
    ...e.check.map((c) => `    - ${c}`),
  ];
  return `${lines.join('\n')}\n`;
}

export interface ExplainOptions {
  readonly query: string;
  readonly json: boolean;
  readonly paths: HostPaths;
  readonly out: NodeJS.WritableStream;
  /** Injected in tests; default: read from the running kernel. */
  readonly kernel?: KernelReasons | null;
}

export async function runExplain(o: ExplainOptions): Promise<number> {
  // Kernel drop counters (ListenOverflows, insert_failed, rx_missed_errors, ...) before reasons.
  if (explainCounter(o.query, o.json, o.out)) return 0;
  const kernel = o.kernel === undefined ? await kernelReasonTable(o.paths) : o.kernel;
  const e = explain(o.query, kernel);
  if (o.json) {
    o.out.write(`${JSON.stringify({ name: e.name, codes: e.codes, class: e.class, subsystem: e.subsystem, meaning: e.meaning, raised_in: e.raisedIn, check: e.check, documented: e.documented })}\n`);
  } else {
    o.out.write(formatExplanation(e));
  }
  return 0;
}
