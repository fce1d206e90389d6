/**
 * The default source: a bpftrace program that counts skb:kfree_skb hits in per-CPU kernel maps keyed by
 * (location, reason, protocol, netns). The maps are cumulative and never cleared; the runner asks
 * bpftrace to print them (SIGUSR1) when collect() is called and every readIntervalMs in the background
 * (which bounds what a crash of bpftrace can lose), and once more when bpftrace exits. Totals survive
 * bpftrace restarts: the last snapshot of a dead instance is kept as a per-key base.
 */
import { execa } from 'execa';
import type { Readable } from 'node:stream';
import { execFile } from 'node:child_process';
import { createInterface } from 'node:readline';
import { endianness } from 'node:os';
import { ErrorCodes, KdropError, excerpt } from '../../errors.js';
import { logger } from '../../log.js';
import type { TracepointFormat } from '../../kernel/types.js';
import { keyString, type DropKey, type DropSample, type DropSource, type SourceFeatures, type SourceStats } from '../types.js';
import { parseBpftraceLine, type MapEntry } from './parse.js';
import {
  BYTES_MAP,
  COUNT_MAP,
  END_MAP,
  READY_MARKER,
  countStatementLine,
  generateProgram,
  programKeyFields,
  protocolIsNetworkOrder,
  type KeyField,
} from './program.js';
import { OWNER_ENV, findStaleBpftrace, ownerTag } from './stale.js';
import { detectBpftrace, type BpftraceDialect } from './version.js';

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

interface Totals {
  key: DropKey;
  count: number;
  bytes: number;
}

const DEFAULT_RESTART: RestartPolicy = { maxRestarts: 5, initialDelayMs: 500, maxDelayMs: 30_000 };

let setprivChecked: Promise<boolean> | undefined;
/** Whether util-linux setpriv with --pdeathsig is available (checked once). */
function hasSetprivPdeathsig(): Promise<boolean> {
  setprivChecked ??= new Promise((resolve) => {
    execFile('setpriv', ['--pdeathsig', 'TERM', '--', 'true'], { timeout: 10_000 }, (err) => resolve(err === null));
  });
  return setprivChecked;
}

function swap16(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

/** Turns a map key printed by bpftrace into a DropKey; null when it does not have the expected shape. */
export function toDropKey(parts: readonly bigint[], fields: readonly KeyField[], networkOrderProtocol: boolean): DropKey | null {
  if (parts.length !== fields.length) return null;
  let address = 0n;
  let reasonCode: number | null = null;
  let protocol = 0;
  let netns: number | null = null;
  for (let i = 0; i < fields.length; i++) {
    const v = parts[i] as bigint;
    switch (fields[i]) {
      case 'location':
        address = v;
        break;
      case 'reason':
        reasonCode = Number(BigInt.asUintN(32, v));
        break;
      case 'protocol': {
        const p = Number(BigInt.asUintN(16, v));
        protocol = networkOrderProtocol && endianness() === 'LE' ? swap16(p) : p;
        break;
      }
      case 'netns':
        netns = v === 0n ? null : Number(v);
        break;
    }
  }
  return { address, reasonCode, protocol, netns };
}

/** What the runner needs of a spawned process. */
interface Spawned {
  readonly pid: number | undefined;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly result: Promise<{ exitCode: number | undefined; signal: string | undefined }>;
}

/** One bpftrace process and what it has printed. */
class Instance {
  readonly current = new Map<string, Totals>();
  readonly startedAt = Date.now();
  private stderrTail = '';
  private snapshotWaiters: Array<() => void> = [];
  private snapshotInFlight: Promise<void> | null = null;
  private attachedResolve!: () => void;
  readonly attached: Promise<void>;
  /** Resolves once the process exited and all of its output was read. */
  readonly done: Promise<{ exitCode: number | undefined; signal: string | undefined }>;
  exited = false;
  private warnedFull = false;
  readonly pid: number | undefined;

  constructor(
    sub: Spawned,
    private readonly fields: readonly KeyField[],
    private readonly networkOrderProtocol: boolean,
    private readonly countLine: number,
    private readonly maxMapKeys: number,
    private readonly counters: { lost: number; badLines: number },
  ) {
    this.pid = sub.pid;
    this.attached = new Promise((resolve) => {
      this.attachedResolve = resolve;
    });
    const stdout = sub.stdout;
    const stderr = sub.stderr;
    const outDone = new Promise<void>((resolve) => {
      if (!stdout) return resolve();
      const rl = createInterface({ input: stdout, crlfDelay: Infinity });
      rl.on('line', (line) => this.onLine(line));
      rl.on('close', () => resolve());
    });
    const errDone = new Promise<void>((resolve) => {
      if (!stderr) return resolve();
      const rl = createInterface({ input: stderr, crlfDelay: Infinity });
      rl.on('line', (line) => {
        this.stderrTail = `${this.stderrTail}${line}\n`.slice(-4000);
        log.debug({ tracerPid: this.pid, line }, 'bpftrace stderr');
      });
      rl.on('close', () => resolve());
    });
    this.done = (async () => {
      const result = await sub.result;
      await Promise.all([outDone, errDone]);
      this.exited = true;
      this.releaseWaiters();
      return { exitCode: result.exitCode, signal: result.signal };
    })();
  }

  stderr(): string {
    return this.stderrTail;
  }

  private releaseWaiters(): void {
    const w = this.snapshotWaiters;
    this.snapshotWaiters = [];
    for (const r of w) r();
  }

  private onLine(line: string): void {
    let ev;
    try {
      ev = parseBpftraceLine(line);
    } catch (err) {
      this.counters.badLines++;
      log.debug({ err: (err as Error).message }, 'bad bpftrace line');
      return;
    }
    if (ev === null) return;
    switch (ev.kind) {
      case 'attached':
        log.debug({ tracerPid: this.pid, probes: ev.probes }, 'bpftrace attaching probes');
        break;
      case 'printf':
        if (ev.text.trim() === READY_MARKER) this.attachedResolve();
        break;
      case 'map':
        if (ev.name === COUNT_MAP) this.applyMap(ev.entries, 'count');
        else if (ev.name === BYTES_MAP) this.applyMap(ev.entries, 'bytes');
        else if (ev.name === END_MAP) this.releaseWaiters();
        break;
      case 'lost':
        this.counters.lost += ev.events;
        log.debug({ events: ev.events }, 'bpftrace lost events');
        break;
      case 'helper-error':
        // A failed map update on the count() line is a drop that was not counted (map full).
        if (ev.helper === 'map_update_elem' && ev.line === this.countLine) this.counters.lost++;
        log.debug({ helper: ev.helper, retcode: ev.retcode, line: ev.line }, 'bpftrace helper error');
        break;
      case 'message':
        log.debug({ level: ev.level, text: ev.text }, 'bpftrace message');
        break;
      default:
        break;
    }
  }

  private applyMap(entries: readonly MapEntry[], what: 'count' | 'bytes'): void {
    for (const e of entries) {
      const key = toDropKey(e.key, this.fields, this.networkOrderProtocol);
      if (key === null) {
        this.counters.badLines++;
        log.debug({ parts: e.key.length, expected: this.fields.length }, 'map key with unexpected shape');
        continue;
      }
      const ks = keyString(key);
      let t = this.current.get(ks);
      if (!t) {
        t = { key, count: 0, bytes: 0 };
        this.current.set(ks, t);
      }
      // Cumulative maps: the newest print is the total so far; never go backwards.
      if (what === 'count') t.count = Math.max(t.count, e.value);
      else t.bytes = Math.max(t.bytes, e.value);
    }
    if (!this.warnedFull && this.current.size >= this.maxMapKeys * 0.9) {
      this.warnedFull = true;
      log.warn({ keys: this.current.size, maxMapKeys: this.maxMapKeys }, 'bpftrace map is close to its key limit; drops of new keys will be counted as lost');
    }
  }

  /** Asks bpftrace to print its maps and waits for the end marker (or exit, or the timeout). */
  snapshot(timeoutMs: number): Promise<void> {
    if (this.exited || this.pid === undefined) return Promise.resolve();
    if (this.snapshotInFlight) return this.snapshotInFlight;
    const p = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        log.debug({ tracerPid: this.pid }, 'bpftrace snapshot timed out; using the last one');
        resolve();
      }, timeoutMs);
      this.snapshotWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      try {
        process.kill(this.pid as number, 'SIGUSR1');
      } catch {
        // exited meanwhile; `done` releases the waiters
      }
    }).finally(() => {
      this.snapshotInFlight = null;
    });
    this.snapshotInFlight = p;
    return p;
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

export class BpftraceSource implements DropSource {
  readonly name = 'bpftrace' as const;
  private _features: SourceFeatures;
  private readonly command: readonly string[];
  private readonly restartPolicy: RestartPolicy;
  private readonly counters = { lost: 0, badLines: 0 };
  private restarts = 0;
  /** Restarts since the last healthy instance: sets the backoff delay. */
  private consecutiveRestarts = 0;
  /** Restarts in a row whose bpftrace did not attach: the fatal budget. */
  private failedStarts = 0;
  private readonly base = new Map<string, Totals>();
  private readonly reported = new Map<string, Totals>();
  private instance: Instance | null = null;
  private state: 'new' | 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed' = 'new';
  private dialect: BpftraceDialect | undefined;
  private program = '';
  private pollTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopPromise: Promise<void> | undefined;
  private spawning: Promise<Instance | null> | undefined;
  private readonly fatalListeners: Array<(err: Error) => void> = [];

  constructor(private readonly opts: BpftraceSourceOptions) {
    this.command = opts.command ?? ['bpftrace'];
    this.restartPolicy = opts.restart ?? DEFAULT_RESTART;
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
    return this.instance && !this.instance.exited ? this.instance.pid : undefined;
  }

  onFatal(listener: (err: Error) => void): void {
    this.fatalListeners.push(listener);
  }

  stats(): SourceStats {
    return { lostEvents: this.counters.lost, restarts: this.restarts, badLines: this.counters.badLines };
  }

  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'starting';
    try {
      this.dialect = this.opts.dialect ?? (await detectBpftrace(this.command)).dialect;
      await this.killStale();
      this.program = generateProgram({ format: this.opts.format, dialect: this.dialect, netns: this._features.netns });
      this.instance = await this.spawnInstance();
      this.state = 'running';
      const interval = this.opts.readIntervalMs ?? 1000;
      if (interval > 0) {
        this.pollTimer = setInterval(() => {
          void this.instance?.snapshot(this.opts.collectTimeoutMs ?? 5000);
        }, interval);
        this.pollTimer.unref();
      }
      log.info({ tracerPid: this.instance.pid, attach: this.dialect.attach }, 'bpftrace attached to skb:kfree_skb');
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
  }

  private async killStale(): Promise<void> {
    const stale = await findStaleBpftrace(this.opts.procRoot ?? '/proc');
    for (const pid of stale) {
      log.warn({ pid }, 'killing a bpftrace left behind by a kdrop instance that is gone');
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  private async spawnInstance(): Promise<Instance> {
    const dialect = this.dialect as BpftraceDialect;
    const [file, ...pre] = this.command;
    if (file === undefined) throw new KdropError(ErrorCodes.BPFTRACE_MISSING, 'no bpftrace command given', { expected: 'e.g. ["bpftrace"]', found: '[]' });
    const btArgs = [...pre, '-f', 'json', ...dialect.mapErrorFlags, '-e', this.program];
    const wrap = (this.opts.deathSignal ?? true) && (await hasSetprivPdeathsig());
    const argv: [string, string[]] = wrap ? ['setpriv', ['--pdeathsig', 'TERM', '--', file, ...btArgs]] : [file, btArgs];
    const maxMapKeys = this.opts.maxMapKeys ?? 65_536;
    const sub = execa(argv[0], argv[1], {
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      cleanup: true,
      env: { [dialect.maxMapKeysEnv]: String(maxMapKeys), [OWNER_ENV]: await ownerTag() },
    });
    const spawned: Spawned = {
      pid: sub.pid,
      stdout: sub.stdout,
      stderr: sub.stderr,
      result: sub.then(
        (r) => ({ exitCode: r.exitCode, signal: r.signal }),
        (err: unknown) => ({ exitCode: undefined, signal: String(err) }),
      ),
    };
    const inst = new Instance(
      spawned,
      programKeyFields({ format: this.opts.format, netns: this._features.netns }),
      protocolIsNetworkOrder(dialect),
      countStatementLine(this.program),
      maxMapKeys,
      this.counters,
    );
    const timeoutMs = this.opts.startTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      inst.attached.then(() => 'attached' as const),
      inst.done.then(() => 'exited' as const),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'attached') {
      void inst.done.then((r) => this.onInstanceExit(inst, r));
      return inst;
    }
    if (outcome === 'timeout') {
      inst.signal('SIGKILL');
      await inst.done;
    }
    const r = await inst.done;
    throw new KdropError(ErrorCodes.BPFTRACE_START, outcome === 'timeout' ? `bpftrace did not attach within ${timeoutMs} ms` : 'bpftrace exited during start', {
      expected: `the program's BEGIN marker ("${READY_MARKER}") after the probes attached`,
      found: `exit ${r.exitCode ?? r.signal ?? '?'}, stderr ${excerpt(inst.stderr().trim(), 2000)}`,
      hint: 'bpftrace needs root (CAP_BPF, CAP_PERFMON) and kernel BTF; run `kdrop doctor`',
    });
  }

  private onInstanceExit(inst: Instance, r: { exitCode: number | undefined; signal: string | undefined }): void {
    if (inst !== this.instance || this.state !== 'running') return;
    // Unexpected death: keep what it counted as the base, and restart.
    this.absorb(inst);
    this.instance = null;
    const ranMs = Date.now() - inst.startedAt;
    if (ranMs >= (this.opts.healthyAfterMs ?? 60_000)) this.consecutiveRestarts = 0;
    log.warn(
      { tracerPid: inst.pid, exitCode: r.exitCode, signal: r.signal, stderr: inst.stderr().slice(-500), restarts: this.restarts, delayMs: this.restartDelayMs() },
      'bpftrace died; restarting',
    );
    this.state = 'restarting';
    this.scheduleRestart();
  }

  private absorb(inst: Instance): void {
    for (const [ks, t] of inst.current) {
      const b = this.base.get(ks);
      if (b) {
        b.count += t.count;
        b.bytes += t.bytes;
      } else {
        this.base.set(ks, { key: t.key, count: t.count, bytes: t.bytes });
      }
    }
    inst.current.clear();
  }

  private restartDelayMs(): number {
    const { initialDelayMs, maxDelayMs } = this.restartPolicy;
    return Math.min(maxDelayMs, initialDelayMs * 2 ** this.consecutiveRestarts);
  }

  private scheduleRestart(): void {
    if (this.state !== 'restarting') return;
    const { maxRestarts } = this.restartPolicy;
    if (this.failedStarts >= maxRestarts) {
      this.state = 'failed';
      clearInterval(this.pollTimer);
      const err = new KdropError(ErrorCodes.TRACER_DIED, `bpftrace died and ${maxRestarts} restarts did not bring it back`, {
        expected: 'bpftrace to keep running',
        found: `${this.restarts} restarts`,
        hint: 'see the bpftrace stderr in the log; try --source tracefs',
      });
      log.error({ err: err.message }, 'bpftrace source failed');
      for (const l of this.fatalListeners) l(err);
      return;
    }
    const delay = this.restartDelayMs();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.state !== 'restarting') return;
      this.consecutiveRestarts++;
      this.restarts++;
      this.spawning = this.spawnInstance().then(
        (inst) => {
          this.spawning = undefined;
          this.failedStarts = 0;
          this.instance = inst;
          // stop() came while we were starting: it waits for `spawning` and stops this one.
          if (this.state !== 'restarting') return inst;
          this.state = 'running';
          log.info({ tracerPid: inst.pid, restarts: this.restarts }, 'bpftrace restarted');
          return inst;
        },
        (err: unknown) => {
          this.spawning = undefined;
          this.failedStarts++;
          log.warn({ err: (err as Error).message }, 'bpftrace restart failed');
          this.scheduleRestart();
          return null;
        },
      );
    }, delay);
  }

  async collect(): Promise<DropSample[]> {
    if (this.state === 'running' && this.instance) await this.instance.snapshot(this.opts.collectTimeoutMs ?? 5000);
    return this.totals();
  }

  private totals(): DropSample[] {
    const sum = new Map<string, Totals>();
    const add = (ks: string, t: Totals): void => {
      const s = sum.get(ks);
      if (s) {
        s.count += t.count;
        s.bytes += t.bytes;
      } else sum.set(ks, { key: t.key, count: t.count, bytes: t.bytes });
    };
    for (const [ks, t] of this.base) add(ks, t);
    if (this.instance) for (const [ks, t] of this.instance.current) add(ks, t);
    // Never report less than before (guards against a snapshot read across CPUs mid-update).
    for (const [ks, t] of sum) {
      const r = this.reported.get(ks);
      if (r) {
        r.count = Math.max(r.count, t.count);
        r.bytes = Math.max(r.bytes, t.bytes);
      } else this.reported.set(ks, { key: t.key, count: t.count, bytes: t.bytes });
    }
    const out: DropSample[] = [];
    for (const r of this.reported.values()) {
      if (r.count > 0) out.push({ ...r.key, count: r.count, bytes: r.bytes });
    }
    return out;
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    const prev = this.state;
    this.state = 'stopping';
    clearInterval(this.pollTimer);
    clearTimeout(this.restartTimer);
    if (this.spawning) await this.spawning;
    const inst = this.instance;
    if (inst && prev !== 'new') await this.stopInstance(inst);
    this.state = 'stopped';
    this.totals();
    log.info({ restarts: this.restarts, lostEvents: this.counters.lost, badLines: this.counters.badLines }, 'bpftrace source stopped');
  }

  /** SIGINT makes bpftrace print its maps and exit; SIGKILL after stopTimeoutMs. */
  private async stopInstance(inst: Instance): Promise<void> {
    inst.signal('SIGINT');
    const timeoutMs = this.opts.stopTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const killed = await Promise.race([
      inst.done.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (killed) {
      log.warn({ tracerPid: inst.pid }, 'bpftrace did not exit after SIGINT; killing it');
      inst.signal('SIGKILL');
    }
    await inst.done;
  }
}
