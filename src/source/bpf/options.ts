/** BpfSource's options, the program statistics it reports, and the kdrop-probe command line they make. */
import type { RestartPolicy } from '../restarter.js';
import type { AttachType } from './protocol.js';

export interface BpfSourceOptions {
  /** The tracepoint has a reason field (from the format file): features.reason. */
  readonly hasReason: boolean;
  /** kdrop-probe path (default: KDROP_PROBE or build/probe/kdrop-probe). */
  readonly probe?: string;
  /** Where to pin (default KDROP_PIN_ROOT, else /sys/fs/bpf/kdrop); null: do not pin. */
  readonly pinRoot?: string | null;
  /** Keys per kernel map, i.e. distinct keys per read interval (default: the loader's, 16384). */
  readonly maxKeys?: number;
  /** Only try this attach type. */
  readonly attach?: AttachType;
  /** Background dump period: bounds the keys one map must hold (default 1000). */
  readonly readIntervalMs?: number;
  /** Forget a key that did not grow for this many collect() calls (default 60). */
  readonly idleCollects?: number;
  readonly restart?: RestartPolicy;
  readonly startTimeoutMs?: number;
  readonly stopTimeoutMs?: number;
  readonly collectTimeoutMs?: number;
  readonly healthyAfterMs?: number;
  readonly procRoot?: string;
  /** Sampled drops (onSample): rates for the kernel's token buckets; absent: no samples (--no-samples). */
  readonly samples?: SampleOptions;
}

export interface ProbeProgramStats {
  readonly attach: AttachType | null;
  /** Cumulative run time and runs of the program (non-zero only while kernel.bpf_stats_enabled=1). */
  readonly runNs: number;
  readonly runCnt: number;
}

/** The kernel's sampling: per key `rate` per second with bursts of `burst`, at most `maxPerS` overall. */
export interface SampleOptions {
  readonly rate: number;
  readonly burst: number;
  readonly maxPerS: number;
  /** Kernel stacks with each sample. */
  readonly stacks: boolean;
}

/** kdrop-probe's command line for these options, pinning in `pinDir` (null: unpinned). */
export function probeArgv(probe: string, o: BpfSourceOptions, pinDir: string | null): string[] {
  const a = [probe];
  if (pinDir !== null) a.push('--pin-dir', pinDir);
  if (o.maxKeys !== undefined) a.push('--max-keys', String(o.maxKeys));
  if (o.attach !== undefined) a.push('--attach', o.attach);
  const smp = o.samples;
  if (smp === undefined) a.push('--no-samples');
  else {
    a.push('--sample-rate', String(smp.rate), '--sample-burst', String(smp.burst), '--sample-max-per-s', String(smp.maxPerS));
    if (smp.stacks) a.push('--stacks');
  }
  return a;
}
