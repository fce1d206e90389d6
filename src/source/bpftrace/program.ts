/**
 * Generates the bpftrace program: one probe on skb:kfree_skb that aggregates in the kernel, in per-CPU
 * maps keyed by (location, reason, protocol, netns). The per-event cost of this program is kdrop's
 * overhead, so it stays small: no printf, no string ops, no clear() (which races with updates; the
 * runner reads cumulative maps and diffs in Node).
 */
import type { TracepointFormat } from '../../kernel/types.js';
import type { BpftraceDialect } from './version.js';

/** Map names. Maps are printed sorted by name, so END_MAP (set once in BEGIN) is printed last. */
export const COUNT_MAP = '@c';
export const BYTES_MAP = '@b';
export const END_MAP = '@kdrop_end';
/**
 * Printed by BEGIN, which bpftrace runs after attaching every probe: the program is counting from here.
 * (`attached_probes` is printed before the probes are attached, so it is not a readiness signal.)
 */
export const READY_MARKER = 'kdrop-ready';

export type KeyField = 'location' | 'reason' | 'protocol' | 'netns';

export interface ProgramOptions {
  readonly format: TracepointFormat;
  readonly dialect: BpftraceDialect;
  /** Key by netns inode (read through BTF from skb->dev or the socket). */
  readonly netns: boolean;
}

function hasField(format: TracepointFormat, name: string): boolean {
  return format.fields.some((f) => f.name === name);
}

/** The fields of a map key, in the order the program writes them. */
export function programKeyFields(opts: Pick<ProgramOptions, 'format' | 'netns'>): KeyField[] {
  const fields: KeyField[] = ['location'];
  if (hasField(opts.format, 'reason')) fields.push('reason');
  fields.push('protocol');
  if (opts.netns) fields.push('netns');
  return fields;
}

/**
 * True where the protocol key is skb->protocol as read raw (big-endian in memory, so a little-endian
 * host sees it byte-swapped); the classic tracepoint record already holds it in host order. The runner
 * swaps it in Node rather than spending instructions per event.
 */
export function protocolIsNetworkOrder(dialect: BpftraceDialect): boolean {
  return dialect.attach === 'rawtracepoint';
}

export function generateProgram(opts: ProgramOptions): string {
  const { format, dialect } = opts;
  const raw = dialect.attach === 'rawtracepoint';
  const arg = (name: string): string => (dialect.attach === 'tracepoint-dot' ? `args.${name}` : `args->${name}`);
  const withReason = hasField(format, 'reason');
  const withRxSk = hasField(format, 'rx_sk');

  const skbExpr = raw ? 'arg0' : arg('skbaddr');
  // The location is a return address; keep all 64 bits (raw args are u64 registers).
  const locationExpr = raw ? '(uint64)arg1' : arg('location');
  const reasonExpr = raw ? '(uint32)arg2' : `(uint32)${arg('reason')}`;
  const protocolExpr = raw ? '$skb->protocol' : arg('protocol');
  const rxSkExpr = raw ? 'arg3' : arg('rx_sk');

  const lines: string[] = [];
  lines.push(`BEGIN { ${END_MAP} = 1; printf("${READY_MARKER}\\n"); }`);
  lines.push(raw ? 'rawtracepoint:kfree_skb {' : 'tracepoint:skb:kfree_skb {');
  lines.push(`  $skb = (struct sk_buff *)${skbExpr};`);
  if (opts.netns) {
    // netns of the device; of the owning socket when the skb has no device; of the receiving socket
    // (rx_sk, 6.11+) when neither; 0 when none is known.
    lines.push('  $ns = (uint64)0;');
    lines.push('  $dev = $skb->dev;');
    lines.push('  if ($dev != 0) { $ns = (uint64)$dev->nd_net.net->ns.inum; }');
    lines.push('  else {');
    lines.push('    $sk = $skb->sk;');
    if (withRxSk) lines.push(`    if ($sk == 0) { $sk = (struct sock *)${rxSkExpr}; }`);
    lines.push('    if ($sk != 0) { $ns = (uint64)$sk->__sk_common.skc_net.net->ns.inum; }');
    lines.push('  }');
  }
  const keyParts = [locationExpr];
  if (withReason) keyParts.push(reasonExpr);
  keyParts.push(protocolExpr);
  if (opts.netns) keyParts.push('$ns');
  const key = keyParts.join(', ');
  lines.push(`  ${COUNT_MAP}[${key}] = count();`);
  lines.push(`  ${BYTES_MAP}[${key}] = sum($skb->len);`);
  lines.push('}');
  if (!dialect.sigusr1PrintsMaps) {
    lines.push(`self:signal:SIGUSR1 { print(${BYTES_MAP}); print(${COUNT_MAP}); print(${END_MAP}); }`);
  }
  return `${lines.join('\n')}\n`;
}

/** 1-based line of the count() statement, to tell its helper errors (map full) from others. */
export function countStatementLine(program: string): number {
  const idx = program.split('\n').findIndex((l) => l.trimStart().startsWith(`${COUNT_MAP}[`));
  return idx + 1;
}
