// SPDX-License-Identifier: Apache-2.0
/*
 * kdrop-probe --qstats: one read of the netdev generic-netlink family's queue stats (qstats-get, 6.9+;
 * the hardware-drop fields 6.10+) at device scope, in the caller's network namespace, then exit.
 * Node has no netlink socket, so this small part of the read lives here. Plain AF_NETLINK, no library.
 *
 * stdout, one line per device the kernel dumps (those whose driver implements netdev_stat_ops):
 *   Q <ifindex> <ifname|-> <field>=<value>...   only the fields the driver reports: a field the driver does
 *                                                not fill is absent from the kernel's reply, and from here
 *   QEND devices=<n>
 * or, where the kernel cannot answer at all (exit 0, a stable answer, not an error):
 *   QNONE no netdev family                   (before 6.3: nlctrl does not know "netdev")
 *   QNONE no qstats-get in the netdev family  (6.3 to 6.8)
 * Anything else (no socket, a malformed reply) is one line on stderr and exit 1.
 * Attribute and command numbers are the kernel's UAPI (include/uapi/linux/netdev.h, generated from
 * Documentation/netlink/specs/netdev.yaml): stable, so written out here for systems whose headers predate them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include "qstats.h"

#define NETDEV_CMD_QSTATS_GET 12
#define NETDEV_A_QSTATS_IFINDEX 1

/* The NETDEV_A_QSTATS_* statistics, by attribute number, as the spec names them. */
static const char *const fields[] = {
	[8] = "rx-packets", [9] = "rx-bytes", [10] = "tx-packets", [11] = "tx-bytes", [12] = "rx-alloc-fail",
	[13] = "rx-hw-drops", [14] = "rx-hw-drop-overruns", [15] = "rx-csum-complete", [16] = "rx-csum-unnecessary",
	[17] = "rx-csum-none", [18] = "rx-csum-bad", [19] = "rx-hw-gro-packets", [20] = "rx-hw-gro-bytes",
	[21] = "rx-hw-gro-wire-packets", [22] = "rx-hw-gro-wire-bytes", [23] = "rx-hw-drop-ratelimits",
	[24] = "tx-hw-drops", [25] = "tx-hw-drop-errors", [26] = "tx-csum-none", [27] = "tx-needs-csum",
	[28] = "tx-hw-gso-packets", [29] = "tx-hw-gso-bytes", [30] = "tx-hw-gso-wire-packets",
	[31] = "tx-hw-gso-wire-bytes", [32] = "tx-hw-drop-ratelimits", [33] = "tx-stop", [34] = "tx-wake",
};
#define NFIELDS ((int)(sizeof(fields) / sizeof(fields[0])))

#define BUF_SIZE (64 * 1024)
static char buf[BUF_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));

static int fail(const char *what, int err)
{
	fprintf(stderr, "kdrop-probe: --qstats: %s: %s\n", what, strerror(err));
	return 1;
}

static int send_req(int fd, __u16 type, __u16 flags, __u8 cmd, __u16 attr, const void *data, __u16 len)
{
	struct {
		struct nlmsghdr nh;
		struct genlmsghdr gh;
		char attrs[64];
	} req;
	struct nlattr *na = (struct nlattr *)req.attrs;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | flags;
	req.nh.nlmsg_seq = 1;
	req.gh.cmd = cmd;
	req.gh.version = 1;
	if (attr) {
		na->nla_type = attr;
		na->nla_len = (__u16)(NLA_HDRLEN + len);
		memcpy((char *)na + NLA_HDRLEN, data, len);
		req.nh.nlmsg_len += NLA_ALIGN(na->nla_len);
	}
	return sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0 ? -errno : 0;
}

/* One recv into buf: bytes read, or -errno. A truncated datagram is an error (buf holds any page-sized one). */
static ssize_t recv_msgs(int fd)
{
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
	if (n < 0)
		return -errno;
	return n > (ssize_t)sizeof(buf) ? -EMSGSIZE : n;
}

/* A u32 or u64 attribute (netlink "uint": 4 or 8 bytes); -1 for any other size. */
static int attr_uint(const struct nlattr *a, uint64_t *out)
{
	uint32_t v32;
	int len = a->nla_len - NLA_HDRLEN;
	if (len == 8) {
		memcpy(out, (const char *)a + NLA_HDRLEN, 8);
		return 0;
	}
	if (len == 4) {
		memcpy(&v32, (const char *)a + NLA_HDRLEN, 4);
		*out = v32;
		return 0;
	}
	return -1;
}

#define FOR_ATTRS(a, start, len) \
	for (struct nlattr *a = (struct nlattr *)(start); \
	     (char *)a + NLA_HDRLEN <= (char *)(start) + (len) && a->nla_len >= NLA_HDRLEN && \
	     (char *)a + a->nla_len <= (char *)(start) + (len); \
	     a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))

/*
 * nlctrl: the netdev family's id, and whether it has qstats-get. 0, or 1 when there is no such family,
 * or -errno.
 */
static int resolve(int fd, __u16 *id, int *has_qstats)
{
	ssize_t n;
	int r = send_req(fd, GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME, "netdev", sizeof("netdev"));
	if (r < 0)
		return r;
	if ((n = recv_msgs(fd)) < 0)
		return (int)n;
	for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
		if (nh->nlmsg_type == NLMSG_ERROR) {
			int err = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
			return err == -ENOENT ? 1 : err ? err : -EPROTO;
		}
		if (nh->nlmsg_type != GENL_ID_CTRL || nh->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN))
			continue;
		char *attrs = (char *)NLMSG_DATA(nh) + GENL_HDRLEN;
		int len = (int)(nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN));
		*id = 0;
		FOR_ATTRS(a, attrs, len) {
			if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID && a->nla_len >= NLA_HDRLEN + 2)
				memcpy(id, (char *)a + NLA_HDRLEN, 2);
			if ((a->nla_type & NLA_TYPE_MASK) != CTRL_ATTR_OPS)
				continue;
			FOR_ATTRS(op, (char *)a + NLA_HDRLEN, a->nla_len - NLA_HDRLEN) {
				FOR_ATTRS(f, (char *)op + NLA_HDRLEN, op->nla_len - NLA_HDRLEN) {
					uint64_t v;
					if ((f->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_OP_ID && attr_uint(f, &v) == 0 && v == NETDEV_CMD_QSTATS_GET)
						*has_qstats = 1;
				}
			}
		}
		return *id ? 0 : -EPROTO;
	}
	return -EPROTO;
}

/* One qstats-get reply: its Q line. -EPROTO when it names no ifindex or a statistic is not a uint. */
static int print_device(const struct nlmsghdr *nh)
{
	char *attrs = (char *)NLMSG_DATA(nh) + GENL_HDRLEN;
	int len = (int)(nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN));
	uint64_t ifindex = 0, vals[NFIELDS];
	int have[NFIELDS] = { 0 };
	char name[IF_NAMESIZE];

	FOR_ATTRS(a, attrs, len) {
		int t = a->nla_type & NLA_TYPE_MASK;
		if (t == NETDEV_A_QSTATS_IFINDEX && attr_uint(a, &ifindex) < 0)
			return -EPROTO;
		if (t < NFIELDS && fields[t]) {
			if (attr_uint(a, &vals[t]) < 0)
				return -EPROTO;
			have[t] = 1;
		}
	}
	if (ifindex == 0)
		return -EPROTO;
	printf("Q %llu %s", (unsigned long long)ifindex, if_indextoname((unsigned)ifindex, name) ? name : "-");
	for (int t = 0; t < NFIELDS; t++)
		if (have[t])
			printf(" %s=%llu", fields[t], (unsigned long long)vals[t]);
	printf("\n");
	return 0;
}

int qstats_print(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	int has_qstats = 0, devices = 0, r;
	__u16 family = 0;

	if (fd < 0)
		return fail("netlink socket", errno);
	r = resolve(fd, &family, &has_qstats);
	if (r == 1 || (r == 0 && !has_qstats)) {
		printf(r == 1 ? "QNONE no netdev family\n" : "QNONE no qstats-get in the netdev family\n");
		close(fd);
		return 0;
	}
	if (r < 0 || (r = send_req(fd, family, NLM_F_DUMP, NETDEV_CMD_QSTATS_GET, 0, NULL, 0)) < 0) {
		close(fd);
		return fail(r == -EPROTO ? "nlctrl's reply for \"netdev\" has no family id" : "resolving the netdev family", -r);
	}
	for (;;) {
		ssize_t n = recv_msgs(fd);
		if (n < 0) {
			close(fd);
			return fail("reading the qstats-get dump", (int)-n);
		}
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_DONE) {
				printf("QEND devices=%d\n", devices);
				close(fd);
				return 0;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				int err = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
				close(fd);
				if (err == -EOPNOTSUPP) {
					printf("QNONE no qstats-get in the netdev family\n");
					return 0;
				}
				return fail("qstats-get", err ? -err : EPROTO);
			}
			if (nh->nlmsg_type != family || nh->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN))
				continue;
			if (print_device(nh) < 0) {
				close(fd);
				return fail("a qstats-get reply without an ifindex or with a statistic that is not a u32/u64", EPROTO);
			}
			devices++;
		}
	}
}
