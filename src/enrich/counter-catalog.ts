/**
 * What kdrop knows about each kernel drop counter it reads beside kfree_skb: the words of its watch line,
 * what it means, where the kernel counts it, and what to check next. `kdrop explain`, `watch` and `top`
 * read this table. Why each one is not (or not fully) in kfree_skb is part of its meaning.
 */
import type { CounterFile, CounterName } from '../source/counters/index.js';

export interface CounterInfo {
  readonly file: CounterFile;
  readonly counter: CounterName;
  /** The watch line after the count: `{what} dropped: listen queue full`. `IFACE` is replaced by the interface. */
  readonly line: (count: number, iface: string | null) => string;
  readonly meaning: string;
  readonly countedIn: string;
  readonly check: readonly string[];
}

const plural = (n: number, one: string, many: string): string => (n === 1 ? one : many);
const LISTEN_CHECK = [
  'ss -ltn (Recv-Q = connections waiting to be accepted, Send-Q = the backlog)',
  'is the application accepting fast enough (CPU, thread pool, event loop blocked)?',
  'the listen() backlog and sysctl net.core.somaxconn (the smaller applies)',
  'nstat -az TcpExtListenOverflows TcpExtListenDrops (inside the pod: nsenter -t PID -n)',
];
const NF = ['conntrack -S (per CPU: drop, insert_failed, early_drop)', 'sysctl net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_count', 'conntrack -L | wc -l; the timeouts keeping entries (sysctl net.netfilter.nf_conntrack_*_timeout*)'];
const QSTATS_CHECK = ['ethtool -S DEV (the driver\'s own names for the same drops)', 'kdrop-probe --qstats (all the queue stats the driver reports), or ynl --family netdev --dump qstats-get', 'ethtool -g DEV; ethtool -l DEV (ring sizes, queues)'];
const QSTATS_IN = (field: string): string => `the NIC driver's netdev_stat_ops (netdev netlink qstats-get, device totals: ${field}; 6.10+, only where the driver reports it)`;

const TABLE: readonly CounterInfo[] = [
  {
    file: 'netstat', counter: 'ListenOverflows',
    line: (n) => `${plural(n, 'SYN', 'SYNs')} dropped: listen queue full (ListenOverflows)`,
    meaning: 'A listener\'s accept queue was full, so a SYN (or the ACK completing a handshake) was refused. The kernel frees such a SYN with consume_skb(), so kfree_skb never sees it; before 6.15 the third-ACK overflow shows only as NOT_SPECIFIED.',
    countedIn: 'tcp_conn_request() and tcp_v4_syn_recv_sock() / tcp_v6_syn_recv_sock() (TcpExt ListenOverflows, per netns)',
    check: LISTEN_CHECK,
  },
  {
    file: 'netstat', counter: 'ListenDrops',
    line: (n) => `${plural(n, 'packet', 'packets')} dropped at a listener (ListenDrops)`,
    meaning: 'Packets to a listening socket dropped for any reason, ListenOverflows included (also failed child socket creation, memory). Never add it to ListenOverflows.',
    countedIn: 'tcp_listendrop() callers (tcp_conn_request, tcp_v4_syn_recv_sock, tcp_v4_rcv for listeners)',
    check: LISTEN_CHECK,
  },
  {
    file: 'netstat', counter: 'TCPReqQFullDrop',
    line: (n) => `${plural(n, 'SYN', 'SYNs')} dropped: SYN queue full (TCPReqQFullDrop)`,
    meaning: 'The SYN (request) queue was full and syncookies were off or not allowed, so the SYN was refused (freed with consume_skb, not seen by kfree_skb).',
    countedIn: 'tcp_conn_request() (TcpExt TCPReqQFullDrop)',
    check: ['sysctl net.ipv4.tcp_syncookies net.ipv4.tcp_max_syn_backlog', 'a SYN flood? nstat -az TcpExtTCPReqQFullDoCookies TcpExtSyncookiesSent', ...LISTEN_CHECK.slice(0, 1)],
  },
  {
    file: 'dev', counter: 'rx_dropped',
    line: (n, i) => `${plural(n, 'packet', 'packets')} dropped by ${i ?? '?'} on receive (rx_dropped)`,
    meaning: 'The interface\'s receive drop column (/proc/net/dev: rx_dropped + rx_missed_errors): the driver or the core dropped the packet before the stack (no buffer, unknown protocol, backlog full); some of these also pass kfree_skb with a reason.',
    countedIn: 'the driver\'s stats, dev_core_stats_rx_dropped_inc() (netif_receive_skb, enqueue_to_backlog)',
    check: ['ip -s -s link show DEV', 'ethtool -S DEV (driver detail)', 'kdrop watch: drops at the same time with a reason on this interface\'s netns'],
  },
  {
    file: 'dev', counter: 'tx_dropped',
    line: (n, i) => `${plural(n, 'packet', 'packets')} dropped by ${i ?? '?'} on transmit (tx_dropped)`,
    meaning: 'The interface\'s transmit drop column: the device (or a virtual device such as dummy, veth with its peer down, a tunnel) refused or discarded the packet.',
    countedIn: 'the driver\'s stats, dev_core_stats_tx_dropped_inc() (__dev_queue_xmit, dev_hard_start_xmit)',
    check: ['ip -s -s link show DEV (state, carrier)', 'tc -s qdisc show dev DEV', 'for veth: is the peer up and in its namespace?'],
  },
  {
    file: 'nic', counter: 'rx_missed_errors',
    line: (n, i) => `${plural(n, 'packet', 'packets')} missed by NIC ${i ?? '?'}: receive ring full (rx_missed_errors)`,
    meaning: 'The NIC had no free receive descriptor and dropped the frame in hardware: there is no skb, so kfree_skb cannot see it. The host is not draining the ring fast enough.',
    countedIn: 'the NIC driver (hardware counter), sysfs statistics/rx_missed_errors',
    check: ['ethtool -g DEV (ring sizes; raise rx)', 'ethtool -S DEV | grep -i -e miss -e drop -e fifo', 'interrupt/NAPI load: /proc/interrupts, /proc/net/softnet_stat, irqbalance, RSS queues (ethtool -l)'],
  },
  {
    file: 'nic', counter: 'rx_fifo_errors',
    line: (n, i) => `${plural(n, 'packet', 'packets')} lost by NIC ${i ?? '?'}: FIFO overrun (rx_fifo_errors)`,
    meaning: 'The NIC\'s receive FIFO overflowed (the host did not take frames fast enough, or PCIe/DMA stalled): no skb, so kfree_skb cannot see it.',
    countedIn: 'the NIC driver (hardware counter), sysfs statistics/rx_fifo_errors',
    check: ['ethtool -S DEV', 'ethtool -g DEV; ethtool -c DEV (interrupt coalescing)', 'PCIe link and NUMA placement of the NIC\'s queues'],
  },
  {
    file: 'nic', counter: 'rx_dropped',
    line: (n, i) => `${plural(n, 'packet', 'packets')} dropped by NIC ${i ?? '?'} on receive (rx_dropped)`,
    meaning: 'Frames the NIC\'s driver or the core dropped on receive (no buffer, unknown protocol, ...), from the 64-bit stats in sysfs.',
    countedIn: 'the driver\'s ndo_get_stats64 and the core\'s rx_dropped (sysfs statistics/rx_dropped)',
    check: ['ethtool -S DEV', 'ip -s -s link show DEV'],
  },
  {
    file: 'nic', counter: 'tx_dropped',
    line: (n, i) => `${plural(n, 'packet', 'packets')} dropped by NIC ${i ?? '?'} on transmit (tx_dropped)`,
    meaning: 'Frames the NIC\'s driver dropped on transmit (ring full, link down, ...), from the 64-bit stats in sysfs.',
    countedIn: 'the driver\'s ndo_get_stats64 and the core\'s tx_dropped (sysfs statistics/tx_dropped)',
    check: ['ethtool -S DEV', 'ip -s -s link show DEV', 'tc -s qdisc show dev DEV'],
  },
  {
    file: 'qstats', counter: 'rx-hw-drops',
    line: (n, i) => `${plural(n, 'packet', 'packets')} dropped by NIC ${i ?? '?'} hardware on receive (rx-hw-drops)`,
    meaning: 'Frames the NIC received and dropped in hardware, for any reason (overruns and rate limits included): there is no skb, so kfree_skb cannot see them. Never add it to rx-hw-drop-overruns or rx-hw-drop-ratelimits, which it contains.',
    countedIn: QSTATS_IN('rx-hw-drops'),
    check: QSTATS_CHECK,
  },
  {
    file: 'qstats', counter: 'rx-hw-drop-overruns',
    line: (n, i) => `${plural(n, 'packet', 'packets')} dropped by NIC ${i ?? '?'}: no receive buffer (rx-hw-drop-overruns)`,
    meaning: 'Frames the NIC dropped for a transient lack of resources (no free receive buffer or host descriptor: the ring was full), the queue stats\' form of a miss. No skb, so kfree_skb cannot see them.',
    countedIn: QSTATS_IN('rx-hw-drop-overruns'),
    check: ['ethtool -g DEV (ring sizes; raise rx)', 'interrupt/NAPI load: /proc/interrupts, /proc/net/softnet_stat, RSS queues (ethtool -l)', ...QSTATS_CHECK.slice(0, 1)],
  },
  {
    file: 'qstats', counter: 'rx-hw-drop-ratelimits',
    line: (n, i) => `${plural(n, 'packet', 'packets')} dropped by NIC ${i ?? '?'}: receive rate limit (rx-hw-drop-ratelimits)`,
    meaning: 'Frames the device dropped on receive because a rate or bandwidth limit was exceeded (a cloud vNIC\'s or a virtio device\'s policer). No skb, so kfree_skb cannot see them.',
    countedIn: QSTATS_IN('rx-hw-drop-ratelimits'),
    check: ['the instance type\'s or device\'s network limits (bandwidth, packets per second, connection tracking allowance)', ...QSTATS_CHECK.slice(0, 2)],
  },
  {
    file: 'qstats', counter: 'tx-hw-drops',
    line: (n, i) => `${plural(n, 'packet', 'packets')} dropped by NIC ${i ?? '?'} hardware on transmit (tx-hw-drops)`,
    meaning: 'Frames the NIC dropped on transmit after the driver handed them over (errors and rate limits included): the driver frees the skb as sent, so kfree_skb does not see the drop. Never add it to tx-hw-drop-errors or tx-hw-drop-ratelimits, which it contains.',
    countedIn: QSTATS_IN('tx-hw-drops'),
    check: QSTATS_CHECK,
  },
  {
    file: 'qstats', counter: 'tx-hw-drop-errors',
    line: (n, i) => `${plural(n, 'packet', 'packets')} dropped by NIC ${i ?? '?'}: transmit error (tx-hw-drop-errors)`,
    meaning: 'Frames the NIC dropped on transmit because they were invalid or malformed (the spec\'s definition).',
    countedIn: QSTATS_IN('tx-hw-drop-errors'),
    check: ['dmesg for the driver\'s errors', ...QSTATS_CHECK],
  },
  {
    file: 'qstats', counter: 'tx-hw-drop-ratelimits',
    line: (n, i) => `${plural(n, 'packet', 'packets')} dropped by NIC ${i ?? '?'}: transmit rate limit (tx-hw-drop-ratelimits)`,
    meaning: 'Frames the device dropped on transmit because a rate or bandwidth limit was exceeded (a cloud vNIC\'s or a virtio device\'s policer).',
    countedIn: QSTATS_IN('tx-hw-drop-ratelimits'),
    check: ['the instance type\'s or device\'s network limits (bandwidth, packets per second)', ...QSTATS_CHECK.slice(0, 2)],
  },
  {
    file: 'conntrack', counter: 'drop',
    line: (n) => `${plural(n, 'packet', 'packets')} dropped: conntrack table full (conntrack drop)`,
    meaning: 'conntrack could not make an entry for a new flow (the table at nf_conntrack_max and nothing evictable), so the packet was dropped: the cause behind a NETFILTER_DROP (kubernetes#71261).',
    countedIn: 'nf_conntrack_in() / __nf_conntrack_alloc() (net/stat/nf_conntrack drop, per netns, per CPU)',
    check: NF,
  },
  {
    file: 'conntrack', counter: 'insert_failed',
    line: (n) => `${plural(n, 'packet', 'packets')} dropped: conntrack insert failed (conntrack insert_failed)`,
    meaning: 'A new conntrack entry could not be inserted at confirmation (a clash with an entry another CPU inserted first, e.g. parallel UDP DNS queries through NAT, or a full table): the packet is dropped as NETFILTER_DROP.',
    countedIn: '__nf_conntrack_confirm() (net/stat/nf_conntrack insert_failed)',
    check: [...NF, 'DNS over UDP through NAT: single-request-reopen, NodeLocal DNSCache'],
  },
  {
    file: 'conntrack', counter: 'early_drop',
    line: (n) => `${plural(n, 'conntrack entry', 'conntrack entries')} evicted early: table full (conntrack early_drop)`,
    meaning: 'The table was full and conntrack evicted an unconfirmed or unassured entry to make room: not a packet drop itself, but a sign the table is at its limit.',
    countedIn: 'early_drop() in __nf_conntrack_alloc() (net/stat/nf_conntrack early_drop)',
    check: NF,
  },
];

export function counterInfo(file: CounterFile, counter: CounterName): CounterInfo | undefined {
  return TABLE.find((c) => c.file === file && c.counter === counter);
}

/**
 * Entries for an explain query: the counter name in any case, `conntrack_drop` / `conntrack.drop` for the
 * conntrack columns; `rx_dropped` and `tx_dropped` name both the interface and the NIC counter.
 */
export function lookupCounter(query: string): CounterInfo[] {
  const q = query.trim().toLowerCase().replace(/^(tcpext|conntrack)[._:]?/, '');
  return TABLE.filter((c) => c.counter.toLowerCase() === q);
}

/** Every counter kdrop reads (docs, doctor). */
export const COUNTER_TABLE: readonly CounterInfo[] = TABLE;
