/**
 * Keeps one tracer process running, for every source that runs one (bpf: kdrop-probe, bpftrace): the
 * first start, and after an unexpected death a restart after a backoff (initialDelayMs doubling up to
 * maxDelayMs; a process that ran healthyAfterMs resets it); a restart that does not come up counts
 * against maxRestarts in a row, and one more failure is fatal. Stopping cancels a pending restart, waits
 * for one in flight and stops what runs. How a process is spawned, stopped and mourned is the source's.
 */
import type { Logger } from 'pino';
import { ErrorCodes, KdropError } from '../errors.js';

export interface RestartPolicy {
  /**
   * Failed restarts allowed in a row (a restarted process that exits or times out before attaching);
   * one more failure is fatal. A process that attached and died later is always restarted: deaths only
   * grow the backoff delay.
   */
  readonly maxRestarts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export interface Supervised<E> {
  readonly pid: number | undefined;
  readonly startedAt: number;
  readonly done: Promise<E>;
}

export interface RestarterOptions<C extends Supervised<E>, E> {
  /** The process's name in logs and errors ('kdrop-probe', 'bpftrace'). */
  readonly what: string;
  readonly log: Logger;
  readonly policy: RestartPolicy;
  readonly healthyAfterMs: number;
  /** Starts one; resolves once it attached, rejects when it did not. */
  readonly spawn: () => Promise<C>;
  /** Stops one cleanly (what it still holds is handed over). */
  readonly stop: (child: C) => Promise<void>;
  /** Stops one that is spawning and not attached yet (its spawn then rejects). */
  readonly cancelSpawn?: () => Promise<void>;
  /** An attached one died unexpectedly: hand over what it printed, say so. */
  readonly onDeath: (child: C, exit: E, delayMs: number) => void;
  /** What to try when the restarts did not bring it back. */
  readonly fatalHint: string;
  readonly onFatal: (err: KdropError) => void;
}

type State = 'idle' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed';

export class Restarter<C extends Supervised<E>, E> {
  #state: State = 'idle';
  #current: C | null = null;
  #restarts = 0;
  /** Restarts since the last healthy process: sets the backoff delay. */
  #consecutive = 0;
  /** Restarts in a row that did not come up: the fatal budget. */
  #failedStarts = 0;
  #timer: NodeJS.Timeout | undefined;
  #spawning: Promise<unknown> | undefined;

  constructor(private readonly opts: RestarterOptions<C, E>) {}

  get restarts(): number {
    return this.#restarts;
  }

  /** The running process; null while restarting, stopping, stopped or failed. */
  get running(): C | null {
    return this.#state === 'running' ? this.#current : null;
  }

  /** The last process started (running or not). */
  get current(): C | null {
    return this.#current;
  }

  get state(): State {
    return this.#state;
  }

  /** The first start; throws what spawn throws. Null when stop() came meanwhile (then it is stopped). */
  async start(): Promise<C | null> {
    const child = await this.opts.spawn();
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      await this.opts.stop(child);
      return null;
    }
    this.#adopt(child);
    this.#state = 'running';
    return child;
  }

  /** Stops what runs (a restart in flight finishes first) and restarts no more. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopping';
    clearTimeout(this.#timer);
    await this.opts.cancelSpawn?.();
    if (this.#spawning) await this.#spawning;
    const c = this.#current;
    if (c) await this.opts.stop(c);
    this.#state = 'stopped';
  }

  #adopt(child: C): void {
    this.#current = child;
    void child.done.then((e) => this.#onExit(child, e));
  }

  #delayMs(): number {
    const { initialDelayMs, maxDelayMs } = this.opts.policy;
    return Math.min(maxDelayMs, initialDelayMs * 2 ** this.#consecutive);
  }

  #onExit(child: C, exit: E): void {
    if (child !== this.#current || this.#state !== 'running') return;
    if (Date.now() - child.startedAt >= this.opts.healthyAfterMs) this.#consecutive = 0;
    this.#state = 'restarting';
    this.opts.onDeath(child, exit, this.#delayMs());
    this.#schedule();
  }

  #schedule(): void {
    if (this.#state !== 'restarting') return;
    const { maxRestarts } = this.opts.policy;
    const { what, log } = this.opts;
    if (this.#failedStarts >= maxRestarts) {
      this.#state = 'failed';
      const err = new KdropError(ErrorCodes.TRACER_DIED, `${what} died and ${maxRestarts} restarts did not bring it back`, {
        expected: `${what} to keep running`,
        found: `${this.#restarts} restarts`,
        hint: this.opts.fatalHint,
      });
      log.error({ err: err.message }, `${what}: source failed`);
      this.opts.onFatal(err);
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#state !== 'restarting') return;
      this.#consecutive++;
      this.#restarts++;
      this.#spawning = this.opts.spawn().then(
        (child) => {
          this.#spawning = undefined;
          this.#failedStarts = 0;
          this.#adopt(child);
          // stop() came while it started: stop() waits for #spawning and stops this one.
          if (this.#state !== 'restarting') return;
          this.#state = 'running';
          log.info({ pid: child.pid, restarts: this.#restarts }, `${what} restarted`);
        },
        (err: unknown) => {
          this.#spawning = undefined;
          this.#failedStarts++;
          log.warn({ err: (err as Error).message }, `${what} restart failed`);
          this.#schedule();
        },
      );
    }, this.#delayMs());
  }
}
