/**
 * The early start: kdrop-probe spawned at process start (cli.ts), before the program's modules load, its
 * configuration is read and the host's facts are learned, so that loading and attaching the BPF program
 * (its own process, ~0.1 s) overlaps all of that. The BpfSource that starts later adopts it, pin directory,
 * lock and loader, when it would have run the very same command line; otherwise, or when no BpfSource
 * comes, it is stopped and its pins removed.
 *
 * The pin-directory protocol is exactly the BpfSource's (pins.ts): the directory is named and made here
 * (<pid>-<starttime>-<n>, the same sequence), opened, and its open file handed to the loader as fd 3
 * (`--lock-fd 3`), which flock()s it; the BpfSource takes that same open file over and hands it to every
 * loader it restarts, so the lock lives as long as this process and no loader ever runs on the directory
 * without it. Where the directory cannot be opened for the lock (bpffs not mounted yet: the loader would
 * mount it), nothing starts early: the normal path handles that case.
 *
 * Only the default case starts early: `watch` and `agent` with the source auto or bpf, no samples
 * (--flows, --samples, --samples-api), no config file, no --help or --version. Whatever goes wrong here
 * only means the normal path runs (BpfSource spawns its own loader, then the next source of `auto`).
 */
import type { FileHandle } from 'node:fs/promises';
import { rmdir } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { excerpt } from '../../errors.js';
import { Loader } from './loader-process.js';
import { openPinDir, pinDirFor, pinRootFrom, removePins } from './pins.js';
import { isExecutable, probePath } from './locate.js';
import type { ProbeEvent } from './protocol.js';

export interface EarlyProbe {
  readonly argv: readonly string[];
  readonly pinRoot: string;
  readonly pinDir: string;
  /** The pin directory, open: the loader's lock (`--lock-fd 3`); the adopting BpfSource keeps it. */
  readonly lockFile: FileHandle;
  readonly loader: Loader;
  /**
   * Hands the loader to its BpfSource, which owns it, its pins and its lock from now on: what the loader
   * said so far first, in order, then everything as it comes.
   */
  adopt(onEvent: (ev: ProbeEvent) => void, onBadLine: (line: string, err: Error) => void): Loader;
  /** Stops it for good: the loader first (SIGKILL), then its pins (still under our lock), then the lock. */
  discard(): Promise<void>;
}

let pending: Promise<EarlyProbe | null> | null = null;

/** Flags after which the BpfSource would not run `--no-samples` on the default pin root, or no source runs. */
const NOT_DEFAULT = /^--(flows|samples|samples-api|sample-[a-z-]+|config|help|version)(=|$)|^-[hV]$/;

/**
 * The pin root when `argv` (process.argv) runs watch or agent in the default case described above, else
 * null. `--pin-root` and KDROP_PIN_ROOT are honoured as the program reads them (the flag first).
 */
export function earlyStartWanted(argv: readonly string[], env: NodeJS.ProcessEnv): string | null {
  const args = argv.slice(2);
  let command: string | undefined;
  let pinRoot: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = (flag: string): string | undefined => (a === flag ? args[++i] : a.startsWith(`${flag}=`) ? a.slice(flag.length + 1) : undefined);
    if (a === '--source' || a === '-s' || a.startsWith('--source=')) {
      const v = value(a === '-s' ? '-s' : '--source');
      if (v !== 'auto' && v !== 'bpf') return null;
      continue;
    }
    if (a === '--pin-root' || a.startsWith('--pin-root=')) {
      pinRoot = value('--pin-root');
      continue;
    }
    // The values of the other global options (before the command) are not the command.
    if (command === undefined && /^--(log-level|log-format|proc|sys|nic-sys|tracefs)$/.test(a)) {
      i++;
      continue;
    }
    if (NOT_DEFAULT.test(a)) return null;
    if (command === undefined && !a.startsWith('-')) {
      command = a;
      if (command !== 'watch' && command !== 'agent') return null;
    }
  }
  if (command === undefined) return null;
  const off = (v: string | undefined): boolean => v === undefined || v === '' || v === 'off' || v === 'false' || v === '0';
  const source = env['KDROP_SOURCE'] ?? '';
  if (source !== '' && source !== 'auto' && source !== 'bpf') return null;
  if (!off(env['KDROP_SAMPLES']) || !off(env['KDROP_SAMPLES_API']) || (env['KDROP_CONFIG'] ?? '') !== '') return null;
  const root = pinRoot ?? pinRootFrom(env);
  return root.startsWith('/') ? root : null;
}

/**
 * Spawns kdrop-probe on a locked pin directory under `pinRoot`; resolves once it is spawned (not attached).
 * A BpfSource may claim it. Never rejects: whatever fails here leaves the usual start to the BpfSource.
 */
export async function startEarly(pinRoot: string, probe = probePath()): Promise<void> {
  pending = (async (): Promise<EarlyProbe | null> => {
    if (!(await isExecutable(probe))) return null;
    const pinDir = await pinDirFor(pinRoot);
    const lockFile = await openPinDir(pinDir, true);
    if (lockFile === null) {
      await rmdir(pinDir).catch(() => undefined); // made here, empty (or not bpffs at all)
      return null;
    }
    const argv = [probe, '--pin-dir', pinDir, '--no-samples'];
    const events: ProbeEvent[] = [];
    const badLines: [string, Error][] = [];
    const loader = new Loader(
      argv,
      (ev) => events.push(ev),
      (line, err) => badLines.push([line, err]),
      lockFile.fd,
    );
    // Not adopted by the time the process exits: the loader goes, and its pins (the lock goes with us).
    const onExit = (): void => {
      loader.signal('SIGKILL');
      rmSync(pinDir, { recursive: true, force: true });
    };
    process.once('exit', onExit);
    return {
      argv,
      pinRoot,
      pinDir,
      lockFile,
      loader,
      adopt(onEvent, onBadLine) {
        process.removeListener('exit', onExit);
        for (const ev of events.splice(0)) onEvent(ev);
        for (const [line, err] of badLines.splice(0)) onBadLine(line, err);
        loader.rebind(onEvent, onBadLine);
        return loader;
      },
      async discard() {
        process.removeListener('exit', onExit);
        loader.signal('SIGKILL');
        await loader.done;
        await removePins(pinDir);
        await lockFile.close().catch(() => undefined);
      },
    };
  })().catch(() => null);
  await pending;
}

/**
 * The early loader, once, for a BpfSource pinning under `pinRoot` whose command line on that directory
 * (`argvFor(dir)`) is the one the loader runs; otherwise it is discarded (the debug log says why) and null
 * returned. The caller adopts it (EarlyProbe.adopt) or discards it.
 */
export async function claimEarly(pinRoot: string | null, argvFor: (pinDir: string) => readonly string[], debug: DebugLog): Promise<EarlyProbe | null> {
  const e = pending === null ? null : await pending;
  pending = null;
  if (e === null) return null;
  const why = e.loader.exited ? 'it exited' : pinRoot !== e.pinRoot || argvFor(e.pinDir).join('\0') !== e.argv.join('\0') ? 'this source runs it otherwise' : null;
  if (why === null) return e;
  await e.discard();
  notUsed(debug, why, e.loader.stderr());
  return null;
}

/** A debug logger (the caller's: this module loads before the program, and its logger). */
type DebugLog = (fields: Record<string, unknown>, msg: string) => void;

const notUsed = (debug: DebugLog, why: string, stderr: string): void =>
  debug({ why, stderr: excerpt(stderr.trim(), 500) }, 'the kdrop-probe started at process start is not used; starting one the usual way');

/**
 * Adopts a claimed early loader (its events go to the listeners from now on) and resolves with it once
 * attached; when it exits or does not attach within timeoutMs, it is discarded (loader, pins, lock), the
 * debug log says why, and null is returned.
 */
export async function adoptEarly(
  e: EarlyProbe,
  onEvent: (ev: ProbeEvent) => void,
  onBadLine: (line: string, err: Error) => void,
  timeoutMs: number,
  debug: DebugLog,
): Promise<Loader | null> {
  const loader = e.adopt(onEvent, onBadLine);
  debug({ loaderPid: loader.pid, dir: e.pinDir, sinceMs: Date.now() - loader.startedAt }, 'adopting the kdrop-probe started at process start');
  try {
    await loader.waitAttached(timeoutMs);
    return loader;
  } catch (err) {
    notUsed(debug, (err as Error).message, loader.stderr());
    await e.discard();
    return null;
  }
}

/** When no BpfSource claimed it (a command that ended first, another source): the early loader goes. */
export async function releaseEarly(): Promise<void> {
  const e = pending === null ? null : await pending;
  pending = null;
  await e?.discard();
}
