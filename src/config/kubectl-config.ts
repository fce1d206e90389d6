/** `kubectl kdrop`: the user's cluster access (kubectl's flags) and how the agents are reached. */
import { z } from 'zod';
import { durationMs } from './common.js';
import { KdropError, ErrorCodes, excerpt } from '../errors.js';
import { resolveSettings, type SettingsTable } from './settings.js';
import { DEFAULT_AGENTS_NAMESPACE } from '../kubectl/agents.js';

/** Flags every `kubectl kdrop` command takes (global options of the plugin program). */
export interface KubectlFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces?: boolean;
  agentsNamespace?: string;
  concurrency?: string;
  agentTimeout?: string;
}

export interface KubectlConfig {
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
  /** -n: the namespace (of --pod NAME; the only namespace top shows); undefined: the context's. */
  readonly namespace: string | undefined;
  /** -A: every namespace (top's default when -n is not given). */
  readonly allNamespaces: boolean;
  /** Where the chart's agents run. */
  readonly agentsNamespace: string;
  /** Agents asked at once (top's fan-out). */
  readonly concurrency: number;
  /** Per-agent timeout. */
  readonly agentTimeoutMs: number;
}

const dns1123 = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'expected a namespace name (lowercase letters, digits, -)' });

const KUBECTL = {
  namespace: { flag: '--namespace', schema: dns1123.optional() },
  agentsNamespace: { flag: '--agents-namespace', env: ['KDROP_AGENTS_NAMESPACE'], default: DEFAULT_AGENTS_NAMESPACE, schema: dns1123 },
  concurrency: { flag: '--concurrency', default: '32', schema: z.string().regex(/^\d+$/, { message: 'expected a whole number' }).transform(Number).refine((n) => n >= 1 && n <= 512, { message: 'expected 1 to 512' }) },
  agentTimeout: { flag: '--agent-timeout', default: '3s', schema: durationMs.refine((ms) => ms >= 100, { message: 'expected at least 100ms' }) },
} as const satisfies SettingsTable;

export function kubectlConfig(flags: KubectlFlags, env: NodeJS.ProcessEnv): KubectlConfig {
  const v = resolveSettings(
    KUBECTL,
    { flags: { namespace: flags.namespace, agentsNamespace: flags.agentsNamespace, concurrency: flags.concurrency, agentTimeout: flags.agentTimeout }, env },
    'kubectl kdrop options',
  );
  return {
    kubeconfig: flags.kubeconfig,
    context: flags.context,
    namespace: v.namespace,
    allNamespaces: flags.allNamespaces ?? false,
    agentsNamespace: v.agentsNamespace,
    concurrency: v.concurrency,
    agentTimeoutMs: v.agentTimeout,
  };
}

/** `NS/NAME`, or `NAME` in -n's (else the context's) namespace. */
export function podRef(pod: string, namespace: string): { namespace: string; name: string } {
  const parts = pod.split('/');
  const [ns, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : [namespace, parts[0]!];
  if (parts.length > 2 || ns === '' || name === '') {
    throw new KdropError(ErrorCodes.CONFIG, 'invalid --pod', { expected: 'NAMESPACE/NAME, or NAME with -n', found: excerpt(pod) });
  }
  return { namespace: ns, name };
}
