/**
 * The default exact source: kdrop's own CO-RE program (probe/kdrop.bpf.c) run by the static loader
 * kdrop-probe. The kernel counts per key into one of two per-CPU maps; each `dump` flips the epoch, waits
 * for in-flight programs and hands the old map's entries over as that epoch's deltas, then clears it, so
 * the kernel map holds one interval's keys only. Here the deltas are summed into per-key totals (the
 * DropSource contract); a key that did not grow for `idleCollects` collects is forgotten (and omitted,
 * which tells the DeltaTracker to forget it too), so memory stays bounded under any key churn.
 *
 * Maps and link are pinned in bpffs (pins.ts): when the loader dies, its successor re-uses them (the
 * program never stopped counting) and replays the epoch that was being drained; lines are tagged with
 * their epoch and keys already taken for an unfinished epoch are skipped, so nothing counts twice.
 */
import { execa } from 'execa';
import type { Writable } from 'node:stream';
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import { logger } from '../../log.js';
import { keyString, type DropKey, type DropSample, type DropSource, type SourceFeatures, type SourceStats } from '../types.js';
import type { RestartPolicy } from '../bpftrace/supervisor.js';
import { LineSplitter, parseProbeLine, type AttachType, type ProbeEvent } from './protocol.js';
import { DEFAULT_PIN_ROOT, findStalePins, pinDirFor, removePins } from './pins.js';
import { isExecutable, probePath } from './locate.js';

const log = logger('source.bpf');

export interface BpfSourceOptions {
  /** The tracepoint has a reason field (from the format file): features.reason. */
  readonly hasReason: boolean;
  /** kdrop-probe path (default: KDROP_PROBE or build/probe/kdrop-probe). */
  readonly probe?: string;
  /** Where to pin (default /sys/fs/bpf/kdrop); null: do not pin. */
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
}

interface Totals {
  key: DropKey;
  count: number;
  bytes: number;
  /** collect() calls since the total last grew. */
  idle: number;
}

export interface ProbeProgramStats {
  readonly attach: AttachType | null;
  /** Cumulative run time and runs of the program (non-zero only while kernel.bpf_stats_enabled=1). */
  readonly runNs: number;
  readonly runCnt: number;
}

const DEFAULT_RESTART: RestartPolicy = { maxRestarts: 5, initialDelayMs: 200, maxDelayMs: 30_000 };

/** One kdrop-probe process. */
class Loader {
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
}

export class BpfSource implements DropSource {
  readonly name = 'bpf' as const;
  readonly features: SourceFeatures;
  private readonly probe: string;
  private readonly restartPolicy: RestartPolicy;
  private readonly totals = new Map<string, Totals>();
  /** The epoch being received and the keys taken for it (a replay after a crash skips them). */
  private openEpoch = -1;
  private openKeys = new Set<string>();
  /** Epochs up to this one are complete (END seen). */
  private doneEpoch = -1;
  private lostBase = 0;
  private lostLast = 0;
  private badLines = 0;
  private restarts = 0;
  private consecutiveRestarts = 0;
  private failedStarts = 0;
  private progStats: ProbeProgramStats = { attach: null, runNs: 0, runCnt: 0 };
  private pinDir: string | null = null;
  private loader: Loader | null = null;
  private state: 'new' | 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed' = 'new';
  private queue: Promise<unknown> = Promise.resolve();
  private pollTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private spawning: Promise<unknown> | undefined;
  private stopPromise: Promise<void> | undefined;
  private readonly fatalListeners: Array<(err: Error) => void> = [];

  constructor(private readonly opts: BpfSourceOptions) {
    this.probe = opts.probe ?? probePath();
    this.restartPolicy = opts.restart ?? DEFAULT_RESTART;
    this.features = { reason: opts.hasReason, netns: true, bytes: true };
  }

  /** Pid of the running loader (tests, diagnostics). */
  get pid(): number | undefined {
    return this.loader && !this.loader.exited ? this.loader.pid : undefined;
  }

  /** The pin directory in use, or null when unpinned. */
  get pins(): string | null {
    return this.pinDir;
  }

  /** Keys currently held in memory (bounded by the keys active within idleCollects collects). */
  get keysHeld(): number {
    return this.totals.size;
  }

  programStats(): ProbeProgramStats {
    return this.progStats;
  }

  onFatal(listener: (err: Error) => void): void {
    this.fatalListeners.push(listener);
  }

  stats(): SourceStats {
    return { lostEvents: this.lostBase + this.lostLast, restarts: this.restarts, badLines: this.badLines };
  }

  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'starting';
    try {
      if (!(await isExecutable(this.probe))) {
        throw new KdropError(ErrorCodes.PROBE_MISSING, `kdrop-probe not found at ${this.probe}`, {
          expected: 'the kernel probe built by scripts/build-probe.sh (or KDROP_PROBE=PATH)',
          found: 'no executable file',
          hint: 'run scripts/build-probe.sh, or pick --source bpftrace|tracefs',
        });
      }
      const root = this.opts.pinRoot === undefined ? DEFAULT_PIN_ROOT : this.opts.pinRoot;
      if (root !== null) {
        for (const dir of await findStalePins(root, this.opts.procRoot)) {
          log.warn({ dir }, 'removing bpffs pins left by a kdrop process that is gone');
          await removePins(dir);
        }
        this.pinDir = await pinDirFor(root, this.opts.procRoot);
      }
      this.loader = await this.spawnLoader();
      this.state = 'running';
      const ready = this.loader.ready;
      if (ready && ready.pinned === null && this.pinDir !== null) {
        log.warn({ dir: this.pinDir }, 'bpffs not usable: maps are not pinned, a loader restart loses what it had not handed over');
        this.pinDir = null;
      }
      const interval = this.opts.readIntervalMs ?? 1000;
      if (interval > 0) {
        this.pollTimer = setInterval(() => void this.dump().catch(() => undefined), interval);
        this.pollTimer.unref();
      }
      log.info({ loaderPid: this.loader.pid, attach: ready?.attach, pinned: this.pinDir }, 'kernel probe attached to kfree_skb');
    } catch (err) {
      this.state = 'failed';
      if (this.pinDir !== null) await removePins(this.pinDir);
      throw err;
    }
  }

  private argv(): string[] {
    const a = [this.probe];
    if (this.pinDir !== null) a.push('--pin-dir', this.pinDir);
    if (this.opts.maxKeys !== undefined) a.push('--max-keys', String(this.opts.maxKeys));
    if (this.opts.attach !== undefined) a.push('--attach', this.opts.attach);
    return a;
  }

  private async spawnLoader(): Promise<Loader> {
    const loader = new Loader(
      this.argv(),
      (ev) => this.onEvent(ev),
      (line, err) => {
        this.badLines++;
        log.debug({ line: excerpt(line, 200), err: err.message }, 'bad kdrop-probe line');
      },
    );
    const timeoutMs = this.opts.startTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      loader.attached.then(() => 'attached' as const),
      loader.done.then(() => 'exited' as const),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'attached') {
      void loader.done.then((r) => this.onLoaderExit(loader, r));
      return loader;
    }
    if (outcome === 'timeout') loader.signal('SIGKILL');
    const r = await loader.done;
    throw new KdropError(ErrorCodes.PROBE_START, outcome === 'timeout' ? `kdrop-probe did not attach within ${timeoutMs} ms` : 'kdrop-probe exited during start', {
      expected: 'a READY line once the program is attached',
      found: `exit ${r.exitCode ?? r.signal ?? '?'}, stderr ${excerpt(loader.stderr().trim(), 1000)}`,
      hint: 'the probe needs kernel BTF and CAP_BPF + CAP_PERFMON (or root); run `kdrop doctor`',
    });
  }

  private onEvent(ev: ProbeEvent): void {
    switch (ev.kind) {
      case 'delta':
        this.applyDelta(ev);
        break;
      case 'end':
        if (ev.epoch > this.doneEpoch) this.doneEpoch = ev.epoch;
        if (ev.epoch === this.openEpoch) {
          this.openEpoch = -1;
          this.openKeys = new Set();
        }
        {
          const lost = ev.lost + ev.misses;
          // Kernel counters are cumulative while the pins live; a fresh (unpinned) program starts at 0.
          if (lost < this.lostLast) this.lostBase += this.lostLast;
          this.lostLast = lost;
        }
        this.progStats = { attach: this.progStats.attach, runNs: ev.runNs, runCnt: ev.runCnt };
        break;
      case 'ready':
        this.progStats = { ...this.progStats, attach: ev.attach };
        if (!ev.resumed) {
          // A fresh program (unpinned, or its pins were gone): its epochs start again at 0.
          this.doneEpoch = -1;
          this.openEpoch = -1;
          this.openKeys = new Set();
        }
        break;
      case 'warn':
        log.warn({ loaderPid: this.loader?.pid, message: ev.text }, 'kdrop-probe');
        break;
      default:
        break;
    }
  }

  private applyDelta(ev: Extract<ProbeEvent, { kind: 'delta' }>): void {
    if (ev.epoch <= this.doneEpoch) return; // a complete epoch cannot come again; ignore a stray replay
    const key: DropKey = {
      address: ev.address,
      reasonCode: this.features.reason ? ev.reasonCode : null,
      protocol: ev.protocol,
      netns: ev.netns === 0 ? null : ev.netns,
    };
    const ks = keyString(key);
    if (ev.epoch !== this.openEpoch) {
      this.openEpoch = ev.epoch;
      this.openKeys = new Set();
    }
    // A loader that died after printing a key but before deleting it: its successor prints it again.
    if (this.openKeys.has(ks)) return;
    this.openKeys.add(ks);
    if (ev.count === 0) return;
    const t = this.totals.get(ks);
    if (t) {
      t.count += ev.count;
      t.bytes += ev.bytes;
      t.idle = -1;
    } else {
      this.totals.set(ks, { key, count: ev.count, bytes: ev.bytes, idle: -1 });
    }
  }

  /** One flip-and-drain, serialized with the others. */
  private dump(): Promise<void> {
    const next = this.queue.then(async () => {
      const l = this.loader;
      if (this.state !== 'running' || !l || l.exited) return;
      await l.command('dump', this.opts.collectTimeoutMs ?? 5000);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  async collect(): Promise<DropSample[]> {
    if (this.state === 'running') await this.dump();
    const out: DropSample[] = [];
    const idleMax = this.opts.idleCollects ?? 60;
    for (const [ks, t] of this.totals) {
      t.idle++;
      if (t.idle > idleMax && this.state !== 'stopped') {
        // Unchanged for idleMax collects: omitted, the DeltaTracker forgets it too; if it comes back it
        // starts from zero, so every delta stays exact.
        this.totals.delete(ks);
        continue;
      }
      out.push({ ...t.key, count: t.count, bytes: t.bytes });
    }
    return out;
  }

  private onLoaderExit(loader: Loader, r: { exitCode: number | undefined; signal: string | undefined }): void {
    if (loader !== this.loader || this.state !== 'running') return;
    this.loader = null;
    if (Date.now() - loader.startedAt >= (this.opts.healthyAfterMs ?? 60_000)) this.consecutiveRestarts = 0;
    log.warn(
      { loaderPid: loader.pid, exitCode: r.exitCode, signal: r.signal, stderr: loader.stderr().slice(-500), pinned: this.pinDir !== null },
      this.pinDir !== null ? 'kdrop-probe died; restarting (the pinned program keeps counting)' : 'kdrop-probe died; restarting (unpinned: drops until it is back are not counted)',
    );
    this.state = 'restarting';
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.state !== 'restarting') return;
    const { maxRestarts, initialDelayMs, maxDelayMs } = this.restartPolicy;
    if (this.failedStarts >= maxRestarts) {
      this.state = 'failed';
      clearInterval(this.pollTimer);
      const err = new KdropError(ErrorCodes.TRACER_DIED, `kdrop-probe died and ${maxRestarts} restarts did not bring it back`, {
        expected: 'kdrop-probe to keep running',
        found: `${this.restarts} restarts`,
        hint: 'see the kdrop-probe stderr in the log; try --source bpftrace or tracefs',
      });
      log.error({ err: err.message }, 'bpf source failed');
      if (this.pinDir !== null) void removePins(this.pinDir);
      for (const l of this.fatalListeners) l(err);
      return;
    }
    const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** this.consecutiveRestarts);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.state !== 'restarting') return;
      this.consecutiveRestarts++;
      this.restarts++;
      this.spawning = this.spawnLoader().then(
        (l) => {
          this.spawning = undefined;
          this.failedStarts = 0;
          this.loader = l;
          if (this.state !== 'restarting') return;
          this.state = 'running';
          log.info({ loaderPid: l.pid, restarts: this.restarts, resumed: l.ready?.resumed }, 'kdrop-probe restarted');
        },
        (err: unknown) => {
          this.spawning = undefined;
          this.failedStarts++;
          log.warn({ err: (err as Error).message }, 'kdrop-probe restart failed');
          this.scheduleRestart();
        },
      );
    }, delay);
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    const prev = this.state;
    clearInterval(this.pollTimer);
    clearTimeout(this.restartTimer);
    await this.queue;
    this.state = 'stopping';
    if (this.spawning) await this.spawning;
    const l = this.loader;
    if (l && prev !== 'new') {
      // stop: detach, hand over both maps, unpin, exit.
      await l.command('stop', this.opts.stopTimeoutMs ?? 10_000);
      let timer: NodeJS.Timeout | undefined;
      const killed = await Promise.race([
        l.done.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), this.opts.stopTimeoutMs ?? 10_000);
        }),
      ]);
      clearTimeout(timer);
      if (killed) {
        log.warn({ loaderPid: l.pid }, 'kdrop-probe did not exit after stop; killing it');
        l.signal('SIGKILL');
      }
      await l.done;
    }
    if (this.pinDir !== null) await removePins(this.pinDir);
    this.state = 'stopped';
    log.info({ restarts: this.restarts, lostEvents: this.stats().lostEvents, badLines: this.badLines }, 'bpf source stopped');
  }
}
