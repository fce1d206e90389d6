/**
 * kdrop-probe started at process start (cli.ts), before the CLI has loaded its modules, parsed its
 * config, read the host's facts or loaded symbols: loading and attaching the BPF program (its own process)
 * overlaps all of that. The BpfSource that starts later adopts it when it would have run the very same
 * command line (same probe, pin directory, no samples); otherwise, or when no BpfSource comes, it is
 * stopped and its pins removed (at the latest when the process exits).
 *
 * Only the default case is prestarted: `watch` and `agent` with the source auto or bpf, no samples
 * (--flows, --samples), no config file, no other /proc, no --help or --version.
 */
import { rmSync } from 'node:fs';
import { Loader } from './loader-process.js';
import { DEFAULT_PIN_ROOT, pinDirFor } from './pins.js';
import { probePath } from './locate.js';
import type { ProbeEvent } from './protocol.js';

export interface Prestarted {
  readonly argv: readonly string[];
  readonly pinDir: string;
  readonly loader: Loader;
  /**
   * Hands the loader to its BpfSource, which owns it and its pins from now on: what the loader said so far
   * first, in order, then everything as it comes.
   */
  adopt(onEvent: (ev: ProbeEvent) => void, onBadLine: (line: string, err: Error) => void): Loader;
}

let early: Promise<Prestarted | null> | null = null;

const SAMPLE_FLAGS = /^--(flows|samples|sample-[a-z-]+|config|proc|source|help|version)(=|$)|^-[hVs]$/;

/** True when `argv` (process.argv) runs watch or agent in the default case described above. */
export function prestartWanted(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  const args = argv.slice(2);
  const command = args.find((a) => !a.startsWith('-'));
  if (command !== 'watch' && command !== 'agent') return false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--source' || a === '-s' || a.startsWith('--source=')) {
      const v = a.startsWith('--source=') ? a.slice('--source='.length) : args[i + 1];
      if (v !== 'auto' && v !== 'bpf') return false;
      i++;
      continue;
    }
    if (SAMPLE_FLAGS.test(a)) return false;
  }
  const source = env['KDROP_SOURCE'] ?? 'auto';
  const samples = env['KDROP_SAMPLES'] ?? 'off';
  return (source === 'auto' || source === 'bpf' || source === '') && (samples === 'off' || samples === '') && !env['KDROP_CONFIG'] && !env['KDROP_PROC_PATH'];
}

/** Spawns kdrop-probe now (not awaited); the first BpfSource may claim it. */
export function prestartProbe(): void {
  early = (async (): Promise<Prestarted> => {
    const pinDir = await pinDirFor(DEFAULT_PIN_ROOT);
    const argv = [probePath(), '--pin-dir', pinDir, '--no-samples'];
    const events: ProbeEvent[] = [];
    const badLines: [string, Error][] = [];
    const loader = new Loader(argv, (ev) => events.push(ev), (line, err) => badLines.push([line, err]));
    const onExit = (): void => discard(p);
    const p: Prestarted = {
      argv,
      pinDir,
      loader,
      adopt(onEvent, onBadLine) {
        process.removeListener('exit', onExit);
        for (const ev of events.splice(0)) onEvent(ev);
        for (const [line, err] of badLines.splice(0)) onBadLine(line, err);
        loader.rebind(onEvent, onBadLine);
        return loader;
      },
    };
    process.once('exit', onExit);
    return p;
  })().catch(() => null);
}

/**
 * The prestarted loader, once, if `argvFor(its pin dir)` is the command line it runs (the caller adopts it);
 * otherwise it is discarded and null returned.
 */
export async function claimPrestarted(argvFor: (pinDir: string) => readonly string[]): Promise<Prestarted | null> {
  const e = early === null ? null : await early;
  early = null;
  if (e === null) return null;
  if (!e.loader.exited && argvFor(e.pinDir).join('\0') === e.argv.join('\0')) return e;
  discard(e);
  return null;
}

/** At the end of the command (cli.ts): stops the prestarted loader if nobody adopted it, so the process can end. */
export async function releaseUnclaimed(): Promise<void> {
  const e = early === null ? null : await early;
  early = null;
  if (e !== null) discard(e);
}

/** Stops a prestarted loader nobody adopts and removes its pins (synchronously: also at exit). */
export function discard(p: Prestarted): void {
  p.loader.signal('SIGKILL');
  rmSync(p.pinDir, { recursive: true, force: true });
}
