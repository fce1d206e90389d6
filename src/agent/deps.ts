/** What the agent needs from the outside: the drop pipeline (src/compose.ts openPipeline() returns more), paths, env, test hooks. */
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { HostPaths } from '../host-paths.js';
import type { IntervalReport } from '../vocabulary/interval-report.js';
import type { FlowSample } from '../vocabulary/flow-sample.js';
import type { NetnsResolver } from '../enrich/types.js';
import type { DescribeContext } from '../enrich/describe.js';
import type { SourceName } from '../source/types.js';
import type { SampleOptions } from '../source/bpf/index.js';
import type { SourceChoice } from '../config/common.js';
import type { ListenAddress } from './config.js';
import type { AccessReviewer } from './kube-auth.js';

/** What the agent needs from the drop pipeline (src/compose.ts openPipeline() returns more). */
export interface AgentPipeline {
  readonly pipeline: { tick(): Promise<IntervalReport>; finish(): Promise<IntervalReport> };
  readonly source: { readonly name: SourceName; onFatal(listener: (err: Error) => void): void; onSample?(listener: (s: FlowSample) => void): () => void };
  readonly describe?: DescribeContext;
  /** Resolves when the symbols have loaded; rejects when they cannot (the agent then stops). */
  readonly symbols?: Promise<void>;
  /** When the source began counting (ms since the epoch): the first interval ends half an interval later. */
  readonly attachedAt?: number;
  close(): Promise<void>;
}

export type OpenPipeline = (o: { source: SourceChoice; paths: HostPaths; resolver?: NetnsResolver; map?: string | undefined; samples?: SampleOptions; counters?: boolean; streamingSymbols?: boolean }) => Promise<AgentPipeline>;

export interface AgentDeps {
  readonly openPipeline: OpenPipeline;
  readonly paths: HostPaths;
  readonly env: NodeJS.ProcessEnv;
  readonly resolver?: NetnsResolver;
  /**
   * Makes the netns resolver (e.g. pods from the Kubernetes API) once the configuration is valid and the
   * listeners are bound. Ignored when `resolver` is given. Default: the pipeline's host-only resolver.
   * It must not wait for the API: counting starts at once, and pods are named once their list arrives.
   */
  readonly createResolver?: (paths: HostPaths) => Promise<NetnsResolver>;
  /** Tests: push to this exporter instead of a real OTLP one (config.otlp must still be set). */
  readonly pushExporter?: PushMetricExporter;
  /** Tests: sampled drops to this log exporter (config.samples must still be set). */
  readonly logExporter?: LogRecordExporter;
  /** Tests: answer TokenReviews and SubjectAccessReviews instead of the Kubernetes API (config.auth.kubernetes). */
  readonly accessReviewer?: AccessReviewer;
  /** Called once the HTTP listeners are bound (tests use it to learn port 0 choices). */
  readonly onListening?: (addresses: { metrics: ListenAddress | null; health: ListenAddress | null }) => void;
}
