/** Runs the built kdrop CLI as a child process (Node 24 from node_modules), for kernel and e2e tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const cliPath = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface CliProcess {
  readonly child: ChildProcess;
  readonly stdoutLines: string[];
  readonly stderrLines: string[];
  /** Resolves when a stderr log line has this msg (or rejects if the process exits first). */
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * Starts kdrop with `args`: this Node and the compiled CLI, or `command` (argv before the arguments, e.g. an
 * image's entrypoint in a chroot).
 */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, command: readonly string[] = [process.execPath, cliPath]): CliProcess {
  const child = spawn(command[0]!, [...command.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KDROP_LOG_LEVEL: 'info', ...env } });
  const stdoutLines: string[] = [];
  const stderrLines: string[] = [];
  const listeners: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => stdoutLines.push(l));
  createInterface({ input: child.stderr! }).on('line', (l) => {
    stderrLines.push(l);
    for (const f of listeners) f(l);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stdoutLines,
    stderrLines,
    exited,
    waitForLog(msg, timeoutMs = 30000) {
      return new Promise((resolve, reject) => {
        const check = (line: string): boolean => {
          try {
            const rec = JSON.parse(line) as Record<string, unknown>;
            if (rec['msg'] === msg) {
              resolve(rec);
              return true;
            }
          } catch {
            /* not JSON */
          }
          return false;
        };
        for (const l of stderrLines) if (check(l)) return;
        const t = setTimeout(() => reject(new Error(`no log "${msg}" within ${timeoutMs} ms; stderr:\n${stderrLines.join('\n').slice(-2000)}`)), timeoutMs);
        listeners.push((l) => {
          if (check(l)) clearTimeout(t);
        });
        void exited.then((code) => {
          clearTimeout(t);
          reject(new Error(`kdrop exited (${code}) before "${msg}"; stderr:\n${stderrLines.join('\n').slice(-2000)}`));
        });
      });
    },
    async stop(signal = 'SIGINT', timeoutMs = 20000) {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Sum of `count` over NDJSON records matching `pred`. */
export function sumRecords(lines: readonly string[], pred: (r: Record<string, unknown>) => boolean): number {
  let n = 0;
  for (const l of lines) {
    if (!l.startsWith('{')) continue;
    const r = JSON.parse(l) as Record<string, unknown>;
    if (pred(r)) n += r['count'] as number;
  }
  return n;
}
