import type { HostPaths } from '../host-paths.js';
import type { TopConfig } from '../config/top-config.js';
import { TopController } from '../top/controller.js';
import type { TopFeed } from '../top/feed.js';
import type { TopInterval } from '../top/types.js';
import { formatSnapshot } from '../top/snapshot-text.js';
import { nextDeadline, sleepUntil } from '../schedule.js';
import { isKdropError } from '../errors.js';
import { logger } from '../log.js';

const log = logger('top');

export interface TopIo {
  readonly out: NodeJS.WritableStream;
  /** Aborting it stops top (Ctrl-C / SIGTERM from outside). */
  readonly signal: AbortSignal;
  /** Full-screen view (stdout and stdin are terminals and --plain was not given). */
  readonly interactive: boolean;
}

export interface TopDeps {
  /** Opens the feed (tests inject one); default: the agent's API with --agent, else this host's pipeline. */
  readonly openFeed?: (cfg: TopConfig, paths: HostPaths) => Promise<{ feed: TopFeed; first: TopInterval | null }>;
}

async function defaultOpenFeed(cfg: TopConfig, paths: HostPaths): Promise<{ feed: TopFeed; first: TopInterval | null }> {
  if (cfg.agent !== undefined) {
    const { openRemoteFeed } = await import('../top/remote-feed.js');
    return openRemoteFeed(cfg.agent, Math.max(1000, Math.min(10_000, cfg.intervalMs)), { counters: cfg.counters });
  }
  // Loaded on first use: remote top never loads the kernel stages.
  const { openLocalFeed } = await import('../top/local-feed.js');
  return { feed: await openLocalFeed({ source: cfg.source, paths, map: cfg.map, counters: cfg.counters }), first: null };
}

/**
 * `kdrop top`: reads an interval every --interval into the model, and shows it full-screen (ink) or, when
 * stdout is not a terminal, prints one plain snapshot per interval. Resolves with the exit code.
 */
export async function topCommand(cfg: TopConfig, paths: HostPaths, io: TopIo, deps: TopDeps = {}): Promise<number> {
  const { feed, first } = await (deps.openFeed ?? defaultOpenFeed)(cfg, paths);
  const controller = new TopController();
  controller.status({ source: feed.label });
  const stop = new AbortController();
  const signal = AbortSignal.any([io.signal, stop.signal, feed.fatal]);
  const snapshot = (): void => {
    if (io.interactive) return;
    const rows = controller.model.rows({ groupBy: cfg.groupBy, sortBy: cfg.sortBy, filter: '' });
    io.out.write(formatSnapshot(rows, { time: new Date(controller.model.lastUpdateMs() ?? Date.now()), groupBy: cfg.groupBy, sortBy: cfg.sortBy, intervalS: cfg.intervalMs / 1000, status: controller.model.status() }));
  };
  if (first !== null) {
    controller.push(first);
    snapshot();
  }

  let failure: unknown = null;
  const loop = async (): Promise<void> => {
    let intervals = first === null ? 0 : 1;
    let next = Date.now() + cfg.intervalMs;
    while (!signal.aborted && (cfg.count === undefined || intervals < cfg.count)) {
      if (await sleepUntil(next, signal)) break;
      next = nextDeadline(next, cfg.intervalMs);
      try {
        const interval = await feed.next();
        if (interval !== null) controller.push(interval);
        else if (controller.model.status().error !== null) controller.status({ error: null });
      } catch (err) {
        if (!feed.retryable) throw err;
        const msg = isKdropError(err) ? err.message.split(';')[0]! : String(err);
        log.debug({ err: msg }, 'reading the agent failed');
        controller.status({ error: msg });
      }
      intervals++;
      snapshot();
    }
  };

  try {
    if (io.interactive) {
      const { runInteractive } = await import('../top/app.js');
      const view = runInteractive({ controller, groupBy: cfg.groupBy, sortBy: cfg.sortBy, intervalS: cfg.intervalMs / 1000, colors: cfg.colors }, signal);
      const data = loop().catch((err: unknown) => {
        failure = err;
        stop.abort();
      });
      await view;
      stop.abort();
      await data;
    } else {
      await loop().catch((err: unknown) => {
        failure = err;
      });
    }
  } finally {
    const last = await feed.finish().catch((err: unknown) => {
      failure ??= err;
      return null;
    });
    // The last partial interval is shown when stopped by a signal (as watch does), not after --count.
    if (last !== null && !io.interactive && failure === null && io.signal.aborted) {
      controller.push(last);
      snapshot();
    }
  }
  const fatal = feed.fatalError();
  if (fatal !== null) throw fatal;
  if (failure !== null) throw failure;
  return 0;
}
