/** `kdrop top` on this host: the same pipeline as `kdrop watch`. */
import type { HostPaths } from '../host-paths.js';
import type { SourceChoice } from '../config/common.js';
import { openPipeline } from '../compose.js';
import { watchResolver } from '../commands/watch-resolver.js';
import type { TopFeed } from './feed.js';
import { fromReport } from './from-report.js';

export interface LocalFeedOptions {
  readonly source: SourceChoice;
  readonly paths: HostPaths;
  readonly map: string | undefined;
}

/** Opens the pipeline the way `kdrop watch` does (pods when the Kubernetes API is reachable). */
async function openLocalPipeline(o: LocalFeedOptions): Promise<Awaited<ReturnType<typeof openPipeline>>> {
  const { resolver } = await watchResolver(o.paths, undefined);
  return openPipeline({ source: o.source, paths: o.paths, resolver, map: o.map }).catch(async (err: unknown) => {
    await resolver.close?.();
    throw err;
  });
}

export async function openLocalFeed(o: LocalFeedOptions): Promise<TopFeed> {
  const opened = await openLocalPipeline(o);
  const fatal = new AbortController();
  let fatalErr: Error | null = null;
  opened.source.onFatal((err) => {
    fatalErr = err;
    fatal.abort();
  });
  let finished = false;
  return {
    label: opened.sourceName,
    retryable: false,
    fatal: fatal.signal,
    fatalError: () => fatalErr,
    async next() {
      return fromReport(await opened.pipeline.tick(), opened.sourceName);
    },
    async finish() {
      if (finished) return null;
      finished = true;
      try {
        return fromReport(await opened.pipeline.finish(), opened.sourceName);
      } finally {
        await opened.close();
      }
    },
  };
}
