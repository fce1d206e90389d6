/**
 * The default source: a bpftrace program that counts skb:kfree_skb hits in per-CPU kernel maps keyed by
 * (location, reason, protocol, netns). The maps are cumulative and never cleared; the source asks
 * bpftrace to print them (SIGUSR1) when collect() is called and every readIntervalMs in the background
 * (which bounds what a crash of bpftrace can lose), and once more when bpftrace exits. Three parts:
 * protocol.ts talks to the generated program, supervisor.ts keeps one bpftrace running (restarts, stop),
 * totals.ts keeps totals across restarts (the last snapshot of a dead instance is a per-key base).
 */
import { logger } from '../../log.js';
import type { TracepointFormat } from '../../kernel/types.js';
import type { DropSample, DropSource, SourceFeatures, SourceStats } from '../types.js';
import { countStatementLine, generateProgram, programKeyFields, protocolIsNetworkOrder } from './program.js';
import { ProgramChannel, type ProtocolCounters } from './protocol.js';
import { BpftraceSupervisor, DEFAULT_RESTART, type RestartPolicy } from './supervisor.js';
import { RestartTotals } from './totals.js';
import { detectBpftrace, type BpftraceDialect } from './version.js';

const log = logger('source.bpftrace');

export interface BpftraceSourceOptions {
  readonly format: TracepointFormat;
  /** How to run bpftrace; default ['bpftrace']. E.g. ['chroot', '/srv/trixie', 'bpftrace']. */
  readonly command?: readonly string[];
  /** Key by netns inode (default true). */
  readonly netns?: boolean;
  /** Background snapshot period; bounds the counts a crash of bpftrace can lose (default 1000). */
  readonly readIntervalMs?: number;
  readonly restart?: RestartPolicy;
  /** Skip `bpftrace --version` and use this dialect. */
  readonly dialect?: BpftraceDialect;
  /** Map key limit passed to bpftrace (default 65536). */
  readonly maxMapKeys?: number;
  /** How long start() waits for the probe to attach (default 60000; LLVM start-up on a busy node). */
  readonly startTimeoutMs?: number;
  /** How long stop() waits for bpftrace to print its maps and exit before SIGKILL (default 10000). */
  readonly stopTimeoutMs?: number;
  /** How long collect() waits for a snapshot before returning the last one (default 5000). */
  readonly collectTimeoutMs?: number;
  /** An instance that ran this long resets the consecutive restart count (default 60000). */
  readonly healthyAfterMs?: number;
  /** Wrap the command in `setpriv --pdeathsig TERM --` where available (default true). */
  readonly deathSignal?: boolean;
  /** procfs root for the stale-process scan (default /proc). */
  readonly procRoot?: string;
}

export class BpftraceSource implements DropSource {
  readonly name = 'bpftrace' as const;
  private _features: SourceFeatures;
  private readonly counters: ProtocolCounters = { lost: 0, badLines: 0 };
  private readonly totals = new RestartTotals();
  private supervisor: BpftraceSupervisor | null = null;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed' = 'new';
  private program = '';
  private pollTimer: NodeJS.Timeout | undefined;
  private stopPromise: Promise<void> | undefined;
  private startPromise: Promise<void> | undefined;
  private readonly fatalListeners: Array<(err: Error) => void> = [];

  constructor(private readonly opts: BpftraceSourceOptions) {
    this._features = { reason: opts.format.fields.some((f) => f.name === 'reason'), netns: opts.netns ?? true, bytes: true };
  }

  get features(): SourceFeatures {
    return this._features;
  }

  /** The generated program (after start()). */
  get programText(): string {
    return this.program;
  }

  /** Pid of the running bpftrace, if any (for tests and diagnostics). */
  get pid(): number | undefined {
    return this.supervisor?.pid;
  }

  onFatal(listener: (err: Error) => void): void {
    this.fatalListeners.push(listener);
  }

  stats(): SourceStats {
    return { lostEvents: this.counters.lost, restarts: this.supervisor?.restarts ?? 0, badLines: this.counters.badLines };
  }

  start(): Promise<void> {
    if (this.state !== 'new') return this.startPromise ?? Promise.resolve();
    this.state = 'starting';
    this.startPromise = this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    try {
      const dialect = this.opts.dialect ?? (await detectBpftrace(this.opts.command ?? ['bpftrace'])).dialect;
      this.program = generateProgram({ format: this.opts.format, dialect, netns: this._features.netns });
      const maxMapKeys = this.opts.maxMapKeys ?? 65_536;
      const protocol = {
        fields: programKeyFields({ format: this.opts.format, netns: this._features.netns }),
        networkOrderProtocol: protocolIsNetworkOrder(dialect),
        countLine: countStatementLine(this.program),
        maxMapKeys,
        counters: this.counters,
      };
      this.supervisor = new BpftraceSupervisor({
        command: this.opts.command ?? ['bpftrace'],
        args: ['-f', 'json', ...dialect.mapErrorFlags, '-e', this.program],
        env: { [dialect.maxMapKeysEnv]: String(maxMapKeys) },
        deathSignal: this.opts.deathSignal ?? true,
        restart: this.opts.restart ?? DEFAULT_RESTART,
        startTimeoutMs: this.opts.startTimeoutMs ?? 60_000,
        stopTimeoutMs: this.opts.stopTimeoutMs ?? 10_000,
        healthyAfterMs: this.opts.healthyAfterMs ?? 60_000,
        procRoot: this.opts.procRoot ?? '/proc',
        channel: (pid, signal) => new ProgramChannel(protocol, pid, signal),
        onDeath: (channel) => this.totals.absorb(channel.current),
        onFatal: (err) => {
          this.state = 'failed';
          clearInterval(this.pollTimer);
          for (const l of this.fatalListeners) l(err);
        },
      });
      const pid = await this.supervisor.start();
      // stop() called while starting: it stops what just started (it waits for this start to end).
      if (this.state !== 'starting') return;
      this.state = 'running';
      const interval = this.opts.readIntervalMs ?? 1000;
      if (interval > 0) {
        this.pollTimer = setInterval(() => {
          void this.supervisor?.running?.snapshot(this.opts.collectTimeoutMs ?? 5000);
        }, interval);
        this.pollTimer.unref();
      }
      log.info({ tracerPid: pid, attach: dialect.attach }, 'bpftrace attached to skb:kfree_skb');
    } catch (err) {
      if (this.state === 'starting') this.state = 'failed';
      throw err;
    }
  }

  async collect(): Promise<DropSample[]> {
    const channel = this.state === 'running' ? this.supervisor?.running : null;
    if (channel) await channel.snapshot(this.opts.collectTimeoutMs ?? 5000);
    return this.totals.samples(this.supervisor?.current);
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    const prev = this.state;
    this.state = 'stopping';
    clearInterval(this.pollTimer);
    if (prev === 'starting') {
      // A start in flight: stop the bpftrace it spawned (its start then fails), wait for the start to end,
      // and stop whatever it may still have started, so that nothing is left behind.
      const stopping = this.supervisor?.stop();
      await this.startPromise?.catch(() => undefined);
      await stopping;
      clearInterval(this.pollTimer);
    }
    if (prev !== 'new') await this.supervisor?.stop();
    this.state = 'stopped';
    this.totals.samples(this.supervisor?.current);
    log.info({ restarts: this.stats().restarts, lostEvents: this.counters.lost, badLines: this.counters.badLines }, 'bpftrace source stopped');
  }
}
