/**
 * Kernel drop counters that kfree_skb never sees (or sees without the cause), read per network namespace
 * from /proc and per node from sysfs. Sources know nothing of Kubernetes: a namespace is its inode.
 */

/** Where a counter comes from. */
export type CounterFile = 'netstat' | 'dev' | 'conntrack' | 'nic';

/** The counters kdrop reads (names as the kernel prints them). */
export const TCP_COUNTERS = ['ListenOverflows', 'ListenDrops', 'TCPReqQFullDrop'] as const;
export const CONNTRACK_COUNTERS = ['drop', 'insert_failed', 'early_drop'] as const;
export const NIC_COUNTERS = ['rx_missed_errors', 'rx_fifo_errors', 'rx_dropped', 'tx_dropped'] as const;

export type TcpCounter = (typeof TCP_COUNTERS)[number];
export type ConntrackCounter = (typeof CONNTRACK_COUNTERS)[number];
export type NicCounter = (typeof NIC_COUNTERS)[number];
/** Counter names: TcpExt names, conntrack column names, `rx_dropped`/`tx_dropped` (net/dev) and the NIC files. */
export type CounterName = TcpCounter | ConntrackCounter | NicCounter;

/** One counter's cumulative value in one namespace (or, for `nic`, on the node). */
export interface CounterValue {
  readonly file: CounterFile;
  readonly counter: CounterName;
  /** Interface name for `dev` and `nic`, null otherwise. */
  readonly iface: string | null;
  /** The kernel's value since the namespace (or interface) was made. */
  readonly value: bigint;
  /** Width of the kernel's counter: 32-bit counters wrap (conntrack's stats are u32). */
  readonly bits: 32 | 64;
}

/** One interval's growth of one counter. */
export interface CounterDelta extends Omit<CounterValue, 'value' | 'bits'> {
  /** Netns inode; null for the node's physical NICs (read from sysfs). */
  readonly netns: number | null;
  readonly delta: number;
}

/** A namespace to read: its inode and one process in it. */
export interface NetnsTarget {
  readonly inode: number;
  readonly pid: number;
}
