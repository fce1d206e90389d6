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
 * counts twice. The directory is locked through a file this process keeps open (pins.ts), so that no
 * other kdrop, in whatever PID namespace, takes it for stale. The loader process itself is
 * loader-process.ts; restarts follow ../restarter.ts, shared with the bpftrace source.
 */
import type { FileHandle } from 'node:fs/promises';
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import { logger } from '../../log.js';
import type { DropSample, DropSource, SampleStats, SourceFeatures, SourceStats } from '../types.js';
import type { FlowSample } from '../../vocabulary/flow-sample.js';
import { Restarter, type RestartPolicy } from '../restarter.js';
import type { ProbeEvent } from './protocol.js';
import { probeArgv, type BpfSourceOptions, type ProbeProgramStats } from './options.js';
import { Loader } from './loader-process.js';
import { EpochTotals } from './epoch-totals.js';
import { SampleHub } from './sample-hub.js';
import { openPinDir, pinRootFrom, pinDirFor, removePins, sameDir } from './pins.js';
import { isExecutable, probePath } from './locate.js';
import { adoptEarly, claimEarly, type EarlyProbe } from './early.js';

const log = logger('source.bpf');

const DEFAULT_RESTART: RestartPolicy = { maxRestarts: 5, initialDelayMs: 200, maxDelayMs: 30_000 };

type Exit = Awaited<Loader['done']>;

export class BpfSource implements DropSource {
  readonly name = 'bpf' as const;
  readonly features: SourceFeatures;
  private readonly probe: string;
  private readonly totals: EpochTotals;
  private readonly hub: SampleHub;
  private readonly restarter: Restarter<Loader, Exit>;
  private badLines = 0;
  private progStats: ProbeProgramStats = { attach: null, runNs: 0, runCnt: 0 };
  private pinDir: string | null = null;
  /** The pin directory, open: the loaders' lock lives on it (pins.ts). */
  private lockFile: FileHandle | null = null;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed' = 'new';
  private queue: Promise<unknown> = Promise.resolve();
  private pollTimer: NodeJS.Timeout | undefined;
  private stopPromise: Promise<void> | undefined;
  private readonly fatalListeners: Array<(err: Error) => void> = [];
  /** When the first loader said READY (ms since the epoch): with the early start, before start() resolved. */
  attachedAt: number | undefined;
  /** The loader of the early start (early.ts), taken over by the first spawn. */
  private early: EarlyProbe | null = null;

  constructor(private readonly opts: BpfSourceOptions) {
    this.probe = opts.probe ?? probePath();
    this.features = { reason: opts.hasReason, netns: true, bytes: true };
    this.totals = new EpochTotals(opts.hasReason);
    this.hub = new SampleHub(opts.hasReason);
    this.restarter = new Restarter<Loader, Exit>({
      what: 'kdrop-probe',
      log,
      policy: opts.restart ?? DEFAULT_RESTART,
      healthyAfterMs: opts.healthyAfterMs ?? 60_000,
      spawn: () => this.spawnLoader(),
      stop: (l) => this.stopLoader(l),
      onDeath: (l, r, delayMs) => this.onLoaderDeath(l, r, delayMs),
      fatalHint: 'see the kdrop-probe stderr in the log; try --source bpftrace or tracefs',
      onFatal: (err) => {
        this.state = 'failed';
        clearInterval(this.pollTimer);
        if (this.pinDir !== null) void removePins(this.pinDir);
        for (const l of this.fatalListeners) l(err);
      },
    });
  }

  /** Pid of the running loader (tests, diagnostics). */
  get pid(): number | undefined {
    const l = this.restarter.current;
    return l && !l.exited ? l.pid : undefined;
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
    return { lostEvents: this.totals.lost, restarts: this.restarter.restarts, badLines: this.badLines };
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
      const root = this.opts.pinRoot === undefined ? pinRootFrom() : this.opts.pinRoot;
      // The loader started at process start, on its locked pin directory, if it runs what we would run.
      this.early = this.opts.procRoot === undefined ? await claimEarly(root, (dir) => this.argv(dir), this.debug) : null;
      this.lockFile = this.early?.lockFile ?? null;
      // Pins of kdrops that are gone are removed by the loader, which can test their locks.
      this.pinDir = this.early?.pinDir ?? (await this.newPinDir(root));
      const loader = await this.restarter.start();
      if (loader === null) return; // stopped while starting
      this.state = 'running';
      this.attachedAt = loader.readyAt ?? undefined;
      const ready = loader.ready;
      if (ready && ready.pinned === null && this.pinDir !== null) {
        log.warn({ dir: this.pinDir }, 'bpffs not usable: maps are not pinned, a loader restart loses what it had not handed over');
        this.pinDir = null;
      }
      const interval = this.opts.readIntervalMs ?? 1000;
      if (interval > 0) {
        this.pollTimer = setInterval(() => void this.dump().catch(() => undefined), interval);
        this.pollTimer.unref();
      }
      log.info({ loaderPid: loader.pid, attach: ready?.attach, object: ready?.atomics === false ? 'pre-5.12' : 'main', qdiscReasons: ready?.qdisc === true, pinned: this.pinDir }, 'kernel probe attached to kfree_skb');
    } catch (err) {
      this.state = 'failed';
      if (this.pinDir !== null) await removePins(this.pinDir);
      await this.closeLock();
      throw err;
    }
  }

  private argv(pinDir = this.pinDir): string[] {
    return probeArgv(this.probe, this.opts, pinDir);
  }

  /** The pin directory, open for the lock: made when missing (or gone: a loader stopped on a signal). */
  private async lockFd(): Promise<number | undefined> {
    if (this.pinDir === null) return undefined;
    if (this.lockFile && (await sameDir(this.lockFile, this.pinDir))) return this.lockFile.fd;
    await this.closeLock();
    this.lockFile = await openPinDir(this.pinDir, true);
    return this.lockFile?.fd;
  }

  private async closeLock(): Promise<void> {
    const f = this.lockFile;
    this.lockFile = null;
    await f?.close().catch(() => undefined);
  }

  private readonly onBadLine = (line: string, err: Error): void => {
    this.badLines++;
    log.debug({ line: excerpt(line, 200), err: err.message }, 'bad kdrop-probe line');
  };

  private readonly debug = (fields: Record<string, unknown>, msg: string): void => log.debug(fields, msg);

  /** A new pin directory of this process under the pin root (null: unpinned). */
  private async newPinDir(root = this.opts.pinRoot === undefined ? pinRootFrom() : this.opts.pinRoot): Promise<string | null> {
    return root === null ? null : await pinDirFor(root, this.opts.procRoot);
  }

  private async spawnLoader(): Promise<Loader> {
    const early = this.early;
    this.early = null;
    const adopted = early && (await adoptEarly(early, (ev) => this.onEvent(ev), this.onBadLine, this.opts.startTimeoutMs ?? 30_000, this.debug));
    if (adopted) return adopted;
    // The early loader failed, and is gone with its pins and lock: the usual start, on a fresh directory.
    if (early) [this.lockFile, this.pinDir] = [null, await this.newPinDir()];
    const loader = new Loader(this.argv(), (ev) => this.onEvent(ev), this.onBadLine, await this.lockFd());
    await loader.waitAttached(this.opts.startTimeoutMs ?? 30_000);
    // bpffs was mounted by this loader: the directory exists now, the next loader locks through our file.
    if (this.lockFile === null && loader.ready?.pinned) await this.lockFd();
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
        this.totals.ready(ev.resumed);
        break;
      case 'warn':
        log.warn(`kdrop-probe: ${ev.text}`);
        break;
      default:
        break;
    }
  }

  /** One flip-and-drain, serialized with the others. */
  private dump(): Promise<void> {
    const next = this.queue.then(async () => {
      const l = this.restarter.running;
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

  private onLoaderDeath(loader: Loader, r: Exit, delayMs: number): void {
    if (loader.saidBye) {
      // Stopped on a signal (a terminal's Ctrl-C reaches the loader too) or the end of its stdin, after
      // its final dump: nothing was lost. kdrop itself is usually stopping too.
      log.debug({ loaderPid: loader.pid, signal: r.signal, delayMs }, 'kdrop-probe stopped on its own after its final dump; restarting');
      return;
    }
    log.warn(
      { loaderPid: loader.pid, exitCode: r.exitCode, signal: r.signal, stderr: loader.stderr().slice(-500), pinned: this.pinDir !== null, delayMs },
      this.pinDir !== null ? 'kdrop-probe died; restarting (the pinned program keeps counting)' : 'kdrop-probe died; restarting (unpinned: drops until it is back are not counted)',
    );
  }

  /** stop: detach, hand over both maps, unpin, exit; SIGKILL when it does not. */
  private async stopLoader(l: Loader): Promise<void> {
    const timeoutMs = this.opts.stopTimeoutMs ?? 10_000;
    await l.command('stop', timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const killed = await Promise.race([
      l.done.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (killed) {
      log.warn({ loaderPid: l.pid }, 'kdrop-probe did not exit after stop; killing it');
      l.signal('SIGKILL');
    }
    await l.done;
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    clearInterval(this.pollTimer);
    await this.queue;
    this.state = 'stopping';
    await this.restarter.stop();
    if (this.pinDir !== null) await removePins(this.pinDir);
    await this.closeLock();
    this.state = 'stopped';
    log.debug({ restarts: this.restarter.restarts, lostEvents: this.stats().lostEvents, badLines: this.badLines }, 'bpf source stopped');
  }
}
