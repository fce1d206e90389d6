#!/usr/bin/env bash
# Builds kdrop's kernel probe (probe/): the CO-RE BPF program, embedded through a bpftool skeleton in a
# statically linked libbpf loader, at build/probe/kdrop-probe (ignored by git; KDROP_PROBE_OUT overrides).
# Needs the Debian packages clang, llvm, libbpf-dev, libelf-dev, zlib1g-dev, libzstd-dev, bpftool, make,
# gcc (scripts/setup.sh installs them) and kernel BTF (/sys/kernel/btf/vmlinux, or VMLINUX_BTF=FILE).
# KDROP_PROBE_ARCH=arm64 on an x86-64 host cross-builds the arm64 probe at build/probe-arm64/kdrop-probe: the
# same BPF object (CO-RE: vmlinux.h of any kernel's BTF serves), the loader built with gcc-aarch64-linux-gnu and
# libc6-dev-arm64-cross against the arm64 static libraries of scripts/tools/arm64-sysroot.sh (fetched on first use
# into the tools cache). Stdout: the probe's path.
set -euo pipefail
cd "$(dirname "$0")/.."
arch="${KDROP_PROBE_ARCH:-native}"
case "$arch" in
  native|"$(uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')")
    out="${KDROP_PROBE_OUT:-$PWD/build/probe}"
    make -s -C probe OUT="$out" ${VMLINUX_BTF:+VMLINUX_BTF="$VMLINUX_BTF"} >&2 ;;
  arm64)
    out="${KDROP_PROBE_OUT:-$PWD/build/probe-arm64}"
    command -v aarch64-linux-gnu-gcc >/dev/null || { echo "build-probe.sh: no aarch64-linux-gnu-gcc (Debian: gcc-aarch64-linux-gnu libc6-dev-arm64-cross)" >&2; exit 1; }
    sysroot="$(bash scripts/tools/arm64-sysroot.sh | tail -n1)"
    make -s -C probe OUT="$out" ARCH=arm64 CC=aarch64-linux-gnu-gcc STRIP=aarch64-linux-gnu-strip SYSROOT="$sysroot" \
      ${VMLINUX_BTF:+VMLINUX_BTF="$VMLINUX_BTF"} >&2 ;;
  *) echo "build-probe.sh: KDROP_PROBE_ARCH=$arch: expected arm64 or this host's $(uname -m)" >&2; exit 1 ;;
esac
printf '%s\n' "$out/kdrop-probe"
