/**
 * Every metric and resource attribute name kdrop exports, in one place (the drop attributes, shared by
 * every stage, are in src/vocabulary/attributes.ts). These are an API: dashboards and alerts are built
 * on them (docs/metrics.md documents each). Change nothing here without a changelog entry.
 */

/** Attributes on self-metrics. */
export const SelfAttr = {
  /** Which exporter failed: otlp. */
  exporter: 'kdrop.exporter',
} as const;

export interface MetricName {
  /** OpenTelemetry name. */
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  /** The name the Prometheus endpoint shows (OpenTelemetry exporter naming: dots to _, _total on counters). */
  readonly prometheus: string;
}

/** The drop metrics: monotonic cumulative counters, one series per selected attribute set. */
export const DropMetric = {
  drops: {
    name: 'kdrop.packet.drops',
    unit: '{packet}',
    description: 'Packets freed by the kernel as dropped (skb:kfree_skb), by reason, function and owner.',
    prometheus: 'kdrop_packet_drops_total',
  },
  droppedBytes: {
    name: 'kdrop.packet.dropped_bytes',
    unit: 'By',
    description: 'Bytes (skb->len) of the packets counted by kdrop.packet.drops.',
    prometheus: 'kdrop_packet_dropped_bytes_total',
  },
} as const satisfies Record<string, MetricName>;

/** kdrop's own health: all monotonic counters except series.active. */
export const SelfMetric = {
  lostEvents: {
    name: 'kdrop.tracer.lost_events',
    unit: '{event}',
    description: 'Drop events the tracer reported as lost (ring buffer overruns, map full); drop counts are short by this much.',
    prometheus: 'kdrop_tracer_lost_events_total',
  },
  tracerRestarts: {
    name: 'kdrop.tracer.restarts',
    unit: '{restart}',
    description: 'Times the tracer died and was restarted.',
    prometheus: 'kdrop_tracer_restarts_total',
  },
  badLines: {
    name: 'kdrop.tracer.bad_lines',
    unit: '{line}',
    description: 'Lines of tracer output that could not be parsed.',
    prometheus: 'kdrop_tracer_bad_lines_total',
  },
  unattributedDrops: {
    name: 'kdrop.enrich.unattributed_drops',
    unit: '{packet}',
    description: 'Drops whose network namespace could not be attributed to a pod or the host (counted under kdrop.scope=netns).',
    prometheus: 'kdrop_enrich_unattributed_drops_total',
  },
  exportFailures: {
    name: 'kdrop.export.failures',
    unit: '{export}',
    description: 'Push exports (OTLP) that failed after the SDK retries, by exporter.',
    prometheus: 'kdrop_export_failures_total',
  },
  seriesOverflow: {
    name: 'kdrop.series.overflow_drops',
    unit: '{packet}',
    description: 'Drops recorded in the otel.metric.overflow=true series because the metric reached its series limit.',
    prometheus: 'kdrop_series_overflow_drops_total',
  },
  seriesExpired: {
    name: 'kdrop.series.expired',
    unit: '{series}',
    description: 'Series removed from export (not updated for the series TTL, or expired by the pod stage when a pod was deleted).',
    prometheus: 'kdrop_series_expired_total',
  },
  seriesActive: {
    name: 'kdrop.series.active',
    unit: '{series}',
    description: 'Series currently exported per drop metric, including the overflow series (gauge).',
    prometheus: 'kdrop_series_active',
  },
} as const satisfies Record<string, MetricName>;

/**
 * Attributes of the sampled-drop log records (agent --samples otlp): semantic-convention names where one
 * exists, else kdrop.*. Never metric labels (a flow per series would be unbounded cardinality).
 */
export const SampleAttr = {
  sourceAddress: 'source.address',
  sourcePort: 'source.port',
  destinationAddress: 'destination.address',
  destinationPort: 'destination.port',
  /** tcp | udp | icmp | icmpv6 | ... (lowercase), or the IP protocol number as text. */
  transport: 'network.transport',
  interfaceName: 'network.interface.name',
  ifindex: 'kdrop.interface.index',
  tcpFlags: 'kdrop.tcp.flags',
  icmpType: 'kdrop.icmp.type',
  icmpCode: 'kdrop.icmp.code',
  /** skb->len of the sampled packet. */
  length: 'kdrop.packet.length',
  /** Drops of the key the kernel did not sample since its previous sample. */
  suppressed: 'kdrop.samples.suppressed',
  /** Symbolized kernel stack (array of function+0xoff), with --sample-stacks. */
  stack: 'kdrop.stack',
} as const;

/** The event name of a sampled-drop log record. */
export const SAMPLE_EVENT_NAME = 'kdrop.packet.drop.sample';

/** Resource attribute names. */
export const ResourceAttr = {
  serviceName: 'service.name',
  serviceVersion: 'service.version',
  hostName: 'host.name',
  nodeName: 'k8s.node.name',
} as const;

export const SERVICE_NAME = 'kdrop';
/** Instrumentation scope of every kdrop metric. */
export const SCOPE_NAME = 'kdrop';
