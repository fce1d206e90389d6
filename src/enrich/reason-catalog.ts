/**
 * What every drop reason means, in one table: its class (is it a fault, policy, congestion or routine?),
 * a short meaning, where the kernel raises it, and what to check next. `kdrop explain`, the
 * `kdrop.reason.class` attribute, `watch --class` and docs/reasons.md (generated: npm run docs:reasons)
 * all read this table. Names are the kernel's (enum skb_drop_reason without SKB_DROP_REASON_; subsystem
 * reasons such as OVS_DROP_* as their own enums spell them). Codes are never kept here: they drift
 * between kernels and are read from the running kernel.
 */

/**
 * - `policy`: something configured to drop did so (netfilter, tc, XDP, BPF, LSM, rp_filter).
 * - `congestion`: a queue, buffer or memory limit was hit (socket buffers, backlogs, qdiscs, rings).
 * - `error`: the packet or the path is wrong (checksums, headers, routes, neighbours, no listener).
 * - `benign`: routine housekeeping (socket close, queue purge, stale TCP segments).
 * - `unknown`: the kernel does not say, or kdrop has no notes on the reason.
 */
export const REASON_CLASSES = ['policy', 'congestion', 'error', 'benign', 'unknown'] as const;
export type ReasonClass = (typeof REASON_CLASSES)[number];

/** Classes hidden by `kdrop watch` unless --all (or named in --class / --reason). */
export const DEFAULT_HIDDEN_CLASSES: readonly ReasonClass[] = ['benign'];

export interface ReasonInfo {
  /** Kernel name without SKB_DROP_REASON_ (core) or the subsystem enumerator (OVS_DROP_METER). */
  readonly name: string;
  readonly class: ReasonClass;
  /** One paragraph: what the kernel means by it. */
  readonly meaning: string;
  /** Where the kernel raises it (functions, files). */
  readonly raisedIn: string;
  /** What to look at next: commands, sysctls, counters. */
  readonly check: readonly string[];
  /** The subsystem for subsystem reasons (openvswitch, mac80211, qdisc); absent for core reasons. */
  readonly subsystem?: string;
}

type Entry = [name: string, cls: ReasonClass, meaning: string, raisedIn: string, check: readonly string[]];

const NSTAT_TCP = 'nstat -az | grep -i tcp (TcpExt counters of the same name)';
const SS_MEM = 'ss -tmpi (per-socket rmem/wmem, drops)';
const NEIGH = ['ip neigh show (FAILED / INCOMPLETE entries)', 'nstat -az | grep -i -e arp -e neigh', 'sysctl net.ipv4.neigh.default.gc_thresh3 net.ipv4.neigh.default.unres_qlen_bytes'];
const NFT = ['nft list ruleset (drop/reject rules; add counters or "meta nftrace set 1")', 'iptables-save -c / ip6tables-save -c (rule counters)', 'conntrack -S (insert_failed, drop)'];
/** kdrop's own conntrack counters say which cause lies behind a NETFILTER_DROP (src/enrich/counter-catalog.ts). */
const CONNTRACK_COUNTERS = 'kdrop watch --reason NETFILTER_DROP: the conntrack counters beside it (kdrop explain drop | insert_failed | early_drop; metrics kdrop.conntrack.*): a full table or failed inserts';
const TC = ['tc -s filter show dev DEV ingress|egress', 'tc -s qdisc show dev DEV', 'bpftool net show (tc BPF programs)'];
const QDISC = ['tc -s qdisc show (drops, overlimits, backlog per qdisc)', 'ip -s link show DEV (TX dropped)', 'check the qdisc limits (limit, flow_limit, memory_limit) and the link rate'];
const TCP_SIG = ['ip tcp_metrics / the application\'s TCP-MD5 or TCP-AO keys (setsockopt TCP_MD5SIG, TCP_AO_ADD_KEY)', 'compare the keys on both peers (BGP sessions are the usual users)', NSTAT_TCP];
const CSUM = ['ethtool -k DEV (rx/tx checksum offload)', 'ethtool -S DEV and ip -s link (errors on the link: cabling, NIC, virtual device bugs)', 'nstat -az | grep -i csum'];
const FRAG = ['nstat -az | grep -i -e reasm -e frag', 'sysctl net.ipv4.ipfrag_time net.ipv4.ipfrag_high_thresh net.ipv4.ipfrag_max_dist', 'look for a path MTU problem making senders fragment (ip route get ADDR; tracepath ADDR)'];
const ROUTE = ['ip route get ADDR [from SRC iif DEV] (the route the kernel picks)', 'ip rule show; ip route show table all', 'nstat -az | grep -i -e InNoRoutes -e OutNoRoutes -e InAddrErrors'];
const NDISC = ['ip -6 neigh show', 'tcpdump -ni DEV icmp6 (the offending neighbour discovery packets)', 'nstat -az | grep -i Icmp6'];
const TUNNEL = ['ip -d link show DEV (tunnel parameters, VNI, remote, external mode)', 'bridge fdb show dev DEV (VXLAN forwarding entries)', 'check the peer sends the encapsulation this device expects'];
const CAN = ['ip -d -s link show DEV (CAN bus state, errors)', 'candump -e DEV', 'check frame type vs device mode (CAN, CAN FD, CAN XL)'];

const CORE: readonly Entry[] = [
  ['NOT_SPECIFIED', 'unknown', 'The kernel freed the packet as dropped without naming a reason: plain kfree_skb() or a path not yet converted to kfree_skb_reason(). The function is the only clue.', 'any kfree_skb() caller without a reason (drivers, tunnels, many protocol paths)', ['look at kdrop.function / the location in `kdrop watch` and read that function', 'kdrop trace --stack (with the bpf source) for the call path', 'a sudden growth after a kernel or CNI upgrade points at the component upgraded']],
  ['NO_SOCKET', 'error', 'No socket wanted the packet: nothing listens on the destination port (UDP/TCP), or the connection it belongs to no longer exists. The kernel answers with ICMP port unreachable (UDP) or a RST (TCP). Port scans and late packets after a close also land here.', '__udp4_lib_rcv, __udp6_lib_rcv, tcp_v4_rcv, tcp_v6_rcv, raw and SCTP input', ['ss -tulpn (is the service listening, on the right address and port?)', 'check the Service/endpoint and the client\'s target port', 'nstat -az | grep -e NoPorts -e InErrs']],
  ['SOCKET_CLOSE', 'benign', 'The socket was closed while packets were still queued on it (data the application never read); they are freed with this reason. Routine on every busy host.', 'tcp_close / __tcp_close, inet_csk_listen_stop, unix_release_sock, udp destroy paths', ['nothing, unless the application closes sockets with unread data by mistake (ss -tn state close-wait)']],
  ['SOCKET_FILTER', 'policy', 'A socket filter (classic BPF or eBPF attached with SO_ATTACH_FILTER / SO_ATTACH_BPF, or a packet socket filter) rejected the packet.', 'sk_filter_trim_cap (tcp_filter, udp_queue_rcv_one_skb, raw, packet sockets)', ['ss -0 -p / bpftool prog show (socket filter programs and their owners)', 'the application or agent that attached the filter (tcpdump, DHCP clients, service meshes)']],
  ['SOCKET_RCVBUFF', 'congestion', 'The socket receive buffer was full: the application does not read fast enough for the incoming rate (typical for UDP).', 'sock_queue_rcv_skb, __udp_enqueue_schedule_skb, unix and netlink receive', [SS_MEM, 'sysctl net.core.rmem_default net.core.rmem_max (and the application\'s SO_RCVBUF)', 'nstat -az | grep -e RcvbufErrors -e InErrors', 'is the reading process CPU-starved or throttled (cgroup cpu.stat nr_throttled)?']],
  ['UNIX_DISCONNECT', 'benign', 'A Unix datagram or seqpacket socket re-connected or disconnected and the packets queued for the old peer were purged.', 'unix_dgram_connect / unix_dgram_disconnected (net/unix/af_unix.c)', ['nothing, unless an application reconnects in a loop']],
  ['UNIX_SKIP_OOB', 'benign', 'An out-of-band (MSG_OOB) byte of a Unix stream socket was skipped because the reader did not ask for it.', 'unix_stream_read_generic (net/unix/af_unix.c)', ['nothing, unless the application relies on MSG_OOB']],
  ['PKT_TOO_SMALL', 'error', 'The packet is shorter than the headers it claims to carry (truncated IP, UDP or TCP header).', 'ip_rcv_core, ipv6_rcv, __udp4_lib_rcv, tcp_v4_rcv/tcp_v6_rcv (pskb_may_pull failures)', ['tcpdump -ni DEV (who sends runt packets?)', 'ethtool -S DEV (NIC/driver errors)', 'nstat -az | grep -e InHdrErrors -e InTruncatedPkts']],
  ['TCP_CSUM', 'error', 'A TCP segment failed its checksum. Points at corruption on the path, a NIC or virtual device with broken checksum offload, or a middlebox rewriting packets.', 'tcp_v4_rcv / tcp_v6_rcv (tcp_checksum_complete)', CSUM],
  ['UDP_CSUM', 'error', 'A UDP datagram failed its checksum.', '__udp4_lib_rcv, __udp6_lib_rcv, udp_queue_rcv_one_skb', CSUM],
  ['NETFILTER_DROP', 'policy', 'A netfilter rule dropped the packet: nftables/iptables DROP or REJECT, a conntrack INVALID drop, kube-proxy / CNI network policy chains.', 'nf_hook_slow (older kernels) / nft_do_chain (6.x), ebtables, conntrack helpers', [...NFT, CONNTRACK_COUNTERS]],
  ['OTHERHOST', 'benign', 'The frame was addressed to another host\'s MAC (seen because the device is promiscuous or a bridge/hub flooded it), so IP does not take it.', 'ip_rcv_core, ipv6_rcv (skb->pkt_type == PACKET_OTHERHOST)', ['ip link show DEV (PROMISC flag: tcpdump, bridges, VPN software)', 'switch/bridge flooding because of unknown unicast (bridge fdb show)']],
  ['IP_CSUM', 'error', 'The IPv4 header checksum is wrong.', 'ip_rcv_core', CSUM],
  ['IP_INHDR', 'error', 'The IP header is invalid: wrong version, header length, total length, or IPv6 payload length.', 'ip_rcv_core, ipv6_rcv, ip6_rcv_core', ['tcpdump -ni DEV -vv (who sends malformed packets?)', 'nstat -az | grep InHdrErrors', 'a tunnel or NAT device rewriting headers wrongly']],
  ['IP_RPFILTER', 'policy', 'Reverse path filtering rejected the packet: the route back to its source does not go out of the interface it came in on (strict rp_filter), or there is no route back at all (loose).', 'fib_validate_source (ip_route_input_slow), nft/iptables rpfilter match', ['sysctl net.ipv4.conf.all.rp_filter net.ipv4.conf.DEV.rp_filter (the maximum of all and DEV applies)', 'ip route get SRC from DST iif DEV', 'asymmetric routing (multiple uplinks, policy routing, CNI routes)']],
  ['UNICAST_IN_L2_MULTICAST', 'policy', 'A unicast IP packet arrived in a link-layer multicast or broadcast frame, which RFC 1122 says to drop (when the sysctl asks for it).', 'ip_rcv_finish_core / ip6_rcv_core', ['sysctl net.ipv4.conf.all.drop_unicast_in_l2_multicast net.ipv6.conf.all.drop_unicast_in_l2_multicast', 'tcpdump -eni DEV (which sender uses a broadcast MAC)']],
  ['XFRM_POLICY', 'policy', 'An IPsec (xfrm) policy check failed: the packet did not match the policy required for it (unencrypted where encryption is required, or no matching state).', 'xfrm4_policy_check / xfrm6_policy_check callers (tcp_v4_rcv, udp, raw), __xfrm_policy_check', ['ip xfrm policy; ip xfrm state', 'cat /proc/net/xfrm_stat (XfrmInNoPols, XfrmInPolBlock, ...)', 'the IPsec daemon\'s (strongSwan, libreswan, CNI encryption) status']],
  ['IP_NOPROTO', 'error', 'No handler for the IP protocol number of the packet (e.g. SCTP or GRE without the module loaded).', 'ip_protocol_deliver_rcu, ip6_protocol_deliver_rcu', ['tcpdump -ni DEV \'not (tcp or udp or icmp or icmp6)\'', 'is the needed module loaded (sctp, ip_gre, ...)?', 'nstat -az | grep InUnknownProtos']],
  ['PROTO_MEM', 'congestion', 'The protocol\'s memory limit was reached (tcp_mem / udp_mem pressure): the socket could not be charged for the packet.', '__udp_enqueue_schedule_skb, tcp_data_queue / tcp_try_rmem_schedule, sk_rmem_schedule callers', ['cat /proc/net/sockstat (mem vs the limits)', 'sysctl net.ipv4.tcp_mem net.ipv4.udp_mem', 'nstat -az | grep -e TCPMemoryPressures -e MemErrors']],
  ['TCP_AUTH_HDR', 'error', 'The TCP segment carries a bad authentication option: both MD5 and AO, or a malformed one.', 'tcp_inbound_hash (tcp_v4_rcv / tcp_v6_rcv)', TCP_SIG],
  ['TCP_MD5NOTFOUND', 'error', 'A TCP-MD5 signature was expected for this peer but the segment has none.', 'tcp_inbound_md5_hash / tcp_inbound_hash', TCP_SIG],
  ['TCP_MD5UNEXPECTED', 'error', 'The segment has a TCP-MD5 signature but no key is configured for this peer.', 'tcp_inbound_md5_hash / tcp_inbound_hash', TCP_SIG],
  ['TCP_MD5FAILURE', 'error', 'The TCP-MD5 signature does not match (wrong key on one side).', 'tcp_inbound_md5_hash / tcp_inbound_hash', TCP_SIG],
  ['TCP_AONOTFOUND', 'error', 'TCP-AO (RFC 5925) is required for this peer but the segment has no AO option.', 'tcp_inbound_ao_hash / tcp_inbound_hash', TCP_SIG],
  ['TCP_AOUNEXPECTED', 'error', 'The segment has a TCP-AO option but no AO key is configured for this peer.', 'tcp_inbound_ao_hash / tcp_inbound_hash', TCP_SIG],
  ['TCP_AOKEYNOTFOUND', 'error', 'The TCP-AO key id the segment names is not configured.', 'tcp_inbound_ao_hash', TCP_SIG],
  ['TCP_AOFAILURE', 'error', 'The TCP-AO MAC does not match.', 'tcp_inbound_ao_hash', TCP_SIG],
  ['SOCKET_BACKLOG', 'congestion', 'The socket backlog (packets queued while the socket is owned by a user thread) is full.', 'sk_add_backlog callers: tcp_add_backlog, udp (encap), __sk_receive_skb', [SS_MEM, 'nstat -az | grep TCPBacklogDrop', 'sysctl net.core.rmem_max (the backlog limit follows sk_rcvbuf + sk_sndbuf)', 'is the owning thread slow (long sendmsg/recvmsg calls, CPU starvation)?']],
  ['TCP_FLAGS', 'error', 'The TCP flags are invalid for the connection\'s state (e.g. no ACK on a segment that needs one, SYN+FIN).', 'tcp_rcv_state_process, tcp_validate_incoming, tcp_rcv_synsent_state_process', ['tcpdump -ni DEV \'tcp[tcpflags] != 0\' for the flow', NSTAT_TCP]],
  ['TCP_ABORT_ON_DATA', 'benign', 'Data arrived for a socket that was already closed by the application (or is in FIN_WAIT after close); the kernel resets the connection (TcpExtTCPAbortOnData).', 'tcp_rcv_state_process', ['nstat -az | grep TCPAbortOnData', 'an application that closes while the peer still sends (e.g. HTTP without reading the body)']],
  ['TCP_ZEROWINDOW', 'congestion', 'The receiver\'s window is zero (its receive buffer is full), so the segment cannot be accepted.', 'tcp_data_queue', [SS_MEM, 'nstat -az | grep -e TCPZeroWindowDrop -e TCPRcvQDrop', 'is the receiving application reading?']],
  ['TCP_OLD_DATA', 'benign', 'The segment only carries data already received (a retransmission the receiver did not need).', 'tcp_data_queue', ['nstat -az | grep -e TCPDSACK -e TCPLostRetransmit (many spurious retransmits hint at a latency or reordering problem)']],
  ['TCP_OVERWINDOW', 'error', 'The segment\'s data lies beyond the advertised receive window.', 'tcp_data_queue', [NSTAT_TCP, 'a middlebox or a broken peer stack (window scaling stripped? check tcp_window_scaling on both ends)']],
  ['TCP_OFOMERGE', 'benign', 'An out-of-order segment was already fully covered by data in the out-of-order queue.', 'tcp_data_queue_ofo', ['nstat -az | grep TCPOFOMerge (reordering on the path)']],
  ['TCP_RFC7323_PAWS', 'error', 'Protection Against Wrapped Sequences rejected the segment: its TCP timestamp is older than the last one seen on the connection. Common behind NAT with clients sharing an address, or with timestamp-randomizing middleboxes.', 'tcp_validate_incoming (tcp_paws_discard)', ['nstat -az | grep PAWS', 'sysctl net.ipv4.tcp_timestamps', 'NAT in front of many clients (SNAT, kube-proxy masquerade)']],
  ['TCP_RFC7323_PAWS_ACK', 'benign', 'PAWS rejected a pure ACK with an old timestamp: typically an old or reordered ACK, harmless to the connection.', 'tcp_validate_incoming', ['nstat -az | grep PAWS']],
  ['TCP_RFC7323_TW_PAWS', 'error', 'PAWS rejected a segment for a connection in TIME_WAIT (timestamp older than the last one seen).', 'tcp_timewait_state_process', ['nstat -az | grep -e PAWS -e TW', 'sysctl net.ipv4.tcp_tw_reuse', 'clients behind NAT reusing ports quickly']],
  ['TCP_RFC7323_TSECR', 'error', 'The timestamp echo reply (TSecr) of the segment is invalid for the connection.', 'tcp_validate_incoming / tcp_rcv_synsent_state_process', [NSTAT_TCP, 'a middlebox rewriting TCP timestamps']],
  ['TCP_LISTEN_OVERFLOW', 'congestion', 'The listening socket\'s accept queue is full: the application does not accept() connections fast enough, and the SYN or the final ACK is dropped.', 'tcp_conn_request, tcp_v4_syn_recv_sock / tcp_v6_syn_recv_sock', ['ss -ltn (Recv-Q vs Send-Q = accept queue length vs backlog)', 'sysctl net.core.somaxconn net.ipv4.tcp_max_syn_backlog (and the application\'s listen backlog)', 'nstat -az | grep -e ListenOverflows -e ListenDrops']],
  ['TCP_OLD_SEQUENCE', 'benign', 'The segment is entirely before the receive window (old duplicate).', 'tcp_validate_incoming (tcp_sequence)', ['nstat -az | grep -e TCPDSACKOldSent (retransmissions on the path)']],
  ['TCP_INVALID_SEQUENCE', 'error', 'The segment\'s sequence number is not acceptable for the connection (outside the window).', 'tcp_validate_incoming (tcp_sequence)', [NSTAT_TCP, 'a peer or middlebox with a desynchronized connection (conntrack, load balancers)']],
  ['TCP_INVALID_END_SEQUENCE', 'error', 'The segment\'s end sequence number is beyond the receive window.', 'tcp_validate_incoming (tcp_sequence)', [NSTAT_TCP]],
  ['TCP_INVALID_ACK_SEQUENCE', 'error', 'The segment acknowledges a sequence number that is not acceptable (e.g. an ACK for a SYN-ACK we did not send).', 'tcp_rcv_state_process, tcp_check_req', [NSTAT_TCP, 'conntrack or a load balancer sending segments of another connection']],
  ['TCP_RESET', 'benign', 'A RST segment was processed (the connection was reset by the peer) or an out-of-window RST was rejected; the RST itself is freed with this reason.', 'tcp_validate_incoming, tcp_rcv_synsent_state_process', ['nstat -az | grep -e EstabResets -e TCPAbortOn', 'which peer resets (tcpdump -ni DEV \'tcp[tcpflags] & tcp-rst != 0\')']],
  ['TCP_INVALID_SYN', 'error', 'An unexpected SYN arrived on an established or synchronized connection.', 'tcp_validate_incoming', [NSTAT_TCP, 'clients reusing a 4-tuple quickly (NAT port reuse)']],
  ['TCP_CLOSE', 'benign', 'The segment arrived for a socket in CLOSE state.', 'tcp_rcv_state_process', ['nothing, unless it grows with errors on the application side']],
  ['TCP_FASTOPEN', 'error', 'A TCP Fast Open request could not be handled (child socket creation failed); the data in the SYN is dropped.', 'tcp_rcv_state_process / tcp_check_req (fast open request sockets)', ['sysctl net.ipv4.tcp_fastopen', 'nstat -az | grep TCPFastOpen']],
  ['TCP_OLD_ACK', 'benign', 'The ACK is older than the last one processed (reordered), though within the window.', 'tcp_ack', ['nothing on its own; reordering on the path if it is large']],
  ['TCP_TOO_OLD_ACK', 'benign', 'The ACK is far older than anything outstanding.', 'tcp_ack', ['nothing on its own; check for desynchronized connections if it is large']],
  ['TCP_ACK_UNSENT_DATA', 'error', 'The segment acknowledges data that was never sent.', 'tcp_ack', [NSTAT_TCP, 'a middlebox rewriting sequence numbers, or a desynchronized connection']],
  ['TCP_OFO_QUEUE_PRUNE', 'congestion', 'Out-of-order data was pruned from the queue because the socket ran out of receive memory.', 'tcp_prune_ofo_queue', [SS_MEM, 'nstat -az | grep -e OfoPruned -e PruneCalled -e RcvPruned', 'sysctl net.ipv4.tcp_rmem']],
  ['TCP_OFO_DROP', 'benign', 'A segment waiting in the out-of-order queue turned out to carry only data already in the receive queue (a retransmission covered it first), so it was freed when the queue was moved.', 'tcp_ofo_queue', ['nothing on its own; much of it means reordering plus retransmissions on the path (nstat -az | grep -e TCPOFOQueue -e TCPDSACK)']],
  ['IP_OUTNOROUTES', 'error', 'No route for the packet\'s destination on output.', 'ip_route_output paths (ip_queue_xmit, ip6_dst_lookup), ip_forward', ROUTE],
  ['BPF_CGROUP_EGRESS', 'policy', 'A cgroup BPF program (BPF_CGROUP_INET_EGRESS) refused the packet.', 'ip_finish_output / ip6_finish_output (BPF_CGROUP_RUN_PROG_INET_EGRESS)', ['bpftool cgroup tree (programs per cgroup)', 'the CNI or security agent that attached them (Cilium, Calico eBPF, ...)']],
  ['IPV6DISABLED', 'policy', 'IPv6 is disabled on the device the packet came in on (or on the host).', 'ipv6_rcv / ip6_rcv_core, ip6_output', ['sysctl net.ipv6.conf.all.disable_ipv6 net.ipv6.conf.DEV.disable_ipv6', 'who still sends IPv6 here (router advertisements, dual-stack clients)?']],
  ['NEIGH_CREATEFAIL', 'error', 'A neighbour (ARP/NDP) entry could not be created for the next hop, typically because the neighbour table is full.', 'ip_finish_output2, ip6_finish_output2 (__neigh_create failure)', NEIGH],
  ['NEIGH_FAILED', 'error', 'Neighbour resolution (ARP/NDP) for the next hop failed: the host or gateway does not answer.', 'neigh_resolve_output / __neigh_event_send, neigh_invalidate', NEIGH],
  ['NEIGH_QUEUEFULL', 'congestion', 'Too many packets are waiting for neighbour resolution of the same next hop; the oldest are dropped.', '__neigh_event_send', [...NEIGH, 'sysctl net.ipv4.neigh.DEV.unres_qlen_bytes']],
  ['NEIGH_DEAD', 'error', 'The neighbour entry was being destroyed (device going down, table flush) when the packet needed it.', '__neigh_event_send, neigh_flush_dev', ['ip monitor neigh link (flapping devices or routes)', ...NEIGH]],
  ['NEIGH_HH_FILLFAIL', 'error', 'The cached link-layer header for the neighbour could not be built.', 'neigh_hh_output / neigh_resolve_output (dev_hard_header failure)', ['ip -d link show DEV (device type)', ...NEIGH]],
  ['TC_EGRESS', 'policy', 'A tc (traffic control) egress action or classifier dropped the packet: a clsact BPF program returned TC_ACT_SHOT, or a filter action "drop".', 'sch_handle_egress / tcf_classify on egress', TC],
  ['SECURITY_HOOK', 'policy', 'A Linux Security Module (SELinux, AppArmor, Smack, BPF LSM) refused the packet.', 'security_sock_rcv_skb (sk_filter_trim_cap), security hooks in socket receive paths', ['ausearch -m avc / journalctl -k | grep -i -e avc -e apparmor', 'bpftool prog show type lsm']],
  ['QDISC_DROP', 'congestion', 'A queueing discipline dropped the packet on output (its queue or limit was full, or a tc action told it to).', 'qdisc_drop / __dev_queue_xmit (enqueue failures), qdisc enqueue functions', QDISC],
  ['QDISC_OVERLIMIT', 'congestion', 'The qdisc\'s queue limit was exceeded.', 'qdisc enqueue functions (fq, fq_codel, pfifo, ...)', QDISC],
  ['QDISC_CONGESTED', 'congestion', 'The qdisc\'s active queue management decided the flow is congested (e.g. CoDel drop).', 'fq_codel / codel / pie enqueue and dequeue', QDISC],
  ['CAKE_FLOOD', 'congestion', 'The cake qdisc dropped the packet to protect against a flood (COBALT/BLUE).', 'cake_enqueue / cobalt_should_drop (sch_cake)', QDISC],
  ['FQ_BAND_LIMIT', 'congestion', 'The fq qdisc\'s per-band packet limit was reached.', 'fq_enqueue (sch_fq)', QDISC],
  ['FQ_HORIZON_LIMIT', 'congestion', 'The fq qdisc dropped a packet whose departure time is beyond the horizon.', 'fq_enqueue (sch_fq)', [...QDISC, 'tc qdisc show (horizon, horizon_drop) and the sender\'s SO_TXTIME use']],
  ['FQ_FLOW_LIMIT', 'congestion', 'The fq qdisc\'s per-flow packet limit (flow_limit) was reached.', 'fq_enqueue (sch_fq)', QDISC],
  ['CPU_BACKLOG', 'congestion', 'The packet could not be queued to the per-CPU input backlog: the backlog (netdev_max_backlog) was full because the CPU cannot process received packets fast enough (RPS, veth, loopback and tunnels go through it), or the RPS flow limit cut a heavy flow.', 'enqueue_to_backlog (netif_rx, RPS)', ['cat /proc/net/softnet_stat (2nd column: drops per CPU; the flow-limit count is a later column)', 'sysctl net.core.netdev_max_backlog net.core.flow_limit_cpu_bitmap', 'RPS/RFS and IRQ spreading (/sys/class/net/DEV/queues/rx-*/rps_cpus)']],
  ['XDP', 'policy', 'An XDP program dropped the packet (XDP_DROP, or XDP_ABORTED on error).', 'do_xdp_generic / netif_receive_generic_xdp, veth and tun XDP paths', ['ip link show (xdp/xdpgeneric attached programs)', 'bpftool net show', 'bpftool prog show (the owner: load balancer, DDoS filter, CNI)']],
  ['TC_INGRESS', 'policy', 'A tc ingress action or classifier dropped the packet (clsact BPF TC_ACT_SHOT, police, or "drop").', 'sch_handle_ingress / tcf_classify on ingress', TC],
  ['UNHANDLED_PROTO', 'benign', 'No protocol handler takes the frame\'s ethertype (e.g. LLDP or other L2 protocols on a host that does not run them). Routine on most networks.', '__netif_receive_skb_core', ['tcpdump -eni DEV \'not ip and not ip6 and not arp\' (which protocol)']],
  ['SKB_CSUM', 'error', 'Computing the packet\'s checksum in software failed.', 'skb_checksum_help and callers', CSUM],
  ['SKB_GSO_SEG', 'error', 'Segmenting a GSO packet failed.', 'validate_xmit_skb / skb_gso_segment', ['ethtool -k DEV (gso/tso offloads)', 'tunnels or virtual devices passing unexpected GSO types']],
  ['SKB_UCOPY_FAULT', 'error', 'Copying packet data from user space failed (bad buffer passed by the writer of a tun/tap or packet socket).', 'tun_get_user, tap_get_user, skb_copy_datagram_from_iter callers', ['the process writing to the tun/tap device (VPN, VM monitor)']],
  ['DEV_HDR', 'error', 'The device-specific header or metadata is invalid (e.g. a virtio-net header on a tun/tap device).', 'tun_get_user, tap_get_user, virtio_net_hdr_to_skb callers', ['the VM monitor / VPN writing to the device', 'ethtool -k DEV']],
  ['DEV_READY', 'error', 'The device is not ready: down, without carrier, or detached (e.g. the other end of a veth or tun is gone).', 'veth_xmit, tun_net_xmit, __dev_queue_xmit, dev_forward_skb', ['ip link show DEV (state, NO-CARRIER, peer)', 'a pod or VM that went away while traffic still flowed']],
  ['FULL_RING', 'congestion', 'The device\'s ring (e.g. a tun/tap or veth ptr_ring) is full: the reader does not keep up.', 'tun_net_xmit, tap_handle_frame, veth_xdp_xmit', ['ip -s link show DEV', 'the process reading the tun/tap device (VPN, VM) and its CPU', 'txqueuelen of the device']],
  ['NOMEM', 'congestion', 'A memory allocation for the packet failed.', 'many (skb clone/copy/expand failures, defragmentation)', ['grep -e MemFree -e MemAvailable /proc/meminfo; dmesg (page allocation failures)', 'cgroup memory limits of the sender/receiver', 'sysctl vm.min_free_kbytes']],
  ['HDR_TRUNC', 'error', 'A header could not be extracted: the packet is shorter than the header the tunnel or protocol expects.', 'tunnel receive paths (gre_rcv, ip_tunnel_rcv), skb header pulls', ['tcpdump -ni DEV (who sends truncated tunnel packets)', ...TUNNEL]],
  ['TAP_FILTER', 'policy', 'A BPF filter attached to a tun/tap device (TUNSETFILTEREBPF) dropped the packet.', 'tun_net_xmit, tap_handle_frame', ['the VM monitor or VPN that attached the filter']],
  ['TAP_TXFILTER', 'policy', 'The tun/tap device\'s transmit filter (TUNSETTXFILTER, MAC address filter) dropped the packet.', 'tun_net_xmit (run_filter)', ['the VM monitor configuring the device\'s MAC filter']],
  ['ICMP_CSUM', 'error', 'An ICMP message failed its checksum.', 'icmp_rcv, icmpv6_rcv', CSUM],
  ['INVALID_PROTO', 'error', 'The packet breaks its protocol\'s rules (RFC 1122 and friends), e.g. an ICMP timestamp request sent to a broadcast address.', 'icmp_rcv and other protocol validity checks', ['tcpdump -ni DEV icmp (who sends it)', 'nstat -az | grep -i InErrors']],
  ['IP_INADDRERRORS', 'error', 'The destination address is invalid or unreachable for input (e.g. a non-local address arrived with forwarding off, or a blackhole/unreachable route).', 'ip_route_input_slow / ip_error, ip6_pkt_drop, ip6_forward', [...ROUTE, 'sysctl net.ipv4.ip_forward net.ipv6.conf.all.forwarding']],
  ['IP_INNOROUTES', 'error', 'No route matched the packet on input (forwarding path).', 'ip_route_input_slow / ip_error, ip6_pkt_drop', ROUTE],
  ['IP_LOCAL_SOURCE', 'error', 'The packet arrived from outside with one of this host\'s own addresses as source (a loop or spoofing).', 'fib_validate_source (ip_route_input_slow)', ['ip addr (duplicate addresses between hosts/pods?)', 'bridged loops (bridge link; STP)', ...ROUTE]],
  ['IP_INVALID_SOURCE', 'error', 'The source address is invalid (martian: multicast, broadcast, zeronet, loopback from outside).', 'ip_route_input_slow, ip_route_input_mc, ip6_rcv_core', ['sysctl net.ipv4.conf.all.log_martians=1, then dmesg', 'tcpdump -ni DEV (the sender)']],
  ['IP_LOCALNET', 'policy', 'A 127.0.0.0/8 address arrived on or was routed through a non-loopback device, which the kernel refuses unless route_localnet is set.', 'ip_route_input_slow', ['sysctl net.ipv4.conf.DEV.route_localnet (kube-proxy sets it for NodePort on localhost)']],
  ['IP_INVALID_DEST', 'error', 'The destination address is invalid (e.g. zeronet or a loopback address from outside, IPv6 multicast scope errors).', 'ip_route_input_slow, ip6_rcv_core', ['tcpdump -ni DEV (the sender)', ...ROUTE]],
  ['PKT_TOO_BIG', 'error', 'The packet is bigger than the path MTU and may not be fragmented (DF set, or IPv6).', 'ip_forward / ip_fragment, ip6_forward / ip6_fragment, tunnel xmit', ['ip link show (MTU of every device on the path, overlay overhead)', 'tracepath ADDR', 'ICMP "fragmentation needed" / "packet too big" blocked by a firewall?']],
  ['DUP_FRAG', 'error', 'A duplicate IP fragment was received.', 'ip_frag_queue / ip6_frag_queue', FRAG],
  ['FRAG_REASM_TIMEOUT', 'error', 'Reassembly timed out: not all fragments of a packet arrived in time (a fragment was lost).', 'ip_expire / ip6_frag_expire', FRAG],
  ['FRAG_TOO_FAR', 'error', 'Too many other fragments arrived from the same source between two fragments of a packet (ipfrag_max_dist).', 'ip_frag_too_far (ip_frag_queue)', FRAG],
  ['TCP_MINTTL', 'policy', 'The TTL / hop limit is below the socket\'s IP_MINTTL / IPV6_MINHOPCOUNT (GTSM, RFC 5082: BGP sessions).', 'tcp_v4_rcv / tcp_v6_rcv', ['the application\'s IP_MINTTL setting (BGP "ttl-security")', 'the number of hops to the peer']],
  ['IPV6_BAD_EXTHDR', 'error', 'An IPv6 extension header is malformed or not allowed.', 'ipv6_parse_hopopts, ipv6_destopt_rcv, ipv6_rthdr_rcv, ip6_parse_tlv', ['tcpdump -ni DEV ip6 -vv', 'nstat -az | grep Ip6InHdrErrors']],
  ['IPV6_NDISC_FRAG', 'error', 'A neighbour discovery message arrived fragmented, which RFC 6980 forbids.', 'ndisc_rcv', NDISC],
  ['IPV6_NDISC_HOP_LIMIT', 'error', 'A neighbour discovery message has a hop limit other than 255 (it did not come from the link).', 'ndisc_rcv', NDISC],
  ['IPV6_NDISC_BAD_CODE', 'error', 'A neighbour discovery message has a non-zero ICMPv6 code.', 'ndisc_rcv', NDISC],
  ['IPV6_NDISC_BAD_OPTIONS', 'error', 'A neighbour discovery message has invalid options.', 'ndisc_recv_ns, ndisc_recv_na, ndisc_router_discovery, ndisc_redirect_rcv', NDISC],
  ['IPV6_NDISC_NS_OTHERHOST', 'benign', 'A neighbour solicitation for an address that is not this host\'s: routine on shared links.', 'ndisc_recv_ns', ['nothing, unless expected addresses are missing (ip -6 addr)']],
  ['QUEUE_PURGE', 'benign', 'A queue of packets was purged as a whole (socket or device teardown, qdisc reset).', 'skb_queue_purge_reason callers (socket destroy, unix, netlink, qdisc reset)', ['nothing, unless it comes with device resets (dmesg)']],
  ['TC_COOKIE_ERROR', 'error', 'A tc action cookie (used by skip_sw/offload bookkeeping) could not be found or validated.', 'tcf_classify (cls_api)', TC],
  ['PACKET_SOCK_ERROR', 'congestion', 'A packet (AF_PACKET) socket could not take its copy of the packet (receive buffer full or allocation failure). Only the copy for the capturing program is lost, not the packet itself.', 'packet_rcv, tpacket_rcv (net/packet/af_packet.c)', ['which process captures (ss -0 -p; tcpdump, DHCP clients, monitoring agents)', 'its buffer size (tcpdump -B) and CPU']],
  ['TC_CHAIN_NOTFOUND', 'error', 'A tc "goto chain" action pointed at a chain that does not exist.', 'tcf_classify (cls_api)', TC],
  ['TC_RECLASSIFY_LOOP', 'error', 'tc reclassification looped too many times.', 'tcf_classify (cls_api)', TC],
  ['VXLAN_INVALID_HDR', 'error', 'A VXLAN packet has an invalid header (flags, reserved bits, or unsupported extensions).', 'vxlan_rcv', TUNNEL],
  ['VXLAN_VNI_NOT_FOUND', 'error', 'No VXLAN device is configured for the VNI the packet carries.', 'vxlan_rcv', TUNNEL],
  ['MAC_INVALID_SOURCE', 'error', 'The inner source MAC address is invalid (multicast/zero) in a tunnel or bridge.', 'vxlan_rcv (vxlan_set_mac), bridge input', TUNNEL],
  ['VXLAN_ENTRY_EXISTS', 'error', 'A VXLAN forwarding entry for the source already exists and may not be replaced (static or sticky entry).', 'vxlan_snoop (vxlan_rcv)', TUNNEL],
  ['NO_TX_TARGET', 'error', 'A tunnel has no destination to send the packet to (no remote and no forwarding entry).', 'vxlan_xmit', TUNNEL],
  ['IP_TUNNEL_ECN', 'error', 'ECN decapsulation failed: the inner packet is not ECN-capable while the outer is marked CE (RFC 6040).', 'ip_tunnel_rcv, ip6_tnl_rcv, vxlan_rcv (INET_ECN_decapsulate)', ['sysctl net.ipv4.tcp_ecn', 'which encapsulating peer marks CE', ...TUNNEL]],
  ['TUNNEL_TXINFO', 'error', 'A tunnel in external (collect_md) mode got a packet without tunnel metadata to send it with.', 'vxlan_xmit, geneve_xmit, ip_tunnel / ip6_tnl external mode', ['the BPF program or OVS flow that should set the tunnel key (bpf_skb_set_tunnel_key)', ...TUNNEL]],
  ['LOCAL_MAC', 'policy', 'The source MAC address is one of this host\'s own (a loop through a tunnel or bridge).', 'vxlan_rcv, bridge input', ['bridge fdb show; a loop in the overlay topology']],
  ['ARP_PVLAN_DISABLE', 'policy', 'An ARP request was not proxied back out of the same port because proxy_arp_pvlan is off.', 'arp_process', ['sysctl net.ipv4.conf.DEV.proxy_arp_pvlan net.ipv4.conf.DEV.proxy_arp']],
  ['MAC_IEEE_MAC_CONTROL', 'benign', 'An IEEE 802.3 MAC control frame (e.g. a PAUSE frame) reached the stack; it is not for protocols above.', 'bridge input (br_handle_frame)', ['ethtool -a DEV and ethtool -S DEV (flow control: many PAUSE frames mean a congested peer)']],
  ['BRIDGE_INGRESS_STP_STATE', 'policy', 'The bridge port is not in a forwarding state (STP blocking/listening/learning/disabled).', 'br_handle_frame', ['bridge link show (port state)', 'STP topology changes (bridge monitor)']],
  ['CAN_RX_INVALID_FRAME', 'error', 'A CAN frame is invalid (length/flags) for a classic CAN device.', 'can_rcv', CAN],
  ['CANFD_RX_INVALID_FRAME', 'error', 'A CAN FD frame is invalid for the device.', 'canfd_rcv', CAN],
  ['CANXL_RX_INVALID_FRAME', 'error', 'A CAN XL frame is invalid for the device.', 'canxl_rcv', CAN],
  ['PFMEMALLOC', 'congestion', 'The packet was allocated from emergency memory reserves (pfmemalloc) and the socket is not one allowed to use them (only swap-over-network sockets are): the host is under severe memory pressure.', 'sk_filter_trim_cap, __netif_receive_skb_core', ['grep -e MemFree -e MemAvailable /proc/meminfo', 'sysctl vm.min_free_kbytes', 'dmesg (page allocation failures)']],
  ['DUALPI2_STEP_DROP', 'congestion', 'The dualpi2 qdisc dropped the packet at its step threshold (L4S queue too long).', 'dualpi2 enqueue (sch_dualpi2)', QDISC],
  ['PSP_INPUT', 'policy', 'The PSP (PSP Security Protocol) policy check on input failed: a packet that must be PSP-protected was not, or its association is wrong.', 'psp receive paths (tcp_v4_rcv / tcp_v6_rcv psp checks)', ['the PSP device and association state (ynl psp family)', 'the application\'s PSP setup']],
  ['PSP_OUTPUT', 'policy', 'The PSP policy check on output failed.', 'psp transmit paths (validate_xmit_skb)', ['the PSP device and association state (ynl psp family)']],
  ['RECURSION_LIMIT', 'error', 'A dead loop on a virtual device: the transmit path recursed too deeply (stacked devices, or a tunnel whose underlay routes into itself).', '__dev_queue_xmit / dev_xmit_recursion, tunnel xmit', ['ip -d link show (devices stacked on each other)', 'routes pointing a tunnel\'s underlay into the tunnel itself']],
  ['MAX', 'unknown', 'Not a reason: the end-of-enum marker, listed by the kernel\'s table. A drop should never carry it.', 'none', ['nothing; report it to kdrop if it shows up']],
  // Added in kernels after 6.18 (and in some 6.12/6.18 builds through backports): from the reason lists of
  // the VM matrix's kernels (test/fixtures/kernel/reasons-*.txt) and this machine's 6.18.44 build.
  ['SKB_BAD_GSO', 'error', 'A GSO packet whose GSO metadata (type, size, segment count) does not fit the packet: the kernel refuses it as malformed rather than segmenting it. Usually a virtual device (tun/tap, virtio-net, a tunnel) or a BPF program handing the stack inconsistent offload metadata.', 'skb_gso_segment / validate_xmit_skb checks, virtio_net_hdr_to_skb callers (tun, tap, packet sockets)', ['ethtool -k DEV (gso/tso/ufo offloads)', 'the VMM or application writing virtio-net headers (tun/tap, vhost)', 'BPF programs that adjust packet sizes (bpf_skb_adjust_room)']],
  ['QDISC_BURST_DROP', 'congestion', 'Too many packets were queued to a qdisc at once by concurrent senders (a burst over the limit the kernel allows before the qdisc lock is taken), so the excess was dropped.', '__dev_xmit_skb (the lockless defer list in front of the qdisc)', ['sysctl net.core.qdisc_max_burst (where present)', 'tc -s qdisc show dev DEV', 'spread senders over more TX queues (multiqueue qdisc, XPS)']],
  ['MACVLAN_BROADCAST_BACKLOG', 'congestion', 'The macvlan broadcast/multicast queue was full: broadcast and multicast frames are delivered to macvlan devices from a work queue whose length is limited.', 'macvlan_broadcast_enqueue (drivers/net/macvlan.c)', ['ip -d link show DEV (bcqueuelen of the macvlan lower device)', 'ip -s link show (RX dropped on the macvlan devices)', 'the source of the broadcast or multicast storm (tcpdump -eni DEV broadcast or multicast)']],
  ['IPVLAN_MULTICAST_BACKLOG', 'congestion', 'The ipvlan multicast/broadcast backlog was full: such frames are delivered to ipvlan devices from a work queue whose length is limited.', 'ipvlan_multicast_enqueue (drivers/net/ipvlan/ipvlan_core.c)', ['ip -s link show (RX dropped on the ipvlan devices)', 'the source of the multicast or broadcast storm (tcpdump -eni DEV multicast)']],
  ['IPV6_TOO_MANY_EXTHDRS', 'error', 'An IPv6 packet carried more extension headers than the kernel accepts in one packet, so it was dropped before parsing them all (a guard against packets crafted to exhaust the parser).', 'IPv6 input extension header parsing (ip6_protocol_deliver_rcu, ipv6 exthdr handlers)', ['tcpdump -ni DEV ip6 -vv (the sender of the long header chain)', 'nstat -az | grep Ip6InHdrErrors']],
  ['SKB_RX_HEADROOM', 'error', 'A received packet had less headroom in front of its data than the receive path needed, and room could not be made for it. kdrop\'s notes come from the reason\'s name and where such checks live; the running kernel\'s include/net/dropreason-core.h comment is authoritative.', 'receive paths that push headers or reallocate head room (skb_cow_head / pskb_expand_head failures in drivers, tunnels and XDP/BPF)', ['kdrop watch --reason SKB_RX_HEADROOM (the function that drops) and kdrop trace --stack', 'the NIC driver or virtual device on that path (ethtool -i DEV), and recent driver or kernel updates', 'memory pressure at the time (grep -e MemAvailable /proc/meminfo; nstat -az | grep -i mem)']],
  // Names of older kernels (renamed or removed since), so kernels of that generation are covered too.
  ['PTYPE_ABSENT', 'benign', 'Older name (5.18 to 6.0) of UNHANDLED_PROTO: no protocol handler takes the frame\'s ethertype.', '__netif_receive_skb_core', ['tcpdump -eni DEV \'not ip and not ip6 and not arp\' (which protocol)']],
  ['VXLAN_NO_REMOTE', 'error', 'Older name of NO_TX_TARGET: a VXLAN device has no remote to send the packet to.', 'vxlan_xmit', TUNNEL],
  ['QDISC_EGRESS', 'congestion', 'Older name (5.18 to 6.7) of QDISC_DROP: a queueing discipline dropped the packet on output.', '__dev_queue_xmit / qdisc enqueue', QDISC],
];

/** Open vSwitch (enum ovs_drop_reason, net/openvswitch/drop.h, since 6.6). */
const OVS: readonly Entry[] = [
  ['OVS_DROP_LAST_ACTION', 'policy', 'The OVS flow\'s actions ended without an output: the datapath drops the packet as the flow says (an implicit drop).', 'ovs_execute_actions (net/openvswitch/actions.c)', ['ovs-dpctl dump-flows / ovs-appctl dpctl/dump-flows (actions:drop)', 'ovs-ofctl dump-flows BRIDGE (the OpenFlow rule behind it)']],
  ['OVS_DROP_ACTION_ERROR', 'error', 'An OVS action failed while executing (e.g. a push/pop or set action on a packet it does not fit).', 'do_execute_actions (net/openvswitch/actions.c)', ['ovs-appctl dpctl/dump-flows', 'ovs-vswitchd log']],
  ['OVS_DROP_EXPLICIT', 'policy', 'An explicit drop action in the OVS flow.', 'do_execute_actions (OVS_ACTION_ATTR_DROP)', ['ovs-ofctl dump-flows BRIDGE (the rule with actions=drop)']],
  ['OVS_DROP_EXPLICIT_WITH_ERROR', 'error', 'An explicit drop action that carries an error from translating the flow (ovs-vswitchd could not build the actions).', 'do_execute_actions (OVS_ACTION_ATTR_DROP with an error)', ['ovs-vswitchd log (xlate errors)', 'ovs-appctl coverage/show']],
  ['OVS_DROP_METER', 'congestion', 'An OVS meter (rate limit) dropped the packet.', 'ovs_meter_execute', ['ovs-ofctl -O OpenFlow13 meter-stats BRIDGE']],
  ['OVS_DROP_RECURSION_LIMIT', 'error', 'OVS action execution recursed too deeply.', 'ovs_execute_actions', ['ovs-appctl dpctl/dump-flows (recirculation loops)']],
  ['OVS_DROP_DEFERRED_LIMIT', 'congestion', 'Too many deferred OVS actions were queued.', 'add_deferred_actions', ['ovs-appctl dpctl/dump-flows (flows with many clone/sample actions)']],
  ['OVS_DROP_FRAG_L2_TOO_LONG', 'error', 'A fragment could not be re-fragmented because its L2 header is too long.', 'ovs_fragment', ['MTUs of the OVS ports and tunnels']],
  ['OVS_DROP_FRAG_INVALID_PROTO', 'error', 'A packet to fragment is neither IPv4 nor IPv6.', 'ovs_fragment', ['MTUs of the OVS ports and tunnels']],
  ['OVS_DROP_CONNTRACK', 'error', 'OVS conntrack processing failed (ct action error).', 'ovs_ct_execute', ['conntrack -S', 'ovs-appctl dpctl/dump-conntrack']],
  ['OVS_DROP_IP_TTL', 'error', 'The OVS dec_ttl action found the TTL expired.', 'execute_dec_ttl', ['a forwarding loop through OVS (ovs-appctl ofproto/trace)']],
];

/** Subsystem families without per-reason notes: the class comes from the family. */
interface Family {
  readonly prefix: string;
  readonly subsystem: string;
  readonly class: ReasonClass;
  readonly meaning: string;
  readonly raisedIn: string;
  readonly check: readonly string[];
}

const FAMILIES: readonly Family[] = [
  {
    prefix: 'RX_DROP_',
    subsystem: 'mac80211',
    class: 'error',
    meaning: 'mac80211 (Wi-Fi) dropped a received frame it could not use (decryption or integrity failure, duplicate, malformed or unexpected frame); the name says which check failed.',
    raisedIn: 'ieee80211_rx_handlers (net/mac80211/rx.c), reasons in net/mac80211/drop.h',
    check: ['iw dev DEV station dump (per-station rx drops)', 'journalctl -k | grep -i ieee80211', 'the access point\'s security settings (keys, PMF)'],
  },
  {
    prefix: 'QDISC_DROP_',
    subsystem: 'qdisc',
    class: 'congestion',
    meaning: 'A queueing discipline dropped the packet; the name says which limit or algorithm decided it.',
    raisedIn: 'qdisc enqueue/dequeue functions (net/sched/sch_*.c)',
    check: QDISC,
  },
  {
    prefix: 'OVS_DROP_',
    subsystem: 'openvswitch',
    class: 'unknown',
    meaning: 'Open vSwitch dropped the packet for a reason kdrop has no notes on.',
    raisedIn: 'net/openvswitch',
    check: ['ovs-appctl dpctl/dump-flows', 'ovs-vswitchd log'],
  },
];

function info([name, cls, meaning, raisedIn, check]: Entry, subsystem?: string): ReasonInfo {
  return subsystem === undefined ? { name, class: cls, meaning, raisedIn, check } : { name, class: cls, meaning, raisedIn, check, subsystem };
}

const BY_NAME: ReadonlyMap<string, ReasonInfo> = new Map([
  ...CORE.map((e) => [e[0], info(e)] as const),
  ...OVS.map((e) => [e[0], info(e, 'openvswitch')] as const),
]);

/** Every reason kdrop has notes on, core first, in the table's order. */
export function catalogEntries(): readonly ReasonInfo[] {
  return [...BY_NAME.values()];
}

/** Subsystem families (mac80211, qdisc, openvswitch) for names not listed one by one. */
export function catalogFamilies(): readonly Family[] {
  return FAMILIES;
}

/** Normalizes `no_socket`, `SKB_DROP_REASON_NO_SOCKET` to the kernel's name form (`NO_SOCKET`). */
export function normalizeReasonName(text: string): string {
  return text.trim().toUpperCase().replace(/^SKB_DROP_REASON_/, '');
}

/** kdrop's notes on a reason name (normalized first): a listed reason, a subsystem family, or undefined. */
export function lookupReason(name: string): ReasonInfo | undefined {
  const n = normalizeReasonName(name);
  const listed = BY_NAME.get(n);
  if (listed !== undefined) return listed;
  if (n.startsWith('UNKNOWN_')) return undefined;
  const family = FAMILIES.find((f) => n.startsWith(f.prefix));
  if (family === undefined) return undefined;
  return { name: n, class: family.class, meaning: family.meaning, raisedIn: family.raisedIn, check: family.check, subsystem: family.subsystem };
}

/** The class of a reason name; `unknown` for names kdrop has no notes on (and UNKNOWN_<code>). */
export function reasonClass(name: string): ReasonClass {
  return lookupReason(name)?.class ?? 'unknown';
}

export function isReasonClass(text: string): text is ReasonClass {
  return (REASON_CLASSES as readonly string[]).includes(text);
}

/** The class of a drop entry's reason; null when the kernel has no reason field. */
export function reasonClassOf(reason: string | null): ReasonClass | null {
  return reason === null ? null : reasonClass(reason);
}
