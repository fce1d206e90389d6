import type { IntervalReport } from '../vocabulary/interval-report.js';
import { runtimeFlags } from '../runtime-flags.js';
import type { SourceStats } from '../source/types.js';
import { labelPolicy, type LabelPolicy } from '../aggregate/label-policy.js';
import { SeriesStore } from '../aggregate/series.js';
import { CounterSeries } from '../aggregate/counter-series.js';
import { kdropResource, kdropVersion } from '../export/resource.js';
import { createTelemetry, type Telemetry } from '../export/telemetry.js';
import { startSampleExport, type SampleExport } from './sample-export.js';
import type { AgentDeps, AgentPipeline } from './deps.js';
import type { NetnsResolver } from '../enrich/types.js';
import type { Resource } from '@opentelemetry/resources';
import { logger } from '../log.js';
import { firstDeadline, nextDeadline, sleepUntil } from '../schedule.js';
import type { AgentConfig, ListenAddress } from './config.js';
import type { AgentHttpServer, Check, HealthChecks } from './http-server.js';
import { IntervalDeltas, counterIntervalDeltas, counterPoints, dropsApiBody, type DropsApiDocument } from './drops-api.js';
import type { Access } from './access.js';
import { openListeners } from './listeners.js';

const log = logger('agent');

export type { AgentDeps, AgentPipeline, OpenPipeline } from './deps.js';

/** Time a stop may take beyond the read interval before /healthz reports the read loop as stuck. */
const STUCK_AFTER_MIN_MS = 30_000;

/**
 * The `kdrop agent` daemon: reads the pipeline every interval into the series store, which the
 * OpenTelemetry readers (Prometheus endpoint, OTLP push) export; serves /healthz and /readyz; stops
 * cleanly (final counts read, pushed, servers closed) within a bounded time.
 */
export class Agent {
  readonly store: SeriesStore;
  /** The kernel drop counters' series (beside the drops, same guard and expiry). */
  readonly counterStore: CounterSeries;
  private readonly policy: LabelPolicy;
  private telemetry: Telemetry | null = null;
  private samples: SampleExport | null = null;
  private servers: AgentHttpServer[] = [];
  private metricsServer: AgentHttpServer | null = null;
  private access: Access | null = null;
  private opened: AgentPipeline | null = null;
  private stats: SourceStats = { lostEvents: 0, restarts: 0, badLines: 0 };
  private unattributed = 0;
  private intervals = 0;
  private lastReadMs: number | null = null;
  private fatal: Error | null = null;
  /** Aborted by requestStop(): ends the read loop's sleep at once. */
  private readonly stopping = new AbortController();
  private tickErrors = 0;
  /** Per-series drops of the latest interval, for the drops API. */
  private readonly deltas = new IntervalDeltas();
  /** Per-series growth of the kernel drop counters in the latest interval, for the drops API. */
  private readonly counterDeltas = counterIntervalDeltas();
  private lastInterval: { end: Date; seconds: number } | null = null;

  constructor(
    private readonly cfg: AgentConfig,
    private readonly deps: AgentDeps,
  ) {
    this.store = new SeriesStore({ limit: cfg.seriesLimit, ttlMs: cfg.seriesTtlMs, retireGraceMs: cfg.retireGraceMs });
    this.policy = labelPolicy(cfg.labels);
    this.counterStore = new CounterSeries({ limit: cfg.seriesLimit, ttlMs: cfg.seriesTtlMs, retireGraceMs: cfg.retireGraceMs }, cfg.labels);
  }

  /**
   * Builds the exporters, binds the listeners and starts the source. On failure everything already
   * started is stopped again before the error is rethrown: nothing is left half-started.
   */
  async start(): Promise<void> {
    try {
      // The source first: the probe attaches (its own process) while the exporters load and listen.
      const [opened, exporters] = await Promise.allSettled([this.openSource(), this.startExporters()]);
      if (opened.status === 'rejected') throw opened.reason;
      if (exporters.status === 'rejected') throw exporters.reason;
      const { resource, version, metricsAt, healthAt } = exporters.value;
      const resolver = opened.value;
      this.opened!.source.onFatal((err) => this.fail(err, 'the tracer failed for good; stopping'));
      // Symbols load after the source attached; without them the agent cannot report: stop, as at start.
      this.opened!.symbols?.catch((err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err)), 'kernel symbols cannot be loaded; stopping'));
      if (this.cfg.samples) this.samples = await startSampleExport(this.cfg.samples, this.opened!, resource, version, this.deps.logExporter);
      // A deleted pod's series expire (after the grace period), so pod churn cannot grow memory.
      resolver?.onPodDeleted?.((uid) => this.expirePod(uid));
      log.info(
        {
          source: this.opened!.source.name,
          intervalMs: this.cfg.intervalMs,
          metrics: metricsAt ? `${this.cfg.auth?.tls ? 'https' : 'http'}://${metricsAt.host}:${metricsAt.port}/metrics${this.cfg.auth?.kubernetes ? ' (Kubernetes authentication)' : ''}` : 'off',
          health: healthAt ? `${healthAt.host}:${healthAt.port}` : 'off',
          otlp: this.cfg.otlp ? `${this.cfg.otlp.protocol} ${this.cfg.otlp.url ?? '(from OTEL_EXPORTER_OTLP_* / default)'} every ${this.cfg.otlp.intervalMs}ms` : 'off',
          labels: this.policy.labels,
          v8: runtimeFlags(),
        },
        'kdrop agent started',
      );
    } catch (err) {
      await this.release();
      throw err;
    }
  }

  private fail(err: Error, msg: string): void {
    this.fatal ??= err;
    log.error({ err: err.message }, msg);
    this.requestStop();
  }
  /** Resolver and pipeline: this.opened once open (release() closes it); returns the resolver. */
  private async openSource(): Promise<NetnsResolver | undefined> {
    const resolver = this.deps.resolver ?? (await this.deps.createResolver?.(this.deps.paths));
    try {
      this.opened = await this.deps.openPipeline({
        source: this.cfg.source,
        paths: this.deps.paths,
        map: this.cfg.map,
        streamingSymbols: true, // no kallsyms table held (compose.ts: unless samples)
        ...(this.cfg.counters === false ? { counters: false } : {}),
        ...(resolver ? { resolver } : {}),
        ...(this.cfg.samples || this.cfg.samplesApi ? { samples: (this.cfg.samples ?? this.cfg.samplesApi)!.kernel } : {}),
      });
    } catch (err) {
      // The pipeline owns (and closes) the resolver only once it is open.
      if (this.deps.resolver === undefined) await resolver?.close?.().catch(() => undefined);
      throw err;
    }
    return resolver;
  }

  /** The meter provider and the HTTP listeners (release() closes what started). */
  private async startExporters(): Promise<{ resource: Resource; version: string; metricsAt: ListenAddress | null; healthAt: ListenAddress | null }> {
    const version = kdropVersion();
    const resource = kdropResource({ version, nodeName: this.cfg.nodeName, env: this.deps.env });
    this.telemetry = await createTelemetry({
      resource,
      version,
      prometheus: this.cfg.metrics !== null,
      otlp: this.cfg.otlp,
      series: () => this.store.snapshot(),
      counters: () => this.counterStore.snapshot(),
      selfState: () => ({ ...this.stats, unattributed: this.unattributed, series: this.store.stats() }),
      ...(this.deps.pushExporter ? { pushExporter: this.deps.pushExporter } : {}),
    });
    const health: HealthChecks = { live: () => this.live(), ready: () => this.ready() };
    const listening = await openListeners(
      { cfg: this.cfg, deps: this.deps, health, metrics: this.telemetry.metricsHandler, dropsApi: () => this.dropsApi(), opened: () => this.opened },
      this.servers,
      (a) => (this.access = a),
    );
    this.metricsServer = listening.metricsServer;
    const { metricsAt, healthAt } = listening;
    return { resource, version, metricsAt, healthAt };
  }

  /** Expires the series of a deleted pod (after the grace period). */
  expirePod(uid: string): number {
    const n = this.store.expirePod(uid) + this.counterStore.expirePod(uid);
    log.debug({ podUid: uid, series: n }, 'pod deleted: its series will expire');
    return n;
  }

  /** Asks the read loop to stop (signal handlers call this). */
  requestStop(): void {
    this.stopping.abort();
  }

  /**
   * Reads every interval until a stop is requested, then stops within cfg.shutdownTimeoutMs. Resolves
   * with the exit code: 0 after a clean stop, 1 when the tracer failed or the stop ran out of time.
   */
  async run(): Promise<number> {
    let next = firstDeadline(this.opened?.attachedAt ?? Date.now(), this.cfg.intervalMs);
    while (!this.stopRequested) {
      if (await sleepUntil(next, this.stopping.signal)) break;
      await this.read(() => this.opened!.pipeline.tick());
      next = nextDeadline(next, this.cfg.intervalMs);
    }
    return this.stop();
  }

  private async stop(): Promise<number> {
    const deadline = Date.now() + this.cfg.shutdownTimeoutMs;
    log.info({ timeoutMs: this.cfg.shutdownTimeoutMs }, 'stopping: reading final counts');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.cfg.shutdownTimeoutMs)));
    let step = 'reading the final counts'; // named in the log when the stop runs out of time
    const sequence = (async (): Promise<'done'> => {
      // 1. Stop the tracer and read its final counts: the last, partial interval.
      if (this.opened !== null) await this.read(() => this.opened!.pipeline.finish());
      // 2. Push them (OTLP); for Prometheus, give a scraper the chance to read them once.
      step = 'pushing the final counts';
      await Promise.all([this.telemetry?.flush(), this.samples?.flush()]).catch((err: unknown) => log.warn({ err: String(err) }, 'final export failed'));
      const ms = this.metricsServer;
      if (ms !== null && ms.scrapeCount() > 0 && this.cfg.finalScrapeWaitMs > 0) {
        const wait = Math.min(this.cfg.finalScrapeWaitMs, deadline - Date.now() - 1000);
        if (wait > 0) {
          step = 'waiting for a last Prometheus scrape';
          const scraped = await ms.waitForScrape(wait);
          log.debug({ scraped }, 'final Prometheus scrape');
        }
      }
      return 'done';
    })();
    const failed = (err: unknown): 'error' => {
      log.error({ err: String(err) }, 'stop failed');
      return 'error';
    };
    const outcome = await Promise.race([sequence, timeout]).catch(failed);
    clearTimeout(timer);
    if (outcome === 'timeout') log.error({ timeoutMs: this.cfg.shutdownTimeoutMs, step }, 'stop took too long; exiting without waiting further');
    // 3. Close servers and the pipeline (bounded by the time left, at least one second).
    await Promise.race([this.release(), new Promise((r) => setTimeout(r, Math.max(1000, deadline - Date.now())).unref())]);
    log.info({ intervals: this.intervals }, 'kdrop agent stopped');
    return this.fatal !== null || outcome !== 'done' ? 1 : 0;
  }

  /** Closes listeners, the pipeline and the meter provider. Idempotent, never throws. */
  private async release(): Promise<void> {
    const { servers, opened, telemetry, samples } = this;
    this.servers = [];
    this.opened = this.telemetry = this.samples = null;
    this.access?.close();
    await Promise.allSettled([...servers.map((s) => s.close()), samples?.close().then(() => opened?.close()) ?? opened?.close(), telemetry?.shutdown()]);
  }

  private async read(op: () => Promise<IntervalReport>): Promise<void> {
    let report: IntervalReport;
    try {
      report = await op();
    } catch (err) {
      this.tickErrors++;
      // Once per streak at warn, then debug: a flapping source must not flood the log.
      if (this.tickErrors === 1) log.warn({ err: err instanceof Error ? err.message : String(err) }, 'reading the drop source failed');
      else log.debug({ err: String(err), failures: this.tickErrors }, 'reading the drop source failed');
      return;
    }
    this.tickErrors = 0;
    this.ingest(report);
  }

  /** Adds an interval's entries to the series store (after label selection) and updates self-metrics. */
  ingest(report: IntervalReport): void {
    for (const e of report.entries) this.store.add(this.policy.attributesOf(e), e.count, e.bytes, e.owner.scope === 'pod' ? e.owner.podUid : null);
    this.store.sweep();
    // With --no-counters the pipeline reads none; nothing is kept even if a report carried some.
    if (this.cfg.counters !== false) this.counterStore.add(report.counters ?? []);
    this.counterStore.sweep();
    this.deltas.update(this.store.snapshot());
    this.counterDeltas.update(counterPoints(this.counterStore.snapshot()));
    this.lastInterval = { end: report.end, seconds: report.intervalS };
    this.stats = report.stats;
    this.unattributed = report.unattributed;
    this.intervals++;
    this.lastReadMs = Date.now();
    if (this.intervals === 1) log.info('first interval read: ready');
  }

  /** The document of GET /api/v1/drops (docs/agent.md): series totals and latest-interval deltas. */
  dropsApi(): DropsApiDocument {
    return dropsApiBody({
      node: this.cfg.nodeName ?? null,
      source: this.opened?.source.name ?? null,
      intervalS: this.cfg.intervalMs / 1000,
      intervals: this.intervals,
      intervalEnd: this.lastInterval?.end ?? null,
      lastIntervalS: this.lastInterval?.seconds ?? 0,
      lostEvents: this.stats.lostEvents,
      restarts: this.stats.restarts,
      unattributed: this.unattributed,
      labels: this.policy.labels,
      series: this.store.snapshot(),
      deltas: this.deltas,
      ...(this.cfg.counters === false ? {} : { counters: { series: counterPoints(this.counterStore.snapshot()), deltas: this.counterDeltas } }),
    });
  }

  live(): Check {
    if (this.fatal !== null) return { ok: false, detail: `tracer failed: ${this.fatal.message}` };
    if (this.opened === null) return { ok: !this.stopRequested, detail: this.stopRequested ? 'stopped' : 'starting: tracer not attached yet' };
    const since = this.lastReadMs ?? null;
    const stuckAfter = Math.max(STUCK_AFTER_MIN_MS, 3 * this.cfg.intervalMs);
    if (since !== null && Date.now() - since > stuckAfter && !this.stopRequested) {
      return { ok: false, detail: `no interval read for ${Math.round((Date.now() - since) / 1000)}s` };
    }
    return { ok: true, detail: `tracer ${this.opened.source.name} running` };
  }

  ready(): Check {
    if (this.intervals === 0) return { ok: false, detail: 'first interval not read yet' };
    return { ok: true, detail: `${this.intervals} intervals read` };
  }

  private get stopRequested(): boolean {
    return this.stopping.signal.aborted;
  }
}
