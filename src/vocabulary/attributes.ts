/**
 * The attribute names of a drop series: kdrop's shared vocabulary, which every stage may import (the
 * aggregate stage selects them, the exporters write them). These are an API: dashboards and alerts are
 * built on them (docs/metrics.md documents each). Change nothing here without a changelog entry.
 */

/** Attribute names on the drop metrics. */
export const Attr = {
  /** Kernel drop reason without the SKB_DROP_REASON_ prefix, or UNKNOWN_<code>. */
  reason: 'kdrop.reason',
  /** The reason's class: policy | congestion | error | benign | unknown (src/enrich/reason-catalog.ts). */
  reasonClass: 'kdrop.reason.class',
  /** Kernel function that freed the skb, without offset (the hex address when it cannot be symbolized). */
  function: 'kdrop.function',
  /** ipv4, ipv6, arp, or the ethertype in hex (0x88cc style). */
  networkType: 'network.type',
  /** pod | host | netns. */
  scope: 'kdrop.scope',
  namespace: 'k8s.namespace.name',
  pod: 'k8s.pod.name',
  /** Opt-in: function+0xoffset. */
  location: 'kdrop.location',
  /** Opt-in: the pod's uid. */
  podUid: 'k8s.pod.uid',
  /** Opt-in: network namespace inode number (as a decimal string). */
  netnsInode: 'kdrop.netns.inode',
  /** Set to true on the one series that takes drops beyond the cardinality limit (OpenTelemetry convention). */
  overflow: 'otel.metric.overflow',
} as const;

export type DropAttributeName =
  | typeof Attr.reason
  | typeof Attr.reasonClass
  | typeof Attr.function
  | typeof Attr.networkType
  | typeof Attr.scope
  | typeof Attr.namespace
  | typeof Attr.pod
  | typeof Attr.location
  | typeof Attr.podUid
  | typeof Attr.netnsInode;

/** Exported when --labels is not given. */
export const DEFAULT_LABELS: readonly DropAttributeName[] = [
  Attr.reason,
  Attr.reasonClass,
  Attr.function,
  Attr.networkType,
  Attr.scope,
  Attr.namespace,
  Attr.pod,
];

/** Only exported when named in --labels (higher cardinality). */
export const OPT_IN_LABELS: readonly DropAttributeName[] = [Attr.location, Attr.podUid, Attr.netnsInode];

export const ALL_LABELS: readonly DropAttributeName[] = [...DEFAULT_LABELS, ...OPT_IN_LABELS];

/**
 * Attributes of the kernel drop counter metrics (beside the owner attributes above): semantic-convention
 * names for the interface and direction, kdrop.counter for the kernel's own counter name.
 */
export const CounterAttr = {
  /** The interface (net/dev row, NIC) the counter belongs to. */
  interfaceName: 'network.interface.name',
  /** receive | transmit. */
  direction: 'network.io.direction',
  /** The kernel's counter name (rx_missed_errors, ...), on metrics that carry more than one. */
  counter: 'kdrop.counter',
} as const;
