/**
 * Keeps one bpftrace process running. Spawned with execa under `setpriv --pdeathsig TERM` where available
 * (so it dies with kdrop; where not, the next start kills what a dead kdrop left behind: stale.ts), its
 * output read line by line into a ProgramChannel, and counted as started once the program says it
 * attached. One that dies is restarted after a backoff; one that will not start again is given up on
 * after `maxRestarts` tries in a row (the restart rules are ../restarter.ts, shared with the bpf source). Stopping sends SIGINT (bpftrace prints its maps and exits) and
 * SIGKILL after a grace period (execa's cancelSignal, killSignal and forceKillAfterDelay).
 */
import { execa } from 'execa';
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import { logger } from '../../log.js';
import type { ProgramChannel } from './protocol.js';
import { READY_MARKER } from './program.js';
import { OWNER_ENV, findStaleBpftrace, ownerTag } from './stale.js';
import { TracerProcess, type Exit, type NewChannel } from './tracer-process.js';
import { Restarter, type RestartPolicy } from '../restarter.js';

const log = logger('source.bpftrace');

export type { RestartPolicy };

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

export class BpftraceSupervisor {
  /** The bpftrace being started (spawned, not attached yet). */
  #pending: TracerProcess | null = null;
  readonly #restarter: Restarter<TracerProcess, Exit>;

  constructor(private readonly opts: SupervisorOptions) {
    this.#restarter = new Restarter<TracerProcess, Exit>({
      what: 'bpftrace',
      log,
      policy: opts.restart,
      healthyAfterMs: opts.healthyAfterMs,
      spawn: () => this.#spawn(),
      stop: (inst) => inst.stop(),
      cancelSpawn: async () => {
        // A bpftrace still starting (not attached yet) is stopped too: its start then fails, nothing is left.
        await this.#pending?.stop();
      },
      onDeath: (inst, r, delayMs) => {
        // Unexpected death: hand over what it counted, and restart.
        this.opts.onDeath(inst.channel);
        log.warn(
          { tracerPid: inst.pid, exitCode: r.exitCode, signal: r.signal, stderr: inst.stderr().slice(-500), restarts: this.restarts, delayMs },
          'bpftrace died; restarting',
        );
      },
      fatalHint: 'see the bpftrace stderr in the log; try --source tracefs',
      onFatal: opts.onFatal,
    });
  }

  get restarts(): number {
    return this.#restarter.restarts;
  }

  /** The running instance's channel, to ask for snapshots; null while restarting, stopping or stopped. */
  get running(): ProgramChannel | null {
    return this.#restarter.running?.channel ?? null;
  }

  /** Totals the current instance printed (until it dies: then onDeath has them). */
  get current(): ProgramChannel['current'] | undefined {
    return this.#restarter.current?.channel.current;
  }

  get pid(): number | undefined {
    const inst = this.#restarter.current;
    return inst && !inst.exited ? inst.pid : undefined;
  }

  /** Kills bpftrace left behind by a dead kdrop, then starts one; throws BPFTRACE_START when it does not attach. */
  async start(): Promise<number | undefined> {
    await this.#killStale();
    return (await this.#restarter.start())?.pid;
  }

  /** Stops the running bpftrace (a restart in flight finishes first) and restarts no more. */
  stop(): Promise<void> {
    return this.#restarter.stop();
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
    if (outcome === 'attached') return inst;
    if (outcome === 'timeout') inst.kill('SIGKILL');
    const r = await inst.done;
    throw new KdropError(ErrorCodes.BPFTRACE_START, outcome === 'timeout' ? `bpftrace did not attach within ${timeoutMs} ms` : 'bpftrace exited during start', {
      expected: `the program's BEGIN marker ("${READY_MARKER}") after the probes attached`,
      found: `exit ${r.exitCode ?? r.signal ?? '?'}, stderr ${excerpt(inst.stderr().trim(), 2000)}`,
      hint: 'bpftrace needs root (CAP_BPF, CAP_PERFMON) and kernel BTF; run `kdrop doctor`',
    });
  }
}
