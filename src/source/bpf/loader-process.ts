/**
 * One kdrop-probe process: spawns it, splits and parses its stdout into ProbeEvents, keeps a tail of its
 * stderr, and sends it commands (`dump` resolves at the next END). Supervision (restarts) is BpfSource's.
 */
import { execa } from 'execa';
import type { Writable } from 'node:stream';
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import { LineSplitter, parseProbeLine, type ProbeEvent } from './protocol.js';

/** One kdrop-probe process. */
export class Loader {
  readonly startedAt = Date.now();
  exited = false;
  ready: Extract<ProbeEvent, { kind: 'ready' }> | null = null;
  private stderrTail = '';
  private endWaiters: Array<() => void> = [];
  readonly attached: Promise<void>;
  readonly done: Promise<{ exitCode: number | undefined; signal: string | undefined }>;
  readonly pid: number | undefined;
  private readonly stdin: Writable | null;

  constructor(argv: readonly string[], onEvent: (ev: ProbeEvent) => void, onBadLine: (line: string, err: Error) => void) {
    const [file, ...args] = argv;
    const sub = execa(file as string, args, { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: false, reject: false, cleanup: true });
    this.pid = sub.pid;
    this.stdin = sub.stdin;
    let attachedResolve!: () => void;
    this.attached = new Promise((r) => {
      attachedResolve = r;
    });
    this.stdin?.on('error', () => undefined); // EPIPE when the loader died; `done` reports it
    const splitter = new LineSplitter();
    const outDone = new Promise<void>((resolve) => {
      const out = sub.stdout;
      if (!out) return resolve();
      out.setEncoding('utf8');
      out.on('data', (chunk: string) => {
        for (const line of splitter.push(chunk)) {
          let ev: ProbeEvent | null;
          try {
            ev = parseProbeLine(line);
          } catch (err) {
            onBadLine(line, err as Error);
            continue;
          }
          if (ev === null) continue;
          if (ev.kind === 'ready') {
            this.ready = ev;
            attachedResolve();
          }
          onEvent(ev);
          if (ev.kind === 'end' || ev.kind === 'bye') this.releaseEndWaiters();
        }
      });
      out.on('close', () => {
        const rest = splitter.end();
        if (rest !== '') onBadLine(rest, new Error('incomplete last line'));
        resolve();
      });
    });
    const errDone = new Promise<void>((resolve) => {
      const err = sub.stderr;
      if (!err) return resolve();
      err.setEncoding('utf8');
      err.on('data', (c: string) => {
        this.stderrTail = `${this.stderrTail}${c}`.slice(-4000);
      });
      err.on('close', () => resolve());
    });
    this.done = (async () => {
      const r = await sub.then(
        (x) => ({ exitCode: x.exitCode, signal: x.signal }),
        (e: unknown) => ({ exitCode: undefined, signal: String(e) }),
      );
      await Promise.all([outDone, errDone]);
      this.exited = true;
      this.releaseEndWaiters();
      return r;
    })();
  }

  stderr(): string {
    return this.stderrTail;
  }

  private releaseEndWaiters(): void {
    const w = this.endWaiters;
    this.endWaiters = [];
    for (const r of w) r();
  }

  /** Sends a command; for `dump` resolves at the next END (or exit, or timeout). */
  command(cmd: 'dump' | 'stop', timeoutMs: number): Promise<boolean> {
    if (this.exited) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.endWaiters.push(() => {
        clearTimeout(timer);
        resolve(!this.exited || cmd === 'stop');
      });
      this.stdin?.write(`${cmd}\n`);
    });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.exited || this.pid === undefined) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      // already gone
    }
  }

  /** Resolves at READY; otherwise (exit, or no READY within timeoutMs: killed) throws PROBE_START. */
  async waitAttached(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      this.attached.then(() => 'attached' as const),
      this.done.then(() => 'exited' as const),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'attached') return;
    if (outcome === 'timeout') this.signal('SIGKILL');
    const r = await this.done;
    throw new KdropError(ErrorCodes.PROBE_START, outcome === 'timeout' ? `kdrop-probe did not attach within ${timeoutMs} ms` : 'kdrop-probe exited during start', {
      expected: 'a READY line once the program is attached',
      found: `exit ${r.exitCode ?? r.signal ?? '?'}, stderr ${excerpt(this.stderr().trim(), 1000)}`,
      hint: 'the probe needs kernel BTF and CAP_BPF + CAP_PERFMON (or root); run `kdrop doctor`',
    });
  }
}
