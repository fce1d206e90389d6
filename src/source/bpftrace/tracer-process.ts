/**
 * One bpftrace process, run with execa: its stdout lines go to its ProgramChannel (protocol.ts), the tail
 * of its stderr is kept for errors. stop() cancels it: execa sends the kill signal, SIGINT (bpftrace
 * prints its maps and exits), and SIGKILL when it has not exited after stopTimeoutMs.
 */
import { execa } from 'execa';
import { logger } from '../../log.js';
import type { ProgramChannel } from './protocol.js';

const log = logger('source.bpftrace');

/** The protocol side of a new instance, given its pid and a way to signal it (false when it is gone). */
export type NewChannel = (pid: number | undefined, signal: (sig: NodeJS.Signals) => boolean) => ProgramChannel;

export interface Exit {
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  /** Killed by forceKillAfterDelay after the stop signal. */
  readonly forced: boolean;
}

/** One bpftrace process: its stdout lines go to its channel, the tail of its stderr is kept. */
export class TracerProcess {
  readonly startedAt = Date.now();
  readonly pid: number | undefined;
  readonly channel: ProgramChannel;
  /** Resolves once the process exited and all of its output was read. */
  readonly done: Promise<Exit>;
  exited = false;
  #stderrTail = '';
  readonly #kill: (sig: NodeJS.Signals) => boolean;
  readonly #cancel = new AbortController();

  constructor(file: string, args: readonly string[], env: Record<string, string>, stopTimeoutMs: number, newChannel: NewChannel) {
    const sub = execa(file, args, {
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      cleanup: true,
      env,
      // stop(): SIGINT makes bpftrace print its maps and exit; SIGKILL when it has not after stopTimeoutMs.
      cancelSignal: this.#cancel.signal,
      killSignal: 'SIGINT',
      forceKillAfterDelay: stopTimeoutMs,
    });
    this.pid = sub.pid;
    this.#kill = (sig) => sub.kill(sig);
    const channel = newChannel(sub.pid, this.#kill);
    this.channel = channel;
    const outDone = readLines(sub.iterable({ from: 'stdout' }), (line) => channel.line(line));
    const errDone = readLines(sub.iterable({ from: 'stderr' }), (line) => {
      this.#stderrTail = `${this.#stderrTail}${line}\n`.slice(-4000);
      log.debug({ tracerPid: this.pid, line }, 'bpftrace stderr');
    });
    this.done = (async () => {
      const result = await sub.then(
        (r): Exit => ({ exitCode: r.exitCode, signal: r.signal, forced: r.isForcefullyTerminated }),
        (err: unknown): Exit => ({ exitCode: undefined, signal: String(err), forced: false }),
      );
      await Promise.all([outDone, errDone]);
      this.exited = true;
      channel.close();
      return result;
    })();
  }

  stderr(): string {
    return this.#stderrTail;
  }

  kill(sig: NodeJS.Signals): void {
    if (!this.exited) this.#kill(sig);
  }

  /** SIGINT, SIGKILL after stopTimeoutMs; resolves when it exited and its output was read. */
  async stop(): Promise<void> {
    this.#cancel.abort();
    const r = await this.done;
    if (r.forced) log.warn({ tracerPid: this.pid }, 'bpftrace did not exit after SIGINT; killed it');
  }
}

async function readLines(lines: AsyncIterable<string>, each: (line: string) => void): Promise<void> {
  try {
    for await (const line of lines) each(line);
  } catch (err) {
    log.debug({ err }, 'reading bpftrace output failed');
  }
}
