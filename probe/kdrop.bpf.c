// SPDX-License-Identifier: GPL-2.0
/*
 * kdrop's kernel probe: counts skb:kfree_skb per (location, reason, protocol, netns) with count and byte
 * sums in one of two per-CPU hashes, chosen by the epoch the loader flips in the mmapped control array.
 * A drop of the same key as the previous one on its CPU is counted in that CPU's slot (`last`) instead,
 * without a hash lookup; the loader adds the slot to the key's total when it drains the epoch (count()).
 * Three entry points, cheapest first; the loader loads only the one that attaches:
 *   tp_btf/kfree_skb      typed arguments, skb fields read by direct BTF loads
 *   raw_tp/kfree_skb      untyped arguments, probe reads
 *   tracepoint/skb/kfree_skb  the classic tracepoint record
 * Failed map updates (map full) are counted in `lost`, never silent. Where the kernel has qdisc:qdisc_drop
 * (7.x), a fourth program joins it, so that a qdisc drop is counted with the qdisc's own reason.
 *
 * Samples: after counting, a per-key token bucket (GCRA in an LRU hash, then a global one) decides
 * whether this drop also goes out as an example into the `samples` ring buffer: the key, L3/L4 parsed
 * from the packet, the interface, the length and optionally a kernel stack id. Counts never depend on
 * it. A drop that is not sampled costs, most of the time, a jiffies read, a compare and two adds on
 * this CPU's own copy of the key's state (in its slot, else in its counts value; see sample()).
 * The loader sets the rates in .rodata before loading (const volatile: off means the code is gone).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "kdrop.h"

char LICENSE[] SEC("license") = "GPL";

struct counts_map {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KDROP_DEFAULT_MAX_KEYS);
	__type(key, struct kdrop_key);
	__type(value, struct kdrop_val);
};

struct counts_map counts0 SEC(".maps");
struct counts_map counts1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct kdrop_ctl);
} ctl SEC(".maps");

/* The kernel's HZ (from its config; 0 when libbpf cannot read it: then ktime is the clock). */
extern unsigned long CONFIG_HZ __kconfig __weak;
const volatile __u64 sample_rate_milli = 1000;           /* per key: samples per 1000 s (1/s) */
const volatile __u64 sample_burst = 3;
const volatile __u64 global_interval_ns = 1000000ULL;    /* all keys: 1000 samples/s */
const volatile __u64 global_burst = 1000;
const volatile __u8 samples_on = 1;
const volatile __u8 stacks_on = 0;
/* kdrop-probe --floor (the bench): every program returns at once, counting nothing, so that bpf_stats show
 * what an empty program on this attach point costs on this machine (the clock reads of the stats included). */
const volatile __u8 floor_only = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KDROP_SAMPLE_KEYS);
	__type(key, struct kdrop_key);
	__type(value, struct kdrop_bucket);
} buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kdrop_bucket);
} global_bucket SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, KDROP_RINGBUF_BYTES);
} samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kdrop_sample_stats);
} sample_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, KDROP_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, KDROP_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/* This CPU's last key per epoch parity (see struct kdrop_slot). The loader reads and clears the slot of
 * the epoch it drains, once no program can still be writing it. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct kdrop_slot);
} last SEC(".maps");

/* Adds n drops of `bytes` to the key in `map`; returns this CPU's value of the key (NULL when the map is
 * full: then the n drops are counted in `lost`). */
static __always_inline struct kdrop_val *add(void *map, struct kdrop_key *k, __u64 n, __u64 bytes)
{
	struct kdrop_val *v = bpf_map_lookup_elem(map, k);
	if (v) {
		/* Per-CPU value, and the kernel never nests one program on a CPU: plain adds are exact. */
		v->count += n;
		v->bytes += bytes;
		return v;
	}
	struct kdrop_val init = { .count = n, .bytes = bytes };
	long err = bpf_map_update_elem(map, k, &init, BPF_NOEXIST);
	if (err == 0)
		return bpf_map_lookup_elem(map, k);
	/* Another CPU inserted the key meanwhile: add to our CPU's slot. */
	v = bpf_map_lookup_elem(map, k);
	if (v) {
		v->count += n;
		v->bytes += bytes;
		return v;
	}
	__u32 zero = 0;
	__u64 *l = bpf_map_lookup_elem(&lost, &zero);
	if (l)
		*l += n;
	return NULL;
}

/*
 * Kernels before 5.12 refuse every BPF atomic but add (`BPF_STX uses reserved fields`), even in dead code.
 * For them the Makefile builds this file again with KDROP_NO_ATOMICS (kdrop-pre512.bpf.o, which it checks
 * holds no other atomic) and the loader picks that object where the kernel refuses compare-and-swap.
 * Only sampling differs there: a bucket's update is a plain store (see take()); counts are the same.
 */

/* An atomic add whose result is not used. In the pre-5.12 object written out as the one atomic those kernels
 * take (BPF_ATOMIC | BPF_ADD without BPF_FETCH), so that no compiler version emits a fetching add there. */
#ifdef KDROP_NO_ATOMICS
#define ADD_ATOMIC(ptr, val) asm volatile("lock *(u64 *)(%0 + 0) += %1" : : "r"(ptr), "r"((__u64)(val)) : "memory")
#else
#define ADD_ATOMIC(ptr, val) __sync_fetch_and_add(ptr, val)
#endif

/* GCRA: may a sample go out now? Only a sample that goes out writes (compare-and-swap, so two CPUs
 * never both take the last token; without atomics a plain store, so CPUs that read the same tat in the
 * same instant may each take it: at most one extra sample per racing CPU). */
static __always_inline int take(__u64 *tat, __u64 now, __u64 interval, __u64 burst)
{
	__u64 old = *(volatile __u64 *)tat;
	if (now + (burst - 1) * interval < old)
		return 0;
	__u64 next = (old > now ? old : now) + interval;
#ifdef KDROP_NO_ATOMICS
	*(volatile __u64 *)tat = next;
	return 1;
#else
	return __sync_val_compare_and_swap(tat, old, next) == old;
#endif
}

/* Takes a bucket's suppressed count, leaving 0 (xchg; without atomics, a read and an atomic add of its
 * negation, which loses no other CPU's add either; two CPUs sampling the key in the same instant may both
 * take the same count and leave it negative: then nothing is taken until the adds bring it above 0, so
 * the sum over the samples still comes out right). */
static __always_inline __u64 take_suppressed(__u64 *suppressed)
{
#ifdef KDROP_NO_ATOMICS
	__s64 n = *(volatile __s64 *)suppressed;
	if (n <= 0)
		return 0;
	ADD_ATOMIC(suppressed, -n);
	return (__u64)n;
#else
	return __sync_lock_test_and_set(suppressed, 0);
#endif
}

static __always_inline void parse_l4(struct kdrop_sample *s, unsigned char *l4)
{
	__u8 h[14];

	if (s->l4proto == IPPROTO_TCP) {
		if (bpf_probe_read_kernel(h, 14, l4))
			return;
		s->tcp_flags = h[13];
	} else if (s->l4proto == IPPROTO_UDP || s->l4proto == IPPROTO_UDPLITE) {
		if (bpf_probe_read_kernel(h, 4, l4))
			return;
	} else if (s->l4proto == IPPROTO_ICMP || s->l4proto == 58 /* IPPROTO_ICMPV6 */) {
		if (bpf_probe_read_kernel(h, 2, l4))
			return;
		s->icmp_type = h[0];
		s->icmp_code = h[1];
		return;
	} else {
		return;
	}
	s->sport = ((__u16)h[0] << 8) | h[1];
	s->dport = ((__u16)h[2] << 8) | h[3];
}

/* L3/L4 from skb->head + network_header / transport_header. transport_header is ~0 before the IP layer
 * set it, and equals network_header right after receive: then it comes from the IP header length. */
static __always_inline void parse(struct kdrop_sample *s, struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	__u8 ver = 0;

	if (!head || nh == (__u16)~0U)
		return;
	if (s->protocol != 0 && s->protocol != 0x0800 && s->protocol != 0x86dd)
		return;
	if (bpf_probe_read_kernel(&ver, 1, head + nh))
		return;
	ver >>= 4;
	if (ver == 4) {
		struct iphdr ip;
		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
			return;
		s->family = 4;
		s->l4proto = ip.protocol;
		__builtin_memcpy(s->saddr, &ip.saddr, 4);
		__builtin_memcpy(s->daddr, &ip.daddr, 4);
		if (ip.frag_off & bpf_htons(0x1fff))
			return; /* not the first fragment: no L4 header */
		if (th == (__u16)~0U || th == nh)
			th = nh + ip.ihl * 4;
	} else if (ver == 6) {
		struct ipv6hdr ip6;
		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return;
		s->family = 6;
		s->l4proto = ip6.nexthdr;
		__builtin_memcpy(s->saddr, &ip6.saddr, 16);
		__builtin_memcpy(s->daddr, &ip6.daddr, 16);
		if (th == (__u16)~0U || th == nh)
			th = nh + sizeof(ip6);
	} else {
		return;
	}
	parse_l4(s, head + th);
}

static __always_inline void emit(void *ctx, struct sk_buff *skb, struct kdrop_key *k, __u32 len, __u64 suppressed,
				 struct kdrop_sample_stats *st)
{
	struct kdrop_sample *s = bpf_ringbuf_reserve(&samples, sizeof(*s), 0);
	if (!s) {
		st->rb_fail += 1;
		return;
	}
	__builtin_memset(s, 0, sizeof(*s));
	s->ktime = bpf_ktime_get_ns();
	s->location = k->location;
	s->reason = k->reason;
	s->netns = k->netns;
	s->protocol = k->protocol;
	s->len = len;
	s->stackid = -1;
	s->suppressed = suppressed > 0xffffffffULL ? 0xffffffffU : (__u32)suppressed;
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	if (dev) {
		s->ifindex = BPF_CORE_READ(dev, ifindex);
		BPF_CORE_READ_STR_INTO(&s->ifname, dev, name);
	}
	parse(s, skb);
	if (stacks_on) {
		s->stackid = bpf_get_stackid(ctx, &stacks, 0);
		if (s->stackid < 0)
			st->stack_fail += 1;
	}
	bpf_ringbuf_submit(s, 0);
	st->emitted += 1;
}

/*
 * Fast path: this CPU's copy of the key's "no sample before" time, in the slot or counts value it just
 * updated (`v`), says no: one clock read (jiffies, a memory load) and two adds. Otherwise the shared
 * bucket decides (and this CPU's copy is refreshed from it), then the global one. Every 64th suppressed drop of a key on a
 * CPU also looks up the shared bucket, to add this CPU's count to the key's `suppressed`.
 */
static __always_inline void sample(void *ctx, struct sk_buff *skb, struct kdrop_key *k, __u32 len, struct kdrop_val *v)
{
	__u32 zero = 0;
	__u64 hz = CONFIG_HZ;
	__u64 now = hz ? bpf_jiffies64() << 10 : bpf_ktime_get_ns();
	struct kdrop_sample_stats *st = bpf_map_lookup_elem(&sample_stats, &zero);

	if (!st)
		return;
	if (v && now < v->not_before) {
		st->suppressed += 1;
		/* This CPU's count dies with the counts entry (and the slot) at the next rotation: hand it to
		 * the shared bucket every 64 drops (at most 63 per CPU and key go unreported per read interval). */
		if (++v->suppressed >= 64) {
			struct kdrop_bucket *b = bpf_map_lookup_elem(&buckets, k);
			if (b)
				ADD_ATOMIC(&b->suppressed, v->suppressed);
			v->suppressed = 0;
		}
		return;
	}
	if (sample_rate_milli == 0)
		return;
	__u64 interval = hz ? (hz << 10) * 1000 / sample_rate_milli : 1000000000000ULL / sample_rate_milli;
	__u64 span = (sample_burst - 1) * interval;
	__u64 mine = v ? v->suppressed : 0;
	struct kdrop_bucket *b = bpf_map_lookup_elem(&buckets, k);
	__u64 tat;
	int ok;

	if (v)
		v->suppressed = 0;
	if (b) {
		ok = take(&b->tat, now, interval, sample_burst);
		tat = b->tat;
	} else {
		struct kdrop_bucket init = { .tat = now + interval, .suppressed = 0 };
		ok = bpf_map_update_elem(&buckets, k, &init, BPF_NOEXIST) == 0;
		tat = init.tat;
	}
	if (v)
		v->not_before = tat > span ? tat - span : 0;
	if (ok) {
		struct kdrop_bucket *g = bpf_map_lookup_elem(&global_bucket, &zero);
		ok = g && take(&g->tat, bpf_ktime_get_ns(), global_interval_ns, global_burst);
	}
	if (!ok) {
		st->suppressed += 1;
		if (b)
			ADD_ATOMIC(&b->suppressed, mine + 1);
		return;
	}
	emit(ctx, skb, k, len, (b ? take_suppressed(&b->suppressed) : 0) + mine, st);
}

/*
 * qdisc:qdisc_drop (Linux 7.x): __tcf_kfree_skb_list() fires it with the qdisc's own reason (enum
 * qdisc_drop_reason, subsystem QDISC: 0x3xxxx) and then, on the same CPU, frees the skb with the core
 * reason QDISC_DROP. kdrop_qdisc_drop keeps the last one per CPU; count() hands its reason to the kfree_skb
 * of that same skb, once. The loader loads it only where the kernel has the event (qdisc_join).
 */
const volatile __u8 qdisc_join = 0;

struct qdisc_pending {
	__u64 skb;
	__u32 reason;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct qdisc_pending);
} qdisc_pending SEC(".maps");

SEC("tp_btf/qdisc_drop")
int kdrop_qdisc_drop(unsigned long long *ctx)
{
	/* trace_qdisc_drop(q, txq, dev, skb, reason): only the skb's address and the reason are kept. */
	__u32 zero = 0;
	struct qdisc_pending *pd = bpf_map_lookup_elem(&qdisc_pending, &zero);

	if (pd) {
		pd->skb = ctx[3];
		pd->reason = (__u32)ctx[4];
	}
	return 0;
}

#define HAS_QDISC_DROP_REASON bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_QDISC_DROP)

/* The qdisc's own reason for a QDISC_DROP free of the skb the last qdisc_drop on this CPU named. */
static __always_inline __u32 qdisc_reason(struct sk_buff *skb, __u32 reason)
{
	__u32 zero = 0;
	struct qdisc_pending *pd;

	if (!HAS_QDISC_DROP_REASON || reason != bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_QDISC_DROP))
		return reason;
	pd = bpf_map_lookup_elem(&qdisc_pending, &zero);
	if (!pd || pd->skb == 0)
		return reason;
	if (pd->skb == (__u64)skb)
		reason = pd->reason;
	pd->skb = 0; /* used at most once */
	return reason;
}

static __always_inline int same_key(const struct kdrop_key *a, const struct kdrop_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2];
}

/* A drop of another key than this CPU's slot holds: the slot's counts so far go to the hash (only when
 * the slot's key had more than one drop in a row: its first was counted in the hash directly), with its
 * sample state, and this drop is counted in the hash. Returns this CPU's value of the new key. */
static __always_inline struct kdrop_val *move(void *map, struct kdrop_slot *s, struct kdrop_key *k, __u32 len)
{
	if (s->val.count > 0) {
		struct kdrop_val *v = add(map, &s->key, s->val.count, s->val.bytes);
		if (v) {
			v->not_before = s->val.not_before;
			v->suppressed = s->val.suppressed;
		}
		s->val.count = 0;
		s->val.bytes = 0;
	}
	return add(map, k, 1, len);
}

/*
 * Counts the drop in counts<epoch & 1> through this CPU's slot of that parity: the same key as this CPU's
 * previous drop costs two adds in the slot, no hash lookup (a flood repeats one key); another key moves
 * the slot to it (see move(): a drop of keys that alternate drop by drop costs one hash lookup, as it
 * would without the slot). Sampling then works on the slot's copy of the key's sample state.
 */
static __always_inline void count(void *ctx, struct sk_buff *skb, __u64 location, __u32 reason, __u16 protocol,
				  __u32 netns, __u32 len)
{
	__u32 zero = 0;
	struct kdrop_ctl *c = bpf_map_lookup_elem(&ctl, &zero);
	if (!c)
		return;
	if (qdisc_join)
		reason = qdisc_reason(skb, reason);
	struct kdrop_key k = {
		.location = location, .reason = reason, .netns = netns, .protocol = protocol, .pad1 = 0, .pad2 = 0,
	};
	__u32 par = c->epoch & 1;
	struct kdrop_slot *s = bpf_map_lookup_elem(&last, &par);
	struct kdrop_val *v;
	int moved = 0;

	if (!s)
		return;
	if (same_key(&s->key, &k)) {
		s->val.count += 1;
		s->val.bytes += len;
		v = &s->val;
	} else {
		moved = 1;
		v = par ? move(&counts1, s, &k, len) : move(&counts0, s, &k, len);
	}
	if (samples_on)
		sample(ctx, skb, &k, len, v);
	if (moved && v) {
		s->key = k;
		s->val.not_before = v->not_before;
		s->val.suppressed = v->suppressed;
	}
}

/* The reason and rx_sk arguments exist only on newer kernels (5.17, 6.11): ask this kernel's BTF. */
#define HAS_REASON bpf_core_field_exists(struct trace_event_raw_kfree_skb, reason)
#define HAS_RX_SK bpf_core_field_exists(struct trace_event_raw_kfree_skb, rx_sk)

SEC("tp_btf/kfree_skb")
int BPF_PROG(kdrop_tp_btf, struct sk_buff *skb, void *location)
{
	__u32 reason = 0;
	__u32 netns = 0;
	struct net_device *dev = skb->dev;

	if (floor_only)
		return 0;
	if (HAS_REASON)
		reason = (__u32)ctx[2];
	if (dev) {
		netns = dev->nd_net.net->ns.inum;
	} else {
		struct sock *sk = skb->sk;
		if (!sk && HAS_RX_SK)
			sk = (struct sock *)ctx[3];
		if (sk)
			netns = sk->__sk_common.skc_net.net->ns.inum;
	}
	count(ctx, skb, (__u64)location, reason, bpf_ntohs(skb->protocol), netns, skb->len);
	return 0;
}

static __always_inline __u32 netns_of(struct sk_buff *skb, struct sock *rx_sk)
{
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	if (dev)
		return BPF_CORE_READ(dev, nd_net.net, ns.inum);
	struct sock *sk = BPF_CORE_READ(skb, sk);
	if (!sk)
		sk = rx_sk;
	if (sk)
		return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	return 0;
}

SEC("raw_tp/kfree_skb")
int kdrop_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx->args[0];
	__u32 reason = 0;
	struct sock *rx_sk = NULL;

	if (floor_only)
		return 0;
	if (HAS_REASON)
		reason = (__u32)ctx->args[2];
	if (HAS_RX_SK)
		rx_sk = (struct sock *)ctx->args[3];
	count(ctx, skb, ctx->args[1], reason, bpf_ntohs(BPF_CORE_READ(skb, protocol)), netns_of(skb, rx_sk), BPF_CORE_READ(skb, len));
	return 0;
}

SEC("tracepoint/skb/kfree_skb")
int kdrop_tracepoint(struct trace_event_raw_kfree_skb *ctx)
{
	struct sk_buff *skb = ctx->skbaddr;
	__u32 reason = 0;
	struct sock *rx_sk = NULL;

	if (floor_only)
		return 0;
	if (HAS_REASON)
		reason = (__u32)BPF_CORE_READ(ctx, reason);
	if (HAS_RX_SK)
		rx_sk = BPF_CORE_READ(ctx, rx_sk);
	/* The record's protocol is already in host order. */
	count(ctx, skb, (__u64)ctx->location, reason, ctx->protocol, netns_of(skb, rx_sk), BPF_CORE_READ(skb, len));
	return 0;
}
