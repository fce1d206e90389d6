/**
 * Kernel drop counters that kfree_skb never sees (or sees without the cause), read per network namespace
 * from /proc and per node from sysfs. Sources know nothing of Kubernetes: a namespace is its inode.
 */

/** Where a counter comes from (qstats: the netdev netlink family's queue stats, through kdrop-probe --qstats). */
export type CounterFile = 'netstat' | 'dev' | 'conntrack' | 'nic' | 'qstats';

/** The counters kdrop reads (names as the kernel prints them). */
export const TCP_COUNTERS = ['ListenOverflows', 'ListenDrops', 'TCPReqQFullDrop'] as const;
export const CONNTRACK_COUNTERS = ['drop', 'insert_failed', 'early_drop'] as const;
export const NIC_COUNTERS = ['rx_missed_errors', 'rx_fifo_errors', 'rx_dropped', 'tx_dropped'] as const;
/** The netdev queue stats' hardware drops (Documentation/netlink/specs/netdev.yaml names; 6.10+, where the driver reports them). */
export const QSTATS_COUNTERS = ['rx-hw-drops', 'rx-hw-drop-overruns', 'rx-hw-drop-ratelimits', 'tx-hw-drops', 'tx-hw-drop-errors', 'tx-hw-drop-ratelimits'] as const;

export type TcpCounter = (typeof TCP_COUNTERS)[number];
export type ConntrackCounter = (typeof CONNTRACK_COUNTERS)[number];
export type NicCounter = (typeof NIC_COUNTERS)[number];
export type QstatsCounter = (typeof QSTATS_COUNTERS)[number];
/** Counter names: TcpExt names, conntrack column names, `rx_dropped`/`tx_dropped` (net/dev), the NIC files and the qstats fields. */
export type CounterName = TcpCounter | ConntrackCounter | NicCounter | QstatsCounter;

/** One counter's cumulative value in one namespace (or, for `nic`, on the node). */
export interface CounterValue {
  readonly file: CounterFile;
  readonly counter: CounterName;
  /** Interface name for `dev`, `nic` and `qstats`, null otherwise. */
  readonly iface: string | null;
  /** The kernel's value since the namespace (or interface) was made. */
  readonly value: bigint;
  /** Width of the kernel's counter: 32-bit counters wrap (conntrack's stats are u32). */
  readonly bits: 32 | 64;
}

/** One interval's growth of one counter. */
export interface CounterDelta extends Omit<CounterValue, 'value' | 'bits'> {
  /** Netns inode; null for the node's physical NICs (read from sysfs and netlink qstats). */
  readonly netns: number | null;
  readonly delta: number;
}

/** A namespace to read: its inode and one process in it. */
export interface NetnsTarget {
  readonly inode: number;
  readonly pid: number;
}
