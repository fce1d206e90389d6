// SPDX-License-Identifier: GPL-2.0
/*
 * kdrop's kernel probe: counts skb:kfree_skb per (location, reason, protocol, netns) with count and byte
 * sums in one of two per-CPU hashes, chosen by the epoch the loader flips in the mmapped control array.
 * Three entry points, cheapest first; the loader loads only the one that attaches:
 *   tp_btf/kfree_skb      typed arguments, skb fields read by direct BTF loads
 *   raw_tp/kfree_skb      untyped arguments, probe reads
 *   tracepoint/skb/kfree_skb  the classic tracepoint record
 * Failed map updates (map full) are counted in `lost`, never silent.
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

static __always_inline void add(void *map, struct kdrop_key *k, __u32 len)
{
	struct kdrop_val *v = bpf_map_lookup_elem(map, k);
	if (v) {
		/* Per-CPU value, and the kernel never nests one program on a CPU: plain adds are exact. */
		v->count += 1;
		v->bytes += len;
		return;
	}
	struct kdrop_val init = { .count = 1, .bytes = len };
	long err = bpf_map_update_elem(map, k, &init, BPF_NOEXIST);
	if (err == 0)
		return;
	/* Another CPU inserted the key meanwhile: add to our CPU's slot. */
	v = bpf_map_lookup_elem(map, k);
	if (v) {
		v->count += 1;
		v->bytes += len;
		return;
	}
	__u32 zero = 0;
	__u64 *l = bpf_map_lookup_elem(&lost, &zero);
	if (l)
		*l += 1;
}

static __always_inline void count(__u64 location, __u32 reason, __u16 protocol, __u32 netns, __u32 len)
{
	__u32 zero = 0;
	struct kdrop_ctl *c = bpf_map_lookup_elem(&ctl, &zero);
	if (!c)
		return;
	struct kdrop_key k = {
		.location = location, .reason = reason, .netns = netns, .protocol = protocol, .pad1 = 0, .pad2 = 0,
	};
	if (c->epoch & 1)
		add(&counts1, &k, len);
	else
		add(&counts0, &k, len);
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
	count((__u64)location, reason, bpf_ntohs(skb->protocol), netns, skb->len);
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

	if (HAS_REASON)
		reason = (__u32)ctx->args[2];
	if (HAS_RX_SK)
		rx_sk = (struct sock *)ctx->args[3];
	count(ctx->args[1], reason, bpf_ntohs(BPF_CORE_READ(skb, protocol)), netns_of(skb, rx_sk), BPF_CORE_READ(skb, len));
	return 0;
}

SEC("tracepoint/skb/kfree_skb")
int kdrop_tracepoint(struct trace_event_raw_kfree_skb *ctx)
{
	struct sk_buff *skb = ctx->skbaddr;
	__u32 reason = 0;
	struct sock *rx_sk = NULL;

	if (HAS_REASON)
		reason = (__u32)BPF_CORE_READ(ctx, reason);
	if (HAS_RX_SK)
		rx_sk = BPF_CORE_READ(ctx, rx_sk);
	/* The record's protocol is already in host order. */
	count((__u64)ctx->location, reason, ctx->protocol, netns_of(skb, rx_sk), BPF_CORE_READ(skb, len));
	return 0;
}
