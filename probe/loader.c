// SPDX-License-Identifier: Apache-2.0
/*
 * kdrop-probe: loads kdrop.bpf.c (embedded through the skeleton), attaches it, and answers a line
 * protocol on stdin/stdout. Everything else (symbols, reasons, pods, export) is kdrop's TypeScript.
 *
 *   kdrop-probe [--pin-dir DIR [--lock-fd FD]] [--max-keys N] [--attach tp_btf|raw_tp|tracepoint] [--interval MS]
 *               [--check] [-v] [--sample-rate PER_S] [--sample-burst N] [--sample-max-per-s N] [--stacks] [--no-samples]
 *               [--no-atomics] [--floor]
 *
 * stdin commands, one per line, each with an optional id that its reply echoes:
 *   dump [ID]  flip the epoch, wait for in-flight programs (membarrier = synchronize_rcu), print the old
 *              map's entries, delete them, print END (with id=ID)
 *   stop [ID]  detach, dump both maps, unpin, print BYE [ID], exit 0
 * stdout lines:
 *   READY attach=<type> pinned=<dir|none> resumed=<0|1> epoch=<E> max_keys=<N> samples=<0|1> stacks=<0|1> atomics=<0|1>
 *         qdisc=<0|1>
 *     (qdisc=1: qdisc:qdisc_drop is joined, qdisc drops are counted with the qdisc's own reason; kdrop.bpf.c)
 *     (atomics=0: the kernel refuses BPF atomics other than add, as before 5.12, and the pre-5.12 object,
 *     built from the same source without them, is loaded; see kdrop.bpf.c)
 *   D <epoch> <location hex> <reason> <protocol> <netns> <count> <bytes>
 *   END <epoch> [id=<ID>] lost=<n> misses=<n> run_ns=<n> run_cnt=<n> samples=<n> suppressed=<n> rb_fail=<n> stack_fail=<n>
 *     (lost: the program's map-full counter, pinned, cumulative; misses: recursion misses of the program
 *     this loader can read, 0 when it cannot: two counters, never one sum)
 *   BYE [ID]   after stop, or after the final dump on a signal or the end of stdin
 *   S <ktime> <location hex> <reason> <protocol> <netns> <l4proto> <saddr|-> <sport> <daddr|-> <dport>
 *     <tcpflags> <icmp type> <icmp code> <ifindex> <ifname|-> <len> <stackid> <suppressed>   one sampled drop
 *     (suppressed: drops of this key not sampled since its previous sample)
 *   K <stackid> <addr hex>...   the kernel stack of the S line that follows (innermost first); every S
 *     line with a stack id has its K line (an S line's id is -1 when its stack is not known for sure)
 *   W <message>      a warning worth logging
 *   CHECK <type> ok | CHECK <type> fail <message>   (--check)
 * With --pin-dir the maps and the link are pinned there: a loader started again on the same directory
 * re-uses them (the program never stopped counting) and first replays the epoch a crashed loader may not
 * have finished draining. The directory is flock()ed (LOCK_EX) for as long as its owner lives: through
 * --lock-fd, an fd of the directory opened by kdrop, which keeps the lock across loader restarts; else
 * through our own fd. A lock holds across PID namespaces, so a sibling directory whose lock can be taken
 * has no owner anywhere and is removed at start (an empty one only after a minute: its creator may be
 * about to lock it). A link pinned where resume fails is taken over (unpinned, so the old program
 * detaches) before ours attaches: never two programs counting into the same maps.
 * End of stdin, SIGTERM, SIGINT, SIGHUP or the parent's death: detach, print the final dump of both
 * maps (nothing counted is lost), unpin, print BYE and exit.
 * Samples (rate-limited example drops, see kdrop.bpf.c) are read from the ring buffer whenever it has
 * data and before each dump; --sample-rate is per key per second (0 or --no-samples: none), --stacks adds
 * a kernel stack id to each (looked up in the stack map and printed as K; an id is deleted only once no
 * sample named it for a whole dump interval, so that no other stack takes it while a sample still names
 * it). Sample counters are
 * per-CPU and cumulative, printed on END.
 * --no-atomics loads the pre-5.12 object (no BPF atomics but add) even where the kernel takes them (tests);
 * otherwise it is loaded only where the kernel refuses compare-and-swap.
 * --floor attaches a program that returns at once and counts nothing (`npm run bench`'s floor: what bpf_stats
 * show for an empty program on this attach point and machine); it says so in a W line.
 * --interval MS also dumps every MS on its own (standalone use: `kdrop-probe --interval 1000 </dev/null`);
 * then the end of stdin does not stop it.
 * --qstats (alone) prints the netdev queue stats of this netns's devices once and exits (qstats.c).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/membarrier.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "kdrop.h"
#include "qstats.h"
#include "kdrop.skel.h"
#include "kdrop-pre512.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

static const char *const attach_names[] = { "none", "tp_btf", "raw_tp", "tracepoint" };
static volatile sig_atomic_t quit;
static int verbose;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

struct probe {
	struct kdrop_bpf *skel; /* the main object, or the pre-5.12 one opened through the same skeleton */
	int atomics;            /* 1: the kernel takes BPF compare-and-swap (5.12+): the main object */
	struct bpf_link *link; /* attached by us */
	int link_fd;           /* the link's fd (ours or the pinned one) */
	struct kdrop_ctl *ctl; /* mmapped control array element */
	int ncpus;
	__u32 max_keys;
	char dir[PATH_MAX];    /* pin directory, "" when unpinned */
	int attach;
	int resumed;
	struct kdrop_key *keys; /* drain scratch */
	struct kdrop_val *vals;
	struct kdrop_slot *slots; /* drain scratch: every CPU's slot of one parity */
	struct ring_buffer *rb; /* samples; NULL when off */
	double sample_rate;     /* per key per second */
	__u64 sample_burst;
	__u64 sample_max;       /* all keys, per second */
	int samples;
	int stacks;
	int floor_only;         /* --floor: an empty program (the bench's floor) */
	int lock_fd;            /* the pin directory, flock()ed; -1 when unpinned */
	int qdisc;              /* qdisc:qdisc_drop is joined (kdrop.bpf.c): wanted, then attached or resumed */
	struct bpf_link *qlink; /* its link, attached by us */
	/* Stack ids: the dump generation in which a sample last named each (0: not held), and those deleted
	 * by the current collection (a sample naming one of them may be older than the deletion). */
	__u64 gen;
	__u64 stack_gen[KDROP_STACKS];
	__u8 stack_gone[KDROP_STACKS];
};

static int pin_path(const struct probe *p, const char *name, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s", p->dir, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static struct bpf_program *prog_of(struct kdrop_bpf *skel, int attach)
{
	switch (attach) {
	case KDROP_ATTACH_TP_BTF: return skel->progs.kdrop_tp_btf;
	case KDROP_ATTACH_RAW_TP: return skel->progs.kdrop_raw_tp;
	case KDROP_ATTACH_TRACEPOINT: return skel->progs.kdrop_tracepoint;
	default: return NULL;
	}
}

/*
 * Does this kernel take BPF_CMPXCHG? Before 5.12 the verifier refuses every atomic but add, dead code
 * included ("BPF_STX uses reserved fields", EINVAL). Asked with a 6-instruction socket filter that does a
 * compare-and-swap on its stack; any answer but EINVAL counts as yes (the main object then reports the
 * real error itself).
 */
static int kernel_has_atomics(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_STX | BPF_DW | BPF_MEM, .dst_reg = BPF_REG_10, .src_reg = BPF_REG_0, .off = -8 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 1 },
		{ .code = BPF_STX | BPF_DW | BPF_ATOMIC, .dst_reg = BPF_REG_10, .src_reg = BPF_REG_1, .off = -8, .imm = BPF_CMPXCHG },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "kdrop_atomics", "GPL", insns, sizeof(insns) / sizeof(insns[0]), NULL);
	int err = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	return err != EINVAL;
}

/* The skeleton over the pre-5.12 object's bytes: both objects come from one source and differ only in
 * code, so their maps, programs and .rodata (checked at compile time below) are the same. */
static struct kdrop_bpf *open_pre512(const struct bpf_object_open_opts *opts)
{
	struct kdrop_bpf *obj = calloc(1, sizeof(*obj));
	int err;

	if (!obj) {
		errno = ENOMEM;
		return NULL;
	}
	if ((err = kdrop_bpf__create_skeleton(obj)) == 0) {
		obj->skeleton->data = kdrop_pre512_bpf__elf_bytes(&obj->skeleton->data_sz);
		err = bpf_object__open_skeleton(obj->skeleton, opts);
	}
	if (err) {
		kdrop_bpf__destroy(obj);
		errno = -err;
		return NULL;
	}
	return obj;
}

_Static_assert(sizeof(*((struct kdrop_bpf *)0)->rodata) == sizeof(*((struct kdrop_pre512_bpf *)0)->rodata),
	       "kdrop.bpf.o and kdrop-pre512.bpf.o differ in .rodata");

/* Opens the skeleton with only `attach`'s program to load (none when attach is 0), the maps sized and,
 * when pinning, bound to their pin paths (re-used when they exist). */
static int open_load(struct probe *p, int attach)
{
	struct bpf_map *maps[10];
	const char *names[] = { "counts0", "counts1", "lost", "ctl", "buckets", "global_bucket", "samples", "sample_stats", "stacks", "last" };
	char path[PATH_MAX];
	int err;

	/* The bucket clock is jiffies, scaled by CONFIG_HZ from the kernel config. libbpf refuses to load at
	 * all when it finds no config file; then HZ is given as unknown (0: the program uses ktime). */
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct utsname u;
	if (uname(&u) == 0 && snprintf(path, sizeof(path), "/boot/config-%s", u.release) > 0 &&
	    access(path, R_OK) != 0 && access("/proc/config.gz", R_OK) != 0)
		opts.kconfig = "CONFIG_HZ=0\n";
	p->skel = p->atomics ? kdrop_bpf__open_opts(&opts) : open_pre512(&opts);
	if (!p->skel)
		return -errno;
	maps[0] = p->skel->maps.counts0;
	maps[1] = p->skel->maps.counts1;
	maps[2] = p->skel->maps.lost;
	maps[3] = p->skel->maps.ctl;
	maps[4] = p->skel->maps.buckets;
	maps[5] = p->skel->maps.global_bucket;
	maps[6] = p->skel->maps.samples;
	maps[7] = p->skel->maps.sample_stats;
	maps[8] = p->skel->maps.stacks;
	maps[9] = p->skel->maps.last;
	p->skel->rodata->samples_on = p->samples && p->sample_rate > 0;
	p->skel->rodata->stacks_on = p->stacks;
	p->skel->rodata->floor_only = p->floor_only;
	p->skel->rodata->sample_rate_milli = (__u64)(p->sample_rate * 1000 + 0.5);
	p->skel->rodata->sample_burst = p->sample_burst;
	p->skel->rodata->global_interval_ns = 1000000000ULL / (p->sample_max ? p->sample_max : 1);
	p->skel->rodata->global_burst = p->sample_max;
	bpf_map__set_max_entries(maps[0], p->max_keys);
	bpf_map__set_max_entries(maps[1], p->max_keys);
	for (int i = 0; i < 10; i++) {
		if (p->dir[0] == '\0')
			continue;
		if ((err = pin_path(p, names[i], path, sizeof(path))) || (err = bpf_map__set_pin_path(maps[i], path)))
			goto fail;
	}
	for (int a = KDROP_ATTACH_TP_BTF; a <= KDROP_ATTACH_TRACEPOINT; a++)
		bpf_program__set_autoload(prog_of(p->skel, a), a == attach);
	p->skel->rodata->qdisc_join = p->qdisc != 0;
	bpf_program__set_autoload(p->skel->progs.kdrop_qdisc_drop, p->qdisc && attach != KDROP_ATTACH_NONE);
	if ((err = kdrop_bpf__load(p->skel)))
		goto fail;
	return 0;
fail:
	kdrop_bpf__destroy(p->skel);
	p->skel = NULL;
	return err < 0 ? err : -err;
}

/* Whether this kernel has qdisc:qdisc_drop, as a BTF-typed tracepoint (Linux 7.x). */
static int kernel_has_qdisc_drop(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int found = btf && btf__find_by_name_kind(btf, "btf_trace_qdisc_drop", BTF_KIND_TYPEDEF) > 0;
	btf__free(btf);
	return found;
}

/* Leaves the qdisc join out (its program is never loaded, or detached): QDISC_DROP is counted as such. */
static void no_qdisc_join(struct probe *p, const char *what, int err)
{
	printf("W qdisc:qdisc_drop not joined (qdisc drops count as QDISC_DROP): cannot %s its program: %s\n", what, strerror(-err));
	p->qdisc = 0;
}

static int attach_prog(struct probe *p, int attach)
{
	int err = open_load(p, attach);
	if (err && p->qdisc) {
		/* Load again without the qdisc program: the counting program alone may load. */
		no_qdisc_join(p, "load", err);
		err = open_load(p, attach);
	}
	if (err)
		return err;
	p->link = bpf_program__attach(prog_of(p->skel, attach));
	if (!p->link) {
		err = -errno;
		kdrop_bpf__destroy(p->skel);
		p->skel = NULL;
		return err;
	}
	p->link_fd = bpf_link__fd(p->link);
	p->attach = attach;
	if (p->qdisc && !(p->qlink = bpf_program__attach(p->skel->progs.kdrop_qdisc_drop)))
		no_qdisc_join(p, "attach", -errno);
	return 0;
}

/* Unlinks every pin in `dir` (bpffs holds pins and directories only), then the directory. */
static void remove_dir_pins(const char *dir)
{
	char path[PATH_MAX];
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
				continue;
			if (unlink(path) != 0 && errno == EISDIR)
				rmdir(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

static void remove_pins(struct probe *p)
{
	char path[PATH_MAX];
	if (p->dir[0] == '\0')
		return;
	char *slash;

	remove_dir_pins(p->dir);
	/* The shared parent (/sys/fs/bpf/kdrop) goes too once the last kdrop's pins are gone; with other
	 * kdrop instances' directories in it, rmdir fails (ENOTEMPTY) and it stays. */
	snprintf(path, sizeof(path), "%s", p->dir);
	slash = strrchr(path, '/');
	if (slash && slash != path) {
		*slash = '\0';
		rmdir(path);
	}
}

/* Makes sure bpffs is mounted where the pin directory lives (only /sys/fs/bpf is mounted by us). */
static int prepare_pin_dir(struct probe *p)
{
	struct statfs st;
	char parent[PATH_MAX];
	char *slash;

	if (statfs("/sys/fs/bpf", &st) == 0 && (unsigned long)st.f_type != BPF_FS_MAGIC &&
	    strncmp(p->dir, "/sys/fs/bpf/", 12) == 0) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") != 0)
			return -errno;
		printf("W mounted bpffs at /sys/fs/bpf\n");
	}
	snprintf(parent, sizeof(parent), "%s", p->dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (mkdir(parent, 0700) != 0 && errno != EEXIST)
			return -errno;
		if (statfs(parent, &st) != 0)
			return -errno;
		if ((unsigned long)st.f_type != BPF_FS_MAGIC)
			return -ENOTSUP;
	}
	if (mkdir(p->dir, 0700) != 0 && errno != EEXIST) {
		/* Another kdrop removed the (then empty) parent between our two mkdirs: make it again, once. */
		if (errno != ENOENT || !slash || slash == parent || (mkdir(parent, 0700) != 0 && errno != EEXIST) ||
		    (mkdir(p->dir, 0700) != 0 && errno != EEXIST))
			return -errno;
	}
	return 0;
}

/* Takes the pin directory's lock: through kdrop's fd when given (it must be this very directory), else
 * through our own. Another kdrop's stale-pin scan (remove_stale_pins) flocks every sibling for a moment,
 * a fresh directory too before its owner locked it: a lock held for up to LOCK_WAIT_MS is waited for.
 * Held longer: another kdrop owns it. */
#define LOCK_WAIT_MS 2000
static int lock_pin_dir(struct probe *p, int given_fd)
{
	struct stat a, b;
	int fd = given_fd;

	if (fd < 0 && (fd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (given_fd >= 0 && (fstat(fd, &a) != 0 || stat(p->dir, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)) {
		fprintf(stderr, "kdrop-probe: --lock-fd %d is not the pin directory %s\n", given_fd, p->dir);
		return -EINVAL;
	}
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; waited += 10) {
		int err = -errno;
		if (err != -EWOULDBLOCK || waited >= LOCK_WAIT_MS) {
			if (given_fd < 0)
				close(fd);
			return err;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	p->lock_fd = fd;
	return 0;
}

/* Whether the directory name <pid>-<starttime>-<n> names a process alive in our PID namespace: kdrop
 * versions before the lock did not take it; their pins are kept while they run (never decided by this
 * alone: a held lock keeps a directory whatever /proc says). */
static int owner_alive_here(const char *name)
{
	char path[64], stat[1024], want[32];
	unsigned long pid;
	const char *dash, *rp;
	size_t n;
	FILE *f;

	if (sscanf(name, "%lu-", &pid) != 1 || !(dash = strchr(name, '-')))
		return 0;
	snprintf(want, sizeof(want), "%.*s", (int)strcspn(dash + 1, "-"), dash + 1);
	snprintf(path, sizeof(path), "/proc/%lu/stat", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	if (!(rp = strrchr(stat, ')')))
		return 0;
	rp += 2; /* field 3, state */
	for (int field = 3; field < 22 && rp; field++) {
		rp = strchr(rp, ' ');
		if (rp)
			rp++;
	}
	return rp && strncmp(rp, want, strlen(want)) == 0 && rp[strlen(want)] == ' ';
}

/* Removes the sibling pin directories whose lock nobody holds: their kdrop is gone, in whatever PID
 * namespace it ran. An empty one younger than a minute is left: its creator may not have locked it yet. */
static void remove_stale_pins(const struct probe *p)
{
	char parent[PATH_MAX], path[PATH_MAX];
	const char *own;
	char *slash;
	DIR *d;
	struct dirent *e;

	snprintf(parent, sizeof(parent), "%s", p->dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return;
	*slash = '\0';
	own = slash + 1;
	if (!(d = opendir(parent)))
		return;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		int fd, empty = 1;
		DIR *sub;
		if (e->d_name[0] == '.' || strcmp(e->d_name, own) == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", parent, e->d_name) >= (int)sizeof(path))
			continue;
		if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) != 0 || fstat(fd, &st) != 0) {
			close(fd); /* locked: its kdrop is alive */
			continue;
		}
		if ((sub = fdopendir(dup(fd))) != NULL) {
			struct dirent *x;
			while ((x = readdir(sub)) != NULL)
				if (strcmp(x->d_name, ".") != 0 && strcmp(x->d_name, "..") != 0)
					empty = 0;
			closedir(sub);
		}
		if (!(empty && time(NULL) - st.st_mtime < 60) && !owner_alive_here(e->d_name)) {
			remove_dir_pins(path);
			printf("W removed pins left by a kdrop that is gone: %s\n", path);
		}
		close(fd);
	}
	closedir(d);
}

static void sync_programs(void)
{
	/* MEMBARRIER_CMD_GLOBAL is synchronize_rcu(): every program run that read the old epoch is done. */
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) != 0)
		usleep(50 * 1000); /* nohz_full kernels refuse it; programs run for microseconds */
}

static __u64 sum_lost(struct probe *p)
{
	__u64 vals[p->ncpus];
	__u32 zero = 0;
	__u64 total = 0;
	if (bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.lost), &zero, vals) != 0)
		return 0;
	for (int i = 0; i < p->ncpus; i++)
		total += vals[i];
	return total;
}

static void prog_stats(struct probe *p, __u64 *misses, __u64 *run_ns, __u64 *run_cnt)
{
	struct bpf_link_info li;
	struct bpf_prog_info pi;
	__u32 len = sizeof(li);
	int fd;

	*misses = *run_ns = *run_cnt = 0;
	memset(&li, 0, sizeof(li));
	if (p->link) {
		/* ours: the program's fd is at hand (no CAP_SYS_ADMIN needed, unlike GET_FD_BY_ID) */
		fd = dup(bpf_program__fd(prog_of(p->skel, p->attach)));
	} else {
		if (p->link_fd < 0 || bpf_obj_get_info_by_fd(p->link_fd, &li, &len) != 0)
			return;
		fd = bpf_prog_get_fd_by_id(li.prog_id);
	}
	if (fd < 0)
		return;
	memset(&pi, 0, sizeof(pi));
	len = sizeof(pi);
	if (bpf_obj_get_info_by_fd(fd, &pi, &len) == 0) {
		*misses = pi.recursion_misses;
		*run_ns = pi.run_time_ns;
		*run_cnt = pi.run_cnt;
	}
	close(fd);
}

static void sum_sample_stats(struct probe *p, struct kdrop_sample_stats *out)
{
	struct kdrop_sample_stats vals[p->ncpus];
	__u32 zero = 0;
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.sample_stats), &zero, vals) != 0)
		return;
	for (int i = 0; i < p->ncpus; i++) {
		out->emitted += vals[i].emitted;
		out->suppressed += vals[i].suppressed;
		out->rb_fail += vals[i].rb_fail;
		out->stack_fail += vals[i].stack_fail;
	}
}

static const char *addr_text(int family, const __u8 *a, char *buf, size_t len)
{
	if (family == 4)
		return inet_ntop(AF_INET, a, buf, (socklen_t)len) ? buf : "-";
	if (family == 6)
		return inet_ntop(AF_INET6, a, buf, (socklen_t)len) ? buf : "-";
	return "-";
}

/* Prints the stack (K line) of a sample's id, and marks the id as named now. Returns the id to print
 * on the S line: -1 when the stack is not known for sure (the id was freed while the sample waited in
 * the ring: another stack may hold it now). */
static __s32 print_stack(struct probe *p, __s32 id)
{
	__u64 ips[KDROP_STACK_DEPTH];
	__u32 key = (__u32)id;
	int fd = bpf_map__fd(p->skel->maps.stacks);

	if (id >= KDROP_STACKS || p->stack_gone[id] || bpf_map_lookup_elem(fd, &key, ips) != 0)
		return -1;
	p->stack_gen[id] = p->gen;
	printf("K %d", id);
	for (int i = 0; i < KDROP_STACK_DEPTH && ips[i] != 0; i++)
		printf(" %llx", (unsigned long long)ips[i]);
	printf("\n");
	return id;
}

static void consume_samples(struct probe *p);

/* Frees the stack ids no sample named in this dump interval or the one before. A sample that names an
 * id is read within one interval (the ring is read whenever it has data, and after each flip), so an id
 * is never deleted, and taken by another stack, while a sample that names it is still unread; samples
 * emitted between the last read and the deletion are read right after it, without a stack. */
static void collect_stacks(struct probe *p)
{
	int fd, freed = 0;
	if (!p->stacks || !p->rb)
		return;
	fd = bpf_map__fd(p->skel->maps.stacks);
	for (__u32 id = 0; id < KDROP_STACKS; id++) {
		if (p->stack_gen[id] == 0 || p->stack_gen[id] + 1 >= p->gen)
			continue;
		bpf_map_delete_elem(fd, &id);
		p->stack_gen[id] = 0;
		p->stack_gone[id] = 1;
		freed = 1;
	}
	if (!freed)
		return;
	sync_programs();
	consume_samples(p);
	memset(p->stack_gone, 0, sizeof(p->stack_gone));
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct probe *p = ctx;
	const struct kdrop_sample *s = data;
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN], ifname[sizeof(s->ifname) + 1];

	if (size < sizeof(*s))
		return 0;
	memcpy(ifname, s->ifname, sizeof(s->ifname));
	ifname[sizeof(s->ifname)] = '\0';
	for (char *c = ifname; *c; c++)
		if (*c <= ' ' || *c > '~')
			*c = '?';
	__s32 stackid = s->stackid >= 0 ? print_stack(p, s->stackid) : s->stackid;
	printf("S %llu %llx %u %u %u %u %s %u %s %u %u %u %u %u %s %u %d %u\n", (unsigned long long)s->ktime,
	       (unsigned long long)s->location, s->reason, s->protocol, s->netns, s->l4proto,
	       addr_text(s->family, s->saddr, sa, sizeof(sa)), s->sport, addr_text(s->family, s->daddr, da, sizeof(da)),
	       s->dport, s->tcp_flags, s->icmp_type, s->icmp_code, s->ifindex, ifname[0] ? ifname : "-", s->len,
	       stackid, s->suppressed);
	return 0;
}

static void consume_samples(struct probe *p)
{
	if (p->rb && ring_buffer__consume(p->rb) > 0)
		fflush(stdout);
}

/* Adds the counts of every CPU's slot that holds `key` (not taken yet) to *count and *bytes, and marks
 * those slots taken. */
static void take_slots(struct probe *p, const struct kdrop_key *key, __u64 *count, __u64 *bytes)
{
	for (int i = 0; i < p->ncpus; i++) {
		struct kdrop_slot *s = &p->slots[i];
		if (s->val.count == 0 || memcmp(&s->key, key, sizeof(*key)) != 0)
			continue;
		*count += s->val.count;
		*bytes += s->val.bytes;
		s->val.count = 0;
	}
}

static void print_count(__u64 epoch, const struct kdrop_key *key, __u64 count, __u64 bytes)
{
	printf("D %llu %llx %u %u %u %llu %llu\n", (unsigned long long)epoch, (unsigned long long)key->location,
	       key->reason, key->protocol, key->netns, (unsigned long long)count, (unsigned long long)bytes);
}

/* Prints and deletes every entry of counts[epoch & 1], each with the counts the CPUs' slots of that parity
 * hold for it, then END (with ` id=ID` of the command when `id` is not ""). The program no longer writes
 * there. */
static int drain(struct probe *p, __u64 epoch, const char *id)
{
	int fd = bpf_map__fd((epoch & 1) ? p->skel->maps.counts1 : p->skel->maps.counts0);
	int slots_fd = bpf_map__fd(p->skel->maps.last);
	__u32 par = (__u32)(epoch & 1);
	struct kdrop_key key, next;
	struct kdrop_val *v = p->vals;
	__u32 n = 0;
	__u64 misses, run_ns, run_cnt;
	struct kdrop_sample_stats ss;
	void *prev = NULL;

	if (bpf_map_lookup_elem(slots_fd, &par, p->slots) != 0)
		memset(p->slots, 0, (size_t)p->ncpus * sizeof(*p->slots));
	while (n < p->max_keys && bpf_map_get_next_key(fd, prev, &next) == 0) {
		__u64 count = 0, bytes = 0;
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, v) != 0)
			continue;
		for (int i = 0; i < p->ncpus; i++) {
			count += v[i].count;
			bytes += v[i].bytes;
		}
		take_slots(p, &key, &count, &bytes);
		p->keys[n++] = key;
		print_count(epoch, &key, count, bytes);
	}
	/* A slot's key is in the hash (its first drop was counted there) unless that insert failed; print any
	 * other all the same. */
	for (int i = 0; i < p->ncpus; i++) {
		__u64 count = 0, bytes = 0;
		key = p->slots[i].key;
		take_slots(p, &key, &count, &bytes);
		if (count > 0)
			print_count(epoch, &key, count, bytes);
	}
	/* Printed before deleted: a crash in between replays the rest, and kdrop drops what it has seen. */
	fflush(stdout);
	for (__u32 i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &p->keys[i]);
	memset(p->slots, 0, (size_t)p->ncpus * sizeof(*p->slots));
	bpf_map_update_elem(slots_fd, &par, p->slots, BPF_ANY);
	prog_stats(p, &misses, &run_ns, &run_cnt);
	sum_sample_stats(p, &ss);
	printf("END %llu%s%s lost=%llu misses=%llu run_ns=%llu run_cnt=%llu samples=%llu suppressed=%llu rb_fail=%llu stack_fail=%llu\n",
	       (unsigned long long)epoch, id[0] ? " id=" : "", id, (unsigned long long)sum_lost(p), (unsigned long long)misses,
	       (unsigned long long)run_ns, (unsigned long long)run_cnt, (unsigned long long)ss.emitted,
	       (unsigned long long)ss.suppressed, (unsigned long long)ss.rb_fail, (unsigned long long)ss.stack_fail);
	fflush(stdout);
	return 0;
}

static void dump(struct probe *p, const char *id)
{
	__u64 epoch = __atomic_load_n(&p->ctl->epoch, __ATOMIC_ACQUIRE);
	__atomic_store_n(&p->ctl->epoch, epoch + 1, __ATOMIC_RELEASE);
	p->gen++;
	sync_programs();
	consume_samples(p);
	drain(p, epoch, id);
	collect_stacks(p);
}

static int map_ctl(struct probe *p)
{
	size_t len = (size_t)sysconf(_SC_PAGESIZE);
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(p->skel->maps.ctl), 0);
	if (m == MAP_FAILED)
		return -errno;
	p->ctl = m;
	return 0;
}

/* A pinned link from a loader that died: re-use its maps and keep its program attached. */
static int resume(struct probe *p)
{
	char path[PATH_MAX];
	int fd, err;

	if (p->dir[0] == '\0' || pin_path(p, "link", path, sizeof(path)) != 0)
		return -ENOENT;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if ((err = open_load(p, KDROP_ATTACH_NONE))) {
		close(fd);
		return err;
	}
	p->link_fd = fd;
	p->resumed = 1;
	/* The qdisc join goes on where its link is pinned beside (bpffs keeps it attached). */
	p->qdisc = pin_path(p, "qlink", path, sizeof(path)) == 0 && access(path, F_OK) == 0;
	return 0;
}

static int start(struct probe *p, int only)
{
	int err = -ENOENT;
	char path[PATH_MAX];
	struct stat st;

	/* A link is pinned but could not be resumed: take it over (unpinning detaches its program once nothing
	 * holds it; we hold the directory's lock, so no live loader does), never attach a second program that
	 * would count into the same maps. */
	if (p->dir[0] != '\0' && pin_path(p, "link", path, sizeof(path)) == 0 && lstat(path, &st) == 0) {
		if (unlink(path) != 0 && !(errno == EISDIR && rmdir(path) == 0)) {
			err = -errno;
			fprintf(stderr, "kdrop-probe: a link is pinned at %s and cannot be resumed or removed: %s\n", path, strerror(-err));
			return err;
		}
		printf("W took over %s: it could not be resumed; its program is detached\n", path);
		if (pin_path(p, "qlink", path, sizeof(path)) == 0)
			unlink(path);
	}
	for (int a = KDROP_ATTACH_TP_BTF; a <= KDROP_ATTACH_TRACEPOINT; a++) {
		if (only && a != only)
			continue;
		if ((err = attach_prog(p, a)) == 0)
			break;
		printf("W attach %s failed: %s\n", attach_names[a], strerror(-err));
	}
	if (err)
		return err;
	if (p->dir[0] != '\0') {
		if ((err = pin_path(p, "link", path, sizeof(path))) != 0 || (err = bpf_link__pin(p->link, path)) != 0) {
			/* Unpinned, a restart could not resume it and would attach a second program: refuse. */
			fprintf(stderr, "kdrop-probe: cannot pin the link at %s: %s\n", path, strerror(-err));
			bpf_link__destroy(p->link);
			p->link = NULL;
			p->link_fd = -1;
			kdrop_bpf__destroy(p->skel);
			p->skel = NULL;
			return err;
		}
		if (p->qlink && ((err = pin_path(p, "qlink", path, sizeof(path))) != 0 || (err = bpf_link__pin(p->qlink, path)) != 0)) {
			/* Unpinned, it would die with this loader and a restarted one would count without it. */
			bpf_link__destroy(p->qlink);
			p->qlink = NULL;
			no_qdisc_join(p, "pin", err);
		}
	}
	return 0;
}

static void shutdown_probe(struct probe *p, int final_dump)
{
	/* Unpin first, so that closing our fd drops the last reference and detaches synchronously. */
	remove_pins(p);
	bpf_link__destroy(p->qlink);
	p->qlink = NULL;
	if (p->link) {
		bpf_link__destroy(p->link);
		p->link = NULL;
	} else if (p->link_fd >= 0) {
		close(p->link_fd);
	}
	p->link_fd = -1;
	if (final_dump && p->ctl) {
		dump(p, "");
		dump(p, "");
	}
	ring_buffer__free(p->rb);
	p->rb = NULL;
	kdrop_bpf__destroy(p->skel);
	p->skel = NULL;
}

/* Loads and attaches each program with the settings of `tmpl` (max keys, samples). */
static int check(const struct probe *tmpl)
{
	int ok = 0;
	for (int a = KDROP_ATTACH_TP_BTF; a <= KDROP_ATTACH_TRACEPOINT; a++) {
		struct probe p = *tmpl;
		int err = attach_prog(&p, a);
		if (err) {
			printf("CHECK %s fail %s\n", attach_names[a], strerror(-err));
			continue;
		}
		printf("CHECK %s ok\n", attach_names[a]);
		ok = 1;
		bpf_link__destroy(p.qlink);
		bpf_link__destroy(p.link);
		kdrop_bpf__destroy(p.skel);
	}
	return ok ? 0 : 1;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(void)
{
	fprintf(stderr, "usage: kdrop-probe [--pin-dir DIR [--lock-fd FD]] [--max-keys N] [--attach tp_btf|raw_tp|tracepoint] [--interval MS]\n"
			"                   [--check] [-v] [--sample-rate PER_S] [--sample-burst N] [--sample-max-per-s N] [--stacks] [--no-samples]\n"
			"                   [--no-atomics] [--floor]\n"
			"       kdrop-probe --qstats\n");
}

/* A whole number in [min, max] or exit 2 saying what was expected and found (strtoull takes "-1"). */
static unsigned long long arg_uint(const char *flag, const char *text, unsigned long long min, unsigned long long max)
{
	char *end;
	unsigned long long v;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v < min || v > max) {
		fprintf(stderr, "kdrop-probe: %s: expected a whole number from %llu to %llu, found \"%s\"\n", flag, min, max, text);
		exit(2);
	}
	return v;
}

/* Replies carry the command's id when it had one (`dump 7` -> `END ... id=7`). */
struct cmd_in {
	char buf[4096];
	size_t len;
};

/* Reads what stdin has (one read(): no stdio buffer can hide a line from poll()). 0: end of stdin. */
static int read_cmds(struct cmd_in *in)
{
	ssize_t n;
	if (in->len >= sizeof(in->buf) - 1)
		in->len = 0; /* a line longer than any command: drop it */
	n = read(STDIN_FILENO, in->buf + in->len, sizeof(in->buf) - 1 - in->len);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	in->len += (size_t)n;
	return 1;
}

/* The next complete line (without its newline) into `line`, or 0. */
static int next_cmd(struct cmd_in *in, char *line, size_t cap)
{
	char *nl = memchr(in->buf, '\n', in->len);
	size_t n;
	if (!nl)
		return 0;
	n = (size_t)(nl - in->buf);
	snprintf(line, cap, "%.*s", (int)(n < cap ? n : cap - 1), in->buf);
	memmove(in->buf, nl + 1, in->len - n - 1);
	in->len -= n + 1;
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin-dir", required_argument, NULL, 'p' }, { "max-keys", required_argument, NULL, 'k' },
		{ "attach", required_argument, NULL, 'a' },  { "check", no_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },       { "interval", required_argument, NULL, 'i' },
		{ "sample-rate", required_argument, NULL, 'r' }, { "sample-burst", required_argument, NULL, 'b' },
		{ "sample-max-per-s", required_argument, NULL, 'm' }, { "stacks", no_argument, NULL, 's' },
		{ "no-samples", no_argument, NULL, 'n' }, { "lock-fd", required_argument, NULL, 'l' },
		{ "no-atomics", no_argument, NULL, 'A' }, { "floor", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	struct probe p = { .link_fd = -1, .max_keys = KDROP_DEFAULT_MAX_KEYS, .sample_rate = 1.0, .sample_burst = 3,
			   .sample_max = 1000, .samples = 1, .lock_fd = -1, .gen = 1 };
	char *end;
	int only = 0, do_check = 0, no_atomics = 0, c, err, interval_ms = 0, stdin_open = 1, given_lock = -1;
	pid_t parent;
	long long next_dump = 0;
	char line[256], cmd[16], id[24];
	struct cmd_in in = { .len = 0 };
	struct sigaction sa;

	/* A one-shot read of the netdev queue stats (qstats.c): no BPF at all. */
	if (argc == 2 && strcmp(argv[1], "--qstats") == 0)
		return qstats_print();
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (c) {
		case 'p': snprintf(p.dir, sizeof(p.dir), "%s", optarg); break;
		case 'k': p.max_keys = (__u32)arg_uint("--max-keys", optarg, 1, KDROP_MAX_KEYS_LIMIT); break;
		case 'a':
			for (int a = 1; a <= KDROP_ATTACH_TRACEPOINT; a++)
				if (strcmp(optarg, attach_names[a]) == 0)
					only = a;
			if (!only) {
				fprintf(stderr, "kdrop-probe: --attach: expected tp_btf, raw_tp or tracepoint, found \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'c': do_check = 1; break;
		case 'v': verbose = 1; break;
		case 'i': interval_ms = (int)arg_uint("--interval", optarg, 0, 86400000); break;
		case 'l': given_lock = (int)arg_uint("--lock-fd", optarg, 3, 1 << 20); break;
		case 'r':
			errno = 0;
			p.sample_rate = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || errno != 0 ||
			    !(p.sample_rate == 0 || (p.sample_rate >= KDROP_SAMPLE_RATE_MIN && p.sample_rate <= KDROP_SAMPLE_RATE_MAX))) {
				fprintf(stderr, "kdrop-probe: --sample-rate: expected 0 (none) or samples per second per key from %g to %g, found \"%s\"\n",
					KDROP_SAMPLE_RATE_MIN, KDROP_SAMPLE_RATE_MAX, optarg);
				return 2;
			}
			break;
		case 'b': p.sample_burst = arg_uint("--sample-burst", optarg, 1, KDROP_SAMPLE_BURST_MAX); break;
		case 'm': p.sample_max = arg_uint("--sample-max-per-s", optarg, 1, KDROP_SAMPLE_MAX_PER_S_MAX); break;
		case 's': p.stacks = 1; break;
		case 'n': p.samples = 0; break;
		case 'A': no_atomics = 1; break;
		case 'F': p.floor_only = 1; break;
		default: usage(); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kdrop-probe: unexpected argument \"%s\"\n", argv[optind]);
		usage();
		return 2;
	}
	if (given_lock >= 0 && p.dir[0] == '\0') {
		fprintf(stderr, "kdrop-probe: --lock-fd needs --pin-dir\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	libbpf_set_print(print_libbpf);
	p.atomics = !no_atomics && kernel_has_atomics();
	if (do_check) {
		if (!p.atomics)
			printf("W the pre-5.12 object is checked (%s)\n", no_atomics ? "--no-atomics" : "the kernel refuses BPF atomics but add");
		err = check(&p);
		fflush(stdout);
		return err;
	}
	p.qdisc = kernel_has_qdisc_drop();

	/* Exit with the parent: SIGTERM when it dies, also if it died before we got here (then we have another
	 * parent now; not "parent 1": kdrop is pid 1 in a PID namespace of its own). One that died even
	 * earlier closed our stdin. */
	parent = getppid();
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	p.ncpus = libbpf_num_possible_cpus();
	p.keys = calloc(p.max_keys, sizeof(*p.keys));
	p.vals = calloc((size_t)p.ncpus, sizeof(*p.vals));
	p.slots = calloc((size_t)p.ncpus, sizeof(*p.slots));
	if (p.ncpus <= 0 || !p.keys || !p.vals || !p.slots) {
		fprintf(stderr, "kdrop-probe: out of memory\n");
		return 1;
	}
	if (p.dir[0] != '\0' && (err = prepare_pin_dir(&p)) != 0) {
		printf("W unpinned: cannot use bpffs at %s: %s\n", p.dir, strerror(-err));
		p.dir[0] = '\0';
	}
	if (p.dir[0] != '\0') {
		if ((err = lock_pin_dir(&p, given_lock)) != 0) {
			/* Never touch a directory another kdrop holds. */
			fprintf(stderr, "kdrop-probe: cannot lock the pin directory %s: %s\n", p.dir,
				err == -EWOULDBLOCK ? "another kdrop holds it" : strerror(-err));
			return 1;
		}
		remove_stale_pins(&p);
	}
	if (resume(&p) != 0) {
		if ((err = start(&p, only)) != 0) {
			fprintf(stderr, "kdrop-probe: cannot attach to kfree_skb: %s\n", strerror(-err));
			remove_pins(&p);
			return 1;
		}
	}
	if ((err = map_ctl(&p)) != 0) {
		fprintf(stderr, "kdrop-probe: cannot mmap the control map: %s\n", strerror(-err));
		shutdown_probe(&p, 0);
		return 1;
	}
	if (p.resumed) {
		p.attach = (int)p.ctl->attach;
		/* The epoch a crashed loader may have been draining: finish it (kdrop skips keys it has). */
		__u64 epoch = __atomic_load_n(&p.ctl->epoch, __ATOMIC_ACQUIRE);
		sync_programs();
		if (epoch > 0)
			drain(&p, epoch - 1, "");
	} else {
		p.ctl->attach = (__u32)p.attach;
	}
	if (p.samples && p.sample_rate > 0) {
		p.rb = ring_buffer__new(bpf_map__fd(p.skel->maps.samples), on_sample, &p, NULL);
		if (!p.rb)
			printf("W no samples: cannot open the ring buffer: %s\n", strerror(errno));
	}
	if (p.floor_only)
		printf("W --floor: the attached program returns at once and counts nothing\n");
	printf("READY attach=%s pinned=%s resumed=%d epoch=%llu max_keys=%u samples=%d stacks=%d atomics=%d qdisc=%d\n",
	       attach_names[p.attach < 4 && p.attach >= 0 ? p.attach : 0], p.dir[0] ? p.dir : "none", p.resumed,
	       (unsigned long long)p.ctl->epoch, p.max_keys, p.rb != NULL, p.stacks, p.atomics, p.qdisc);
	fflush(stdout);

	next_dump = now_ms() + interval_ms;
	while (!quit) {
		struct pollfd pfds[2] = {
			{ .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = p.rb ? ring_buffer__epoll_fd(p.rb) : -1, .events = POLLIN },
		};
		int timeout = interval_ms > 0 ? (int)(next_dump - now_ms()) : 1000;
		if (poll(pfds, 2, timeout < 0 ? 0 : timeout > 1000 ? 1000 : timeout) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfds[1].revents & POLLIN)
			consume_samples(&p);
		if (getppid() != parent)
			break;
		if (interval_ms > 0 && now_ms() >= next_dump) {
			dump(&p, "");
			next_dump += interval_ms;
		}
		if (pfds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (!read_cmds(&in)) {
				stdin_open = 0;
				if (interval_ms <= 0)
					break; /* end of stdin: the parent is gone or done */
			}
		}
		while (next_cmd(&in, line, sizeof(line))) {
			int n = sscanf(line, "%15s %23s", cmd, id);
			if (n < 1)
				continue;
			if (n < 2)
				id[0] = '\0';
			for (char *x = id; *x; x++)
				if (*x < '0' || *x > '9')
					*x = '_';
			if (strcmp(cmd, "dump") == 0) {
				dump(&p, id);
			} else if (strcmp(cmd, "stop") == 0) {
				shutdown_probe(&p, 1);
				printf("BYE%s%s\n", id[0] ? " " : "", id);
				fflush(stdout);
				return 0;
			} else {
				printf("W unknown command\n");
				fflush(stdout);
			}
		}
	}
	/* A signal (SIGINT of a terminal reaches the whole process group), the end of stdin, or the parent's
	 * death: the final dump still goes out, so that whoever reads us gets every drop counted. */
	shutdown_probe(&p, 1);
	printf("BYE\n");
	fflush(stdout);
	return 0;
}
