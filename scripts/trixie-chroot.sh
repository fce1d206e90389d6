#!/usr/bin/env bash
# Builds (idempotently) a Debian 13 (trixie) minbase chroot with bpftrace 0.23 for kernel tests of the
# rawtracepoint dialect, without touching this machine's apt sources. Prints the chroot path on its last
# stdout line.
#
#   scripts/trixie-chroot.sh            build if missing, print the path
#   scripts/trixie-chroot.sh mount      also bind-mount /proc, /sys, tracefs, BTF (idempotent)
#   scripts/trixie-chroot.sh umount     undo the mounts
#
# Run a program inside: chroot "$(scripts/trixie-chroot.sh mount | tail -1)" bpftrace --version
set -euo pipefail

cache="${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}"
dir="$cache/trixie-chroot"
mirror="${KDROP_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
stamp="$dir/.kdrop-ready"

is_mounted() { mountpoint -q "$1" 2>/dev/null; }

do_mount() {
  mkdir -p "$dir/proc" "$dir/sys"
  is_mounted "$dir/proc" || mount --bind /proc "$dir/proc"
  is_mounted "$dir/sys" || mount --bind /sys "$dir/sys"
  if [ -d /sys/kernel/tracing ] && ! is_mounted "$dir/sys/kernel/tracing"; then
    mkdir -p "$dir/sys/kernel/tracing"
    mount --bind /sys/kernel/tracing "$dir/sys/kernel/tracing" 2>/dev/null || true
  fi
  if [ -d /sys/kernel/debug ] && [ -d "$dir/sys/kernel/debug" ] && ! is_mounted "$dir/sys/kernel/debug"; then
    mount --bind /sys/kernel/debug "$dir/sys/kernel/debug" 2>/dev/null || true
  fi
  # /sys/kernel/btf comes with the /sys bind mount; check it is visible.
  [ -r "$dir/sys/kernel/btf/vmlinux" ] || echo "warning: $dir/sys/kernel/btf/vmlinux not readable" >&2
}

do_umount() {
  for m in sys/kernel/debug sys/kernel/tracing sys proc; do
    if is_mounted "$dir/$m"; then umount -l "$dir/$m" || true; fi
  done
}

case "${1:-build}" in
  umount) do_umount; echo "$dir"; exit 0 ;;
  build|mount) ;;
  *) echo "usage: $0 [build|mount|umount]" >&2; exit 2 ;;
esac

if [ ! -e "$stamp" ]; then
  [ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
  if ! command -v debootstrap >/dev/null; then
    apt-get install -y debootstrap >&2
  fi
  do_umount
  rm -rf "$dir"
  mkdir -p "$cache"
  debootstrap --variant=minbase --include=bpftrace trixie "$dir" "$mirror" >&2
  chroot "$dir" bpftrace --version >&2
  touch "$stamp"
fi

if [ "${1:-build}" = mount ]; then do_mount; fi
echo "$dir"
