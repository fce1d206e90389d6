/** Runs `kdrop agent` as a child process (the built CLI, Node 24) and waits until it has started. */
import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { startChild, type Child } from './processes.js';
import { kernelTestSkipReason } from '../../helpers/netns.js';

export const cliPath = fileURLToPath(new URL('../../../src/cli.js', import.meta.url));
const bpftraceSourcePath = fileURLToPath(new URL('../../../src/source/bpftrace/index.js', import.meta.url));

/**
 * Why the agent e2e tests cannot run here, or null. They need root (tracepoint, netns), the built CLI,
 * and a source that reports the netns inode per drop (bpftrace) so the count for one test netns is exact.
 */
export async function agentSkipReason(): Promise<string | null> {
  const kernel = kernelTestSkipReason();
  if (kernel !== null) return kernel;
  if (!(await exists(cliPath))) return `needs the built CLI at ${cliPath} (src/cli.ts)`;
  if (!(await exists(bpftraceSourcePath))) return 'needs the bpftrace source (src/source/bpftrace): per-netns counts come from it';
  if (!(await exists('/usr/bin/bpftrace')) && process.env['KDROP_BPFTRACE'] === undefined) return 'needs bpftrace (Debian: apt-get install bpftrace)';
  return null;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export interface AgentProcess {
  readonly child: Child;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the agent and resolves once it logged "kdrop agent started" (tracer attached, listeners bound). */
export async function startAgentProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<AgentProcess> {
  const child = startChild('kdrop agent', [process.execPath, cliPath, 'agent', ...args], { env: { KDROP_LOG_LEVEL: 'info', ...env } });
  try {
    await child.waitForLine((l) => l.includes('"msg":"kdrop agent started"'), 60_000);
  } catch (err) {
    await child.stop('SIGKILL');
    throw err;
  }
  return { child, stop: (signal = 'SIGTERM') => child.stop(signal, 30_000) };
}

/** Resolves once the agent logged that it read its first interval. */
export function firstInterval(a: AgentProcess): Promise<string> {
  return a.child.waitForLine((l) => l.includes('"msg":"first interval read: ready"'), 60_000);
}
