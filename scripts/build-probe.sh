#!/usr/bin/env bash
# Builds kdrop's kernel probe (probe/): the CO-RE BPF program, embedded through a bpftool skeleton in a
# statically linked libbpf loader, at build/probe/kdrop-probe (ignored by git; KDROP_PROBE_OUT overrides).
# Needs the Debian packages clang, llvm, libbpf-dev, libelf-dev, zlib1g-dev, libzstd-dev, bpftool, make,
# gcc (scripts/setup.sh installs them) and kernel BTF (/sys/kernel/btf/vmlinux, or VMLINUX_BTF=FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${KDROP_PROBE_OUT:-$PWD/build/probe}"
make -s -C probe OUT="$out" ${VMLINUX_BTF:+VMLINUX_BTF="$VMLINUX_BTF"} >&2
printf '%s\n' "$out/kdrop-probe"
