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

#endif
