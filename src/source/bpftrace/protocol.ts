/**
 * How kdrop talks to the program it generates (program.ts) through `bpftrace -f json`: BEGIN prints
 * READY_MARKER once every probe is attached; SIGUSR1 makes bpftrace print its maps, COUNT_MAP and
 * BYTES_MAP and then END_MAP, which marks the end of the snapshot (maps print sorted by name); SIGINT
 * makes it print them once more and exit. The maps are cumulative and never cleared, so each print is
 * the instance's total per key so far. Lost events and failed map updates on the count() line (a full
 * map) are drops that were not counted.
 */
import { endianness } from 'node:os';
import { logger } from '../../log.js';
import { keyString, type DropKey } from '../types.js';
import { parseBpftraceLine, type MapEntry } from './parse.js';
import { BYTES_MAP, COUNT_MAP, END_MAP, READY_MARKER, type KeyField } from './program.js';
import type { KeyTotals } from './totals.js';

const log = logger('source.bpftrace');

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

/** Counters every instance of one source adds to. */
export interface ProtocolCounters {
  lost: number;
  badLines: number;
}

/** What reading one program's output needs to know about the program. */
export interface ProtocolOptions {
  /** The fields of a map key, in the order the program writes them. */
  readonly fields: readonly KeyField[];
  /** Whether the protocol key part is in network byte order (raw tracepoint). */
  readonly networkOrderProtocol: boolean;
  /** 1-based line of the count() statement: its failed map updates are drops not counted. */
  readonly countLine: number;
  /** The map key limit bpftrace was given (a warning near it). */
  readonly maxMapKeys: number;
  readonly counters: ProtocolCounters;
}

/** One bpftrace instance's side of the protocol: the lines it prints, and asking it for a snapshot. */
export class ProgramChannel {
  /** Per-key totals this instance printed so far. */
  readonly current = new Map<string, KeyTotals>();
  /** Resolves when the program printed READY_MARKER: it is counting from then on. */
  readonly attached: Promise<void>;
  #attachedResolve!: () => void;
  #snapshotWaiters: Array<() => void> = [];
  #snapshotInFlight: Promise<void> | null = null;
  #closed = false;
  #warnedFull = false;

  constructor(
    private readonly opts: ProtocolOptions,
    private readonly pid: number | undefined,
    /** Sends a signal to the instance; false when it is gone. */
    private readonly signal: (sig: NodeJS.Signals) => boolean,
  ) {
    this.attached = new Promise((resolve) => {
      this.#attachedResolve = resolve;
    });
  }

  /** One line of bpftrace's stdout. */
  line(line: string): void {
    const { counters } = this.opts;
    let ev;
    try {
      ev = parseBpftraceLine(line);
    } catch (err) {
      counters.badLines++;
      log.debug({ err: (err as Error).message }, 'bad bpftrace line');
      return;
    }
    if (ev === null) return;
    switch (ev.kind) {
      case 'attached':
        log.debug({ tracerPid: this.pid, probes: ev.probes }, 'bpftrace attaching probes');
        break;
      case 'printf':
        if (ev.text.trim() === READY_MARKER) this.#attachedResolve();
        break;
      case 'map':
        if (ev.name === COUNT_MAP) this.#applyMap(ev.entries, 'count');
        else if (ev.name === BYTES_MAP) this.#applyMap(ev.entries, 'bytes');
        else if (ev.name === END_MAP) this.#releaseWaiters();
        break;
      case 'lost':
        counters.lost += ev.events;
        log.debug({ events: ev.events }, 'bpftrace lost events');
        break;
      case 'helper-error':
        // A failed map update on the count() line is a drop that was not counted (map full).
        if (ev.helper === 'map_update_elem' && ev.line === this.opts.countLine) counters.lost++;
        log.debug({ helper: ev.helper, retcode: ev.retcode, line: ev.line }, 'bpftrace helper error');
        break;
      case 'message':
        log.debug({ level: ev.level, text: ev.text }, 'bpftrace message');
        break;
      default:
        break;
    }
  }

  /** The instance exited and all of its output was read: no snapshot is coming. */
  close(): void {
    this.#closed = true;
    this.#releaseWaiters();
  }

  /** Asks bpftrace to print its maps (SIGUSR1) and waits for the end marker (or exit, or the timeout). */
  snapshot(timeoutMs: number): Promise<void> {
    if (this.#closed || this.pid === undefined) return Promise.resolve();
    if (this.#snapshotInFlight) return this.#snapshotInFlight;
    const p = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        log.debug({ tracerPid: this.pid }, 'bpftrace snapshot timed out; using the last one');
        resolve();
      }, timeoutMs);
      this.#snapshotWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      // false: exited meanwhile; close() releases the waiters
      this.signal('SIGUSR1');
    }).finally(() => {
      this.#snapshotInFlight = null;
    });
    this.#snapshotInFlight = p;
    return p;
  }

  #releaseWaiters(): void {
    const w = this.#snapshotWaiters;
    this.#snapshotWaiters = [];
    for (const r of w) r();
  }

  #applyMap(entries: readonly MapEntry[], what: 'count' | 'bytes'): void {
    const { fields, networkOrderProtocol, maxMapKeys, counters } = this.opts;
    for (const e of entries) {
      const key = toDropKey(e.key, fields, networkOrderProtocol);
      if (key === null) {
        counters.badLines++;
        log.debug({ parts: e.key.length, expected: fields.length }, 'map key with unexpected shape');
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
    if (!this.#warnedFull && this.current.size >= maxMapKeys * 0.9) {
      this.#warnedFull = true;
      log.warn({ keys: this.current.size, maxMapKeys }, 'bpftrace map is close to its key limit; drops of new keys will be counted as lost');
    }
  }
}
