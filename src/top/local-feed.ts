/** `kdrop top` on this host: the same pipeline as `kdrop watch`. */
import type { HostPaths } from '../host-paths.js';
import type { SourceChoice } from '../config/common.js';
import { openPipeline } from '../compose.js';
import { watchResolver } from '../resolver.js';
import type { TopFeed } from './feed.js';
import { fromReport, type ExampleOf } from './from-report.js';
import { keyString } from '../source/types.js';
import { describeSample } from '../enrich/describe-sample.js';
import { flowText } from '../export/sample-format.js';

export interface LocalFeedOptions {
  readonly source: SourceChoice;
  readonly paths: HostPaths;
  readonly map: string | undefined;
  /** Read the kernel drop counters beside the drops (default true). */
  readonly counters?: boolean;
}

/** Opens the pipeline the way `kdrop watch` does (pods when the Kubernetes API is reachable). */
async function openLocalPipeline(o: LocalFeedOptions): Promise<Awaited<ReturnType<typeof openPipeline>>> {
  const { resolver } = await watchResolver(o.paths, undefined);
  // Samples (the EXAMPLE column, the stack in a row's detail) where the source is the bpf probe.
  const samples = { rate: 1, burst: 1, maxPerS: 200, stacks: true };
  return openPipeline({ source: o.source, paths: o.paths, resolver, map: o.map, samples, ...(o.counters === false ? { counters: false } : {}) }).catch(async (err: unknown) => {
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
  // The latest example per key since the previous interval.
  let latest = new Map<string, { example: string; stack?: readonly string[] }>();
  opened.source.onSample?.((raw) => {
    const s = describeSample(opened.describe, raw);
    latest.set(keyString(s), { example: flowText(s), ...(s.stackText ? { stack: s.stackText } : {}) });
  });
  const take = (): ExampleOf => {
    const m = latest;
    latest = new Map();
    return (e) => m.get(keyString(e));
  };
  return {
    label: opened.sourceName,
    retryable: false,
    fatal: fatal.signal,
    fatalError: () => fatalErr,
    async next() {
      const report = await opened.pipeline.tick();
      return fromReport(report, opened.sourceName, take());
    },
    async finish() {
      if (finished) return null;
      finished = true;
      try {
        const report = await opened.pipeline.finish();
        return fromReport(report, opened.sourceName, take());
      } finally {
        await opened.close();
      }
    },
  };
}
