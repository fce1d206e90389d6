/** Child processes for e2e tests: started with captured output, always stopped (SIGTERM, then SIGKILL). */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  /** stdout and stderr lines, interleaved. */
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  /** Resolves with the first line for which `match` is true (or rejects when the process exits / time runs out). */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
  /** Sends `signal`; after `graceMs` SIGKILL. Resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
  /** The last lines of output, for assertion messages. */
  tail(n?: number): string;
}

export function startChild(name: string, argv: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Child {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('empty argv');
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env }, cwd: opts.cwd });
  const lines: string[] = [];
  const listeners = new Set<(l: string) => void>();
  const onLine = (l: string): void => {
    lines.push(l);
    if (lines.length > 5000) lines.shift();
    for (const f of listeners) f(l);
  };
  createInterface({ input: proc.stdout! }).on('line', onLine);
  createInterface({ input: proc.stderr! }).on('line', onLine);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    });
    proc.once('error', (err) => {
      lines.push(`spawn error: ${err.message}`);
      exitCode = null;
      resolve(null);
    });
  });
  const tail = (n = 40): string => lines.slice(-n).join('\n');
  return {
    name,
    proc,
    lines,
    exited,
    tail,
    waitForLine(match, timeoutMs) {
      return new Promise((resolve, reject) => {
        const found = lines.find(match);
        if (found !== undefined) return resolve(found);
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(listener);
        };
        const listener = (l: string): void => {
          if (match(l)) {
            cleanup();
            resolve(l);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${name}: expected line not seen within ${timeoutMs} ms; output:\n${tail()}`));
        }, timeoutMs);
        listeners.add(listener);
        void exited.then((code) => {
          if (!listeners.has(listener)) return;
          cleanup();
          reject(new Error(`${name} exited (${code}) before the expected line; output:\n${tail()}`));
        });
      });
    },
    async stop(signal = 'SIGTERM', graceMs = 20_000) {
      if (exitCode !== undefined) return exitCode;
      proc.kill(signal);
      const killer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}
