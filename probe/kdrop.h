/* Shared between the BPF program and the loader: the map key, value and control block. */
#ifndef KDROP_H
#define KDROP_H

struct kdrop_key {
	__u64 location; /* return address inside the function that freed the skb */
	__u32 reason;   /* enum skb_drop_reason, 0 where the kernel has none */
	__u32 netns;    /* netns inode of skb->dev, else of the socket, 0 when unknown */
	__u16 protocol; /* ethertype, host order */
	__u16 pad1;
	__u32 pad2;
};

struct kdrop_val {
	__u64 count;
	__u64 bytes;
	/* Samples (this CPU's view of the key's bucket): no sample before this time, and the drops this CPU
	 * suppressed since it last looked at the shared bucket. Not handed over by the loader. */
	__u64 not_before;
	__u64 suppressed;
};

/* This CPU's last key (one per epoch parity, in the per-CPU array `last`): a drop of the same key as the
 * previous one on this CPU is counted here, without a hash lookup; the key's hash value gets these counts
 * when the CPU next sees another key, or the loader adds them to the key's total when it drains the epoch. */
struct kdrop_slot {
	struct kdrop_key key;
	/* count, bytes: not yet in the hash. not_before, suppressed: this CPU's sample state of the key, here
	 * instead of in the hash value while the slot holds the key (written back when it changes). */
	struct kdrop_val val;
};

/* One element of the mmapable control array. The program counts into counts[epoch & 1]. */
struct kdrop_ctl {
	__u64 epoch;
	__u32 attach; /* enum kdrop_attach of the attached program */
	__u32 pad;
};

enum kdrop_attach {
	KDROP_ATTACH_NONE = 0,
	KDROP_ATTACH_TP_BTF = 1,
	KDROP_ATTACH_RAW_TP = 2,
	KDROP_ATTACH_TRACEPOINT = 3,
};

#define KDROP_DEFAULT_MAX_KEYS 16384

/* Argument limits, the same in kdrop (src/source/bpf/limits.ts; a unit test compares them). The
 * per-key interval is at most (HZ << 10) * 1000 / 1 and (burst - 1) times it must fit in 64 bits. */
#define KDROP_MAX_KEYS_LIMIT 4194304
#define KDROP_SAMPLE_RATE_MIN 0.001
#define KDROP_SAMPLE_RATE_MAX 1000000.0
#define KDROP_SAMPLE_BURST_MAX 1000000
#define KDROP_SAMPLE_MAX_PER_S_MAX 1000000

/* Samples: a few example drops per key, rate-limited in the kernel, handed over through a ring buffer. */
#define KDROP_SAMPLE_KEYS 16384     /* token buckets held (LRU: the least recently dropping key goes) */
#define KDROP_RINGBUF_BYTES (256 * 1024)
#define KDROP_STACK_DEPTH 32
#define KDROP_STACKS 1024

/* Per-key token bucket as GCRA: the theoretical arrival time of the next sample, in jiffies << 10 (ktime
 * ns when the kernel's HZ is unknown). A drop may be sampled when now >= tat - (burst - 1) * interval;
 * then tat = max(tat, now) + interval. */
struct kdrop_bucket {
	__u64 tat;
	__u64 suppressed; /* drops of this key not sampled since its last sample (approximate: each CPU adds
			   * its own count every 64 drops and when it next looks at the bucket) */
};

struct kdrop_sample {
	__u64 ktime;     /* bpf_ktime_get_ns() */
	__u64 location;
	__u32 reason;
	__u32 netns;
	__u16 protocol;  /* ethertype, host order */
	__u8 family;     /* 4, 6, or 0 when no IP header was found */
	__u8 l4proto;    /* IPPROTO_* (0 when unknown) */
	__u16 sport;     /* host order; 0 when none */
	__u16 dport;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 pad1;
	__u32 ifindex;   /* 0 when skb->dev is not set */
	__u32 len;       /* skb->len */
	__s32 stackid;   /* stack map id, negative when none */
	__u32 suppressed; /* drops of this key not sampled since its previous sample */
	__u8 saddr[16];  /* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	char ifname[16];
};

/* Per-CPU sample counters (one element of the samples_stats array). */
struct kdrop_sample_stats {
	__u64 emitted;
	__u64 suppressed;   /* by the per-key or the global bucket */
	__u64 rb_fail;      /* ring buffer full: reserve failed */
	__u64 stack_fail;   /* bpf_get_stackid failed (the sample still went out, without a stack) */
};

#endif
