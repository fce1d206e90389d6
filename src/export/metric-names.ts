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

/**
 * The kernel drop counters kfree_skb never sees (or sees without the cause), per owner, keyed by
 * counterMetricKey() (src/aggregate/counter-series.ts). Shown beside kdrop.packet.drops, never part of it.
 * Semantic-convention names where one fits (system.network.packet.dropped is the /proc/net/dev drop column).
 */
export const CounterMetric = {
  'netstat.ListenOverflows': {
    name: 'kdrop.tcp.listen.overflows',
    unit: '{packet}',
    description: 'SYNs and handshake-completing ACKs dropped because a listener\'s accept queue was full (TcpExt ListenOverflows; freed with consume_skb, never seen by kfree_skb).',
    prometheus: 'kdrop_tcp_listen_overflows_total',
  },
  'netstat.ListenDrops': {
    name: 'kdrop.tcp.listen.drops',
    unit: '{packet}',
    description: 'Packets to a listening socket dropped for any reason (TcpExt ListenDrops; includes ListenOverflows).',
    prometheus: 'kdrop_tcp_listen_drops_total',
  },
  'netstat.TCPReqQFullDrop': {
    name: 'kdrop.tcp.syn_queue.drops',
    unit: '{packet}',
    description: 'SYNs dropped because the SYN (request) queue was full and syncookies were off (TcpExt TCPReqQFullDrop).',
    prometheus: 'kdrop_tcp_syn_queue_drops_total',
  },
  dev: {
    name: 'system.network.packet.dropped',
    unit: '{packet}',
    description: 'Packets an interface dropped (the drop columns of /proc/PID/net/dev, per network namespace), by interface and direction.',
    prometheus: 'system_network_packet_dropped_total',
  },
  nic: {
    name: 'kdrop.nic.drops',
    unit: '{packet}',
    description: 'Drops a physical NIC counts (sysfs statistics: rx_missed_errors, rx_fifo_errors, rx_dropped, tx_dropped; netdev queue stats, where the kernel and driver report them: rx-hw-drops, rx-hw-drop-overruns, rx-hw-drop-ratelimits, tx-hw-drops, tx-hw-drop-errors, tx-hw-drop-ratelimits), by kdrop.counter; hardware drops, misses and FIFO overruns have no skb at all.',
    prometheus: 'kdrop_nic_drops_total',
  },
  'conntrack.drop': {
    name: 'kdrop.conntrack.drops',
    unit: '{packet}',
    description: 'Packets conntrack dropped because a new entry could not be made (table full, nothing to evict; net/stat/nf_conntrack drop).',
    prometheus: 'kdrop_conntrack_drops_total',
  },
  'conntrack.insert_failed': {
    name: 'kdrop.conntrack.insert_failed',
    unit: '{packet}',
    description: 'Packets whose conntrack entry could not be inserted (a clash that could not be resolved; net/stat/nf_conntrack insert_failed).',
    prometheus: 'kdrop_conntrack_insert_failed_total',
  },
  'conntrack.early_drop': {
    name: 'kdrop.conntrack.early_drops',
    unit: '{entry}',
    description: 'Conntrack entries evicted early to make room for a new one when the table was full (net/stat/nf_conntrack early_drop).',
    prometheus: 'kdrop_conntrack_early_drops_total',
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
