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
 * their epoch and keys already taken for an unfinished epoch are skipped (epoch-totals.ts), so nothing
 * counts twice. The loader process itself is loader-process.ts.
 */
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import { logger } from '../../log.js';
import type { DropSample, DropSource, SampleStats, SourceFeatures, SourceStats } from '../types.js';
import type { FlowSample } from '../../vocabulary/flow-sample.js';
import type { RestartPolicy } from '../bpftrace/supervisor.js';
import type { ProbeEvent } from './protocol.js';
import type { BpfSourceOptions, ProbeProgramStats } from './options.js';
import { Loader } from './loader-process.js';
import { EpochTotals } from './epoch-totals.js';
import { SampleHub } from './sample-hub.js';
import { DEFAULT_PIN_ROOT, findStalePins, pinDirFor, removePins } from './pins.js';
import { isExecutable, probePath } from './locate.js';

const log = logger('source.bpf');

const DEFAULT_RESTART: RestartPolicy = { maxRestarts: 5, initialDelayMs: 200, maxDelayMs: 30_000 };

export class BpfSource implements DropSource {
  readonly name = 'bpf' as const;
  readonly features: SourceFeatures;
  private readonly probe: string;
  private readonly restartPolicy: RestartPolicy;
  private readonly totals: EpochTotals;
  private readonly hub: SampleHub;
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
    this.totals = new EpochTotals(opts.hasReason);
    this.hub = new SampleHub(opts.hasReason);
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

  /** Sampled drops; only when started with `samples`. */
  onSample(listener: (s: FlowSample) => void): () => void {
    return this.hub.subscribe(listener);
  }

  sampleStats(): SampleStats & { readonly received: number } {
    return this.hub.stats();
  }

  onFatal(listener: (err: Error) => void): void {
    this.fatalListeners.push(listener);
  }

  stats(): SourceStats {
    return { lostEvents: this.totals.lost, restarts: this.restarts, badLines: this.badLines };
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
    const smp = this.opts.samples;
    if (smp === undefined) a.push('--no-samples');
    else {
      a.push('--sample-rate', String(smp.rate), '--sample-burst', String(smp.burst), '--sample-max-per-s', String(smp.maxPerS));
      if (smp.stacks) a.push('--stacks');
    }
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
    await loader.waitAttached(this.opts.startTimeoutMs ?? 30_000);
    void loader.done.then((r) => this.onLoaderExit(loader, r));
    return loader;
  }

  private onEvent(ev: ProbeEvent): void {
    switch (ev.kind) {
      case 'delta':
        this.totals.delta(ev);
        break;
      case 'sample':
        this.hub.sample(ev);
        break;
      case 'stack':
        this.hub.stack(ev);
        break;
      case 'end':
        this.totals.end(ev);
        this.hub.end(ev);
        this.progStats = { attach: this.progStats.attach, runNs: ev.runNs, runCnt: ev.runCnt };
        break;
      case 'ready':
        this.progStats = { ...this.progStats, attach: ev.attach };
        if (!ev.resumed) this.totals.reset();
        break;
      case 'warn':
        log.warn({ loaderPid: this.loader?.pid, message: ev.text }, 'kdrop-probe');
        break;
      default:
        break;
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
    return this.totals.collect(this.opts.idleCollects ?? 60, this.state !== 'stopped');
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
