/**
 * /init of the VM (busybox sh, PID 1). It mounts what kdrop needs (proc, sysfs, devtmpfs, tracefs, bpffs, a
 * tmpfs /run for `ip netns`), puts this kernel's config at /boot/config-RELEASE, loads its nftables modules, and runs the guest checks
 * (dist/test/vm/guest.js) as a child: kdrop must not be PID 1's child (its loader exits when its parent is
 * PID 1). The mode comes from the kernel command line (kdrop.mode=). Whatever happens, it powers off; the
 * host sees the exit line, or the hard timeout fires.
 */
export const initScript = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t tracefs tracefs /sys/kernel/tracing
mount -t bpf bpf /sys/fs/bpf
mkdir -p /run/netns
ip link set lo up
r=$(uname -r)
cp "/kconfigs/$r" "/boot/config-$r" 2>/dev/null || echo "@@KDROP-VM-PROGRESS@@ no config for $r in the initramfs"
for m in /kmods/$r/*.ko; do [ -e "$m" ] && { insmod "$m" || echo "@@KDROP-VM-PROGRESS@@ insmod $m failed"; }; done
# Every kdrop start after the first reuses V8's compiled code (a Node start under TCG costs seconds).
export NODE_COMPILE_CACHE=/tmp/node-compile-cache
mode=matrix
for a in $(cat /proc/cmdline); do case "$a" in kdrop.mode=*) mode="\${a#kdrop.mode=}";; esac; done
echo "@@KDROP-VM-START@@ $r $(nproc) cpus"
cd /kdrop
KDROP_LOG_LEVEL=info /usr/bin/node dist/test/vm/guest.js "$mode"
echo "@@KDROP-VM-EXIT@@ $?"
sync
poweroff -f
`;
