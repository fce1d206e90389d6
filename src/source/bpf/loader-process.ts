/**
 * One kdrop-probe process: spawns it, splits and parses its stdout into ProbeEvents, keeps a tail of its
 * stderr, and sends it commands. Each command carries an id the loader echoes in its reply (`dump 7` ->
 * `END ... id=7`, `stop 8` -> `BYE 8`), so a reply answers its own command only, however many are queued.
 * With `lockFd`, the pin directory's open fd goes to the loader as fd 3 (`--lock-fd 3`): the loader
 * flock()s it, and since the lock belongs to the open file this process keeps, it outlives the loader.
 * Supervision (restarts) is BpfSource's. Spawned with node:child_process, not execa: this module is on
 * the early start's path (early.ts), before the program loads, and execa alone takes ~0.1 s to import.
 */
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import { LineSplitter, parseProbeLine, type ProbeEvent } from './protocol.js';

/** Loaders still running: SIGTERMed when this process exits (the loader then unpins and exits). */
const live = new Set<Loader>();
let exitHook = false;

/** One kdrop-probe process. */
export class Loader {
  readonly startedAt = Date.now();
  exited = false;
  ready: Extract<ProbeEvent, { kind: 'ready' }> | null = null;
  /** When its READY line was read (ms since the epoch). */
  readyAt: number | null = null;
  private stderrTail = '';
  /** Replies awaited, by command id. */
  private readonly waiters = new Map<number, () => void>();
  private nextId = 1;
  /** The loader printed BYE (it stopped cleanly: on `stop`, a signal or the end of its stdin). */
  saidBye = false;
  readonly attached: Promise<void>;
  readonly done: Promise<{ exitCode: number | undefined; signal: string | undefined }>;
  readonly pid: number | undefined;
  private readonly stdin: Writable | null;
  private onEvent: (ev: ProbeEvent) => void;
  private onBadLine: (line: string, err: Error) => void;

  constructor(argv: readonly string[], onEvent: (ev: ProbeEvent) => void, onBadLine: (line: string, err: Error) => void, lockFd?: number) {
    this.onEvent = onEvent;
    this.onBadLine = onBadLine;
    const [file, ...args] = argv;
    const stdio = lockFd === undefined ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe', lockFd];
    const sub = spawn(file as string, lockFd === undefined ? args : [...args, '--lock-fd', '3'], { stdio: stdio as ('pipe' | number)[] });
    // Spawn errors (ENOENT, EACCES) and the exit, whichever comes first.
    const exited = new Promise<{ exitCode: number | undefined; signal: string | undefined }>((resolve) => {
      sub.once('error', (e) => resolve({ exitCode: undefined, signal: String(e) }));
      sub.once('exit', (code, sig) => resolve({ exitCode: code ?? undefined, signal: sig ?? undefined }));
    });
    this.pid = sub.pid;
    if (this.pid !== undefined) live.add(this);
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => {
        for (const l of live) l.signal('SIGTERM');
      });
    }
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
            this.onBadLine(line, err as Error);
            continue;
          }
          if (ev === null) continue;
          if (ev.kind === 'ready') {
            this.ready = ev;
            this.readyAt = Date.now();
            attachedResolve();
          }
          if (ev.kind === 'bye') this.saidBye = true;
          this.onEvent(ev);
          if ((ev.kind === 'end' || ev.kind === 'bye') && ev.id !== null) this.reply(ev.id);
        }
      });
      out.on('close', () => {
        const rest = splitter.end();
        if (rest !== '') this.onBadLine(rest, new Error('incomplete last line'));
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
      const r = await exited;
      live.delete(this);
      await Promise.all([outDone, errDone]);
      this.exited = true;
      for (const w of this.waiters.values()) w();
      return r;
    })();
  }

  /** Hands its events to new listeners from now on (the early start's loader adopted by its BpfSource). */
  rebind(onEvent: (ev: ProbeEvent) => void, onBadLine: (line: string, err: Error) => void): void {
    this.onEvent = onEvent;
    this.onBadLine = onBadLine;
  }

  stderr(): string {
    return this.stderrTail;
  }

  private reply(id: number): void {
    this.waiters.get(id)?.();
  }

  /**
   * Sends a command with a fresh id; resolves true at its own reply (END id= for `dump`, BYE id for
   * `stop`), false when the loader exits first or no reply comes within timeoutMs.
   */
  command(cmd: 'dump' | 'stop', timeoutMs: number): Promise<boolean> {
    if (this.exited) return Promise.resolve(false);
    const id = this.nextId++;
    return new Promise<boolean>((resolve) => {
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(id);
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.waiters.set(id, () => finish(!this.exited));
      this.stdin?.write(`${cmd} ${id}\n`);
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
