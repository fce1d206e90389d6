/**
 * Keeps one bpftrace process running. Spawned with execa under `setpriv --pdeathsig TERM` where available
 * (so it dies with kdrop; where not, the next start kills what a dead kdrop left behind: stale.ts), its
 * output read line by line into a ProgramChannel, and counted as started once the program says it
 * attached. One that dies is restarted after a backoff; one that will not start again is given up on
 * after `maxRestarts` tries in a row. Stopping sends SIGINT (bpftrace prints its maps and exits) and
 * SIGKILL after a grace period (execa's cancelSignal, killSignal and forceKillAfterDelay).
 */
import { execa } from 'execa';
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import { logger } from '../../log.js';
import type { ProgramChannel } from './protocol.js';
import { READY_MARKER } from './program.js';
import { OWNER_ENV, findStaleBpftrace, ownerTag } from './stale.js';
import { TracerProcess, type Exit, type NewChannel } from './tracer-process.js';

const log = logger('source.bpftrace');

export interface RestartPolicy {
  /**
   * Failed restarts allowed in a row (a restarted bpftrace that exits or times out before attaching);
   * one more failure is fatal. A bpftrace that attached and died later is always restarted: deaths only
   * grow the backoff delay (initialDelayMs doubling up to maxDelayMs; an instance that ran for
   * healthyAfterMs resets it).
   */
  readonly maxRestarts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RESTART: RestartPolicy = { maxRestarts: 5, initialDelayMs: 500, maxDelayMs: 30_000 };

export interface SupervisorOptions {
  /** How to run bpftrace, e.g. ['bpftrace'] or ['chroot', '/srv/trixie', 'bpftrace']. */
  readonly command: readonly string[];
  /** bpftrace's arguments (after the command). */
  readonly args: readonly string[];
  /** Added to kdrop's environment (the owner tag is added per spawn). */
  readonly env: Readonly<Record<string, string>>;
  /** Wrap the command in `setpriv --pdeathsig TERM --` where available. */
  readonly deathSignal: boolean;
  readonly restart: RestartPolicy;
  /** How long a start waits for the program to attach. */
  readonly startTimeoutMs: number;
  /** How long stop() waits after SIGINT before SIGKILL. */
  readonly stopTimeoutMs: number;
  /** An instance that ran this long resets the backoff. */
  readonly healthyAfterMs: number;
  /** procfs root for the stale-process scan. */
  readonly procRoot: string;
  /** The protocol side of a new instance, given its pid and a way to signal it. */
  readonly channel: NewChannel;
  /** An attached instance died: what it printed is handed over before it is replaced. */
  readonly onDeath: (channel: ProgramChannel) => void;
  /** The restart budget is spent: no bpftrace runs any more. */
  readonly onFatal: (err: KdropError) => void;
}

let setprivChecked: Promise<boolean> | undefined;
/** Whether util-linux setpriv with --pdeathsig is available (checked once). */
function hasSetprivPdeathsig(): Promise<boolean> {
  setprivChecked ??= execa('setpriv', ['--pdeathsig', 'TERM', '--', 'true'], { timeout: 10_000, reject: false }).then(
    (r) => !r.failed,
    () => false,
  );
  return setprivChecked;
}

type State = 'idle' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed';

export class BpftraceSupervisor {
  #state: State = 'idle';
  #instance: TracerProcess | null = null;
  /** The bpftrace being started (spawned, not attached yet). */
  #pending: TracerProcess | null = null;
  #restarts = 0;
  /** Restarts since the last healthy instance: sets the backoff delay. */
  #consecutiveRestarts = 0;
  /** Restarts in a row whose bpftrace did not attach: the fatal budget. */
  #failedStarts = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #spawning: Promise<TracerProcess | null> | undefined;

  constructor(private readonly opts: SupervisorOptions) {}

  get restarts(): number {
    return this.#restarts;
  }

  /** The running instance's channel, to ask for snapshots; null while restarting, stopping or stopped. */
  get running(): ProgramChannel | null {
    return this.#state === 'running' ? (this.#instance?.channel ?? null) : null;
  }

  /** Totals the current instance printed (until it dies: then onDeath has them). */
  get current(): ProgramChannel['current'] | undefined {
    return this.#instance?.channel.current;
  }

  get pid(): number | undefined {
    return this.#instance && !this.#instance.exited ? this.#instance.pid : undefined;
  }

  /** Kills bpftrace left behind by a dead kdrop, then starts one; throws BPFTRACE_START when it does not attach. */
  async start(): Promise<number | undefined> {
    await this.#killStale();
    const inst = await this.#spawn();
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      // stop() came while it attached: stop it here, nothing is left running.
      await inst.stop();
      return undefined;
    }
    this.#instance = inst;
    this.#state = 'running';
    return inst.pid;
  }

  /** Stops the running bpftrace (a restart in flight finishes first) and restarts no more. */
  async stop(): Promise<void> {
    this.#state = 'stopping';
    clearTimeout(this.#restartTimer);
    // A bpftrace still starting (not attached yet) is stopped too: its start then fails, nothing is left.
    await this.#pending?.stop();
    if (this.#spawning) await this.#spawning;
    const inst = this.#instance;
    if (inst) await inst.stop();
    this.#state = 'stopped';
  }

  async #killStale(): Promise<void> {
    const stale = await findStaleBpftrace(this.opts.procRoot);
    for (const pid of stale) {
      log.warn({ pid }, 'killing a bpftrace left behind by a kdrop instance that is gone');
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  async #spawn(): Promise<TracerProcess> {
    const [file, ...pre] = this.opts.command;
    if (file === undefined) throw new KdropError(ErrorCodes.BPFTRACE_MISSING, 'no bpftrace command given', { expected: 'e.g. ["bpftrace"]', found: '[]' });
    const args = [...pre, ...this.opts.args];
    const wrap = this.opts.deathSignal && (await hasSetprivPdeathsig());
    const [bin, argv] = wrap ? ['setpriv', ['--pdeathsig', 'TERM', '--', file, ...args]] : [file, args];
    const env = { ...this.opts.env, [OWNER_ENV]: await ownerTag() };
    const inst = new TracerProcess(bin, argv, env, this.opts.stopTimeoutMs, this.opts.channel);
    const timeoutMs = this.opts.startTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    this.#pending = inst;
    const outcome = await Promise.race([
      inst.channel.attached.then(() => 'attached' as const),
      inst.done.then(() => 'exited' as const),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      }),
    ]).finally(() => {
      this.#pending = null;
    });
    clearTimeout(timer);
    if (outcome === 'attached') {
      void inst.done.then((r) => this.#onExit(inst, r));
      return inst;
    }
    if (outcome === 'timeout') inst.kill('SIGKILL');
    const r = await inst.done;
    throw new KdropError(ErrorCodes.BPFTRACE_START, outcome === 'timeout' ? `bpftrace did not attach within ${timeoutMs} ms` : 'bpftrace exited during start', {
      expected: `the program's BEGIN marker ("${READY_MARKER}") after the probes attached`,
      found: `exit ${r.exitCode ?? r.signal ?? '?'}, stderr ${excerpt(inst.stderr().trim(), 2000)}`,
      hint: 'bpftrace needs root (CAP_BPF, CAP_PERFMON) and kernel BTF; run `kdrop doctor`',
    });
  }

  #onExit(inst: TracerProcess, r: Exit): void {
    if (inst !== this.#instance || this.#state !== 'running') return;
    // Unexpected death: hand over what it counted, and restart.
    this.opts.onDeath(inst.channel);
    this.#instance = null;
    const ranMs = Date.now() - inst.startedAt;
    if (ranMs >= this.opts.healthyAfterMs) this.#consecutiveRestarts = 0;
    log.warn(
      { tracerPid: inst.pid, exitCode: r.exitCode, signal: r.signal, stderr: inst.stderr().slice(-500), restarts: this.#restarts, delayMs: this.#restartDelayMs() },
      'bpftrace died; restarting',
    );
    this.#state = 'restarting';
    this.#scheduleRestart();
  }

  #restartDelayMs(): number {
    const { initialDelayMs, maxDelayMs } = this.opts.restart;
    return Math.min(maxDelayMs, initialDelayMs * 2 ** this.#consecutiveRestarts);
  }

  #scheduleRestart(): void {
    if (this.#state !== 'restarting') return;
    const { maxRestarts } = this.opts.restart;
    if (this.#failedStarts >= maxRestarts) {
      this.#state = 'failed';
      const err = new KdropError(ErrorCodes.TRACER_DIED, `bpftrace died and ${maxRestarts} restarts did not bring it back`, {
        expected: 'bpftrace to keep running',
        found: `${this.#restarts} restarts`,
        hint: 'see the bpftrace stderr in the log; try --source tracefs',
      });
      log.error({ err: err.message }, 'bpftrace source failed');
      this.opts.onFatal(err);
      return;
    }
    const delay = this.#restartDelayMs();
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#state !== 'restarting') return;
      this.#consecutiveRestarts++;
      this.#restarts++;
      this.#spawning = this.#spawn().then(
        (inst) => {
          this.#spawning = undefined;
          this.#failedStarts = 0;
          this.#instance = inst;
          // stop() came while we were starting: it waits for `spawning` and stops this one.
          if (this.#state !== 'restarting') return inst;
          this.#state = 'running';
          log.info({ tracerPid: inst.pid, restarts: this.#restarts }, 'bpftrace restarted');
          return inst;
        },
        (err: unknown) => {
          this.#spawning = undefined;
          this.#failedStarts++;
          log.warn({ err: (err as Error).message }, 'bpftrace restart failed');
          this.#scheduleRestart();
          return null;
        },
      );
    }, delay);
  }
}
