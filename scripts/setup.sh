#!/usr/bin/env bash
# Sets up this host for kdrop. Idempotent.
#   scripts/setup.sh          what `kdrop watch` needs: the kernel probe (built here from probe/ with clang and
#                             libbpf: build/probe/kdrop-probe), bpftrace (fallback), nftables/iproute2 (tests),
#                             tracefs, npm deps
#   scripts/setup.sh --test   also what the test suite needs: Prometheus, buildah, debootstrap, etcd, tmux,
#                             a Go toolchain, and the Go-built tools (OpenTelemetry Collector, Helm, the test
#                             cluster's Kubernetes components, containerd, runc, CNI plugins, actionlint; pins
#                             in scripts/tools/versions.env) cached outside the clone, and the VM matrix's
#                             Debian kernels, QEMU 10 and busybox (scripts/tools/vm-*.sh, docs/kernels.md), and the
#                             arm64 probe and VM (cross compiler, arm64 libraries, kernel, userland, Node)
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

say() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

pkgs=(bpftrace nftables iproute2 libcap2-bin util-linux)
# Build dependencies of the kernel probe (scripts/build-probe.sh): static libbpf, libelf, zlib, zstd.
pkgs+=(clang llvm libbpf-dev libelf-dev zlib1g-dev libzstd-dev bpftool make gcc libc6-dev)
if [ "$want_test" = 1 ]; then
  # curl + unzip fetch a Go toolchain when none is installed (scripts/go-toolchain.sh); gcc/libc6-dev for cgo
  # builds and bench/dropgen.c; libseccomp-dev, pkg-config: runc with seccomp (scripts/tools/runc.sh);
  # openssl, conntrack: the test cluster (scripts/cluster.sh: certificates; kube-proxy's conntrack cleanup);
  # tmux: the terminal test of kdrop top.
  # debian-archive-keyring, xz-utils, zstd: the VM matrix's kernels and QEMU (scripts/tools/vm-kernels.sh,
  # vm-qemu.sh: private apt state, modules unpacked from .ko.xz/.ko.zst).
  pkgs+=(prometheus buildah debootstrap etcd-server ca-certificates curl unzip gcc libc6-dev libseccomp-dev pkg-config openssl conntrack tmux)
  pkgs+=(debian-archive-keyring xz-utils zstd)
  # The arm64 kernel probe, cross-built for the arm64 VM (scripts/build-probe.sh with KDROP_PROBE_ARCH=arm64).
  pkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
fi
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    say "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # policy-rc.d keeps Debian from starting the packaged Prometheus/etcd services: tests start their own.
    as_root sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    as_root rm -f /usr/sbin/policy-rc.d
  else
    say "not a Debian/Ubuntu host: install these yourself: ${missing[*]}"
  fi
fi

if [ ! -e /sys/kernel/tracing/events ] && [ ! -e /sys/kernel/debug/tracing/events ]; then
  say "mounting tracefs at /sys/kernel/tracing"
  as_root mount -t tracefs nodev /sys/kernel/tracing || say "could not mount tracefs (kdrop doctor says more)"
fi

if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (Node 24 comes from the npm package 'node')"
  # npm is a Node program: on a host whose Node is older than 24 it would run there and warn (EBADENGINE)
  # about every package that needs 24. So Node 24 is fetched first (the same npm package, pinned in
  # package.json) into .cache/, and npm runs on it.
  node_pin="$(sed -n 's/^ *"node": "\([0-9][0-9.]*\)",\{0,1\}$/\1/p' package.json | head -n1)"
  if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || true)" != "${node_pin%%.*}" ]; then
    boot=".cache/npm-node-$node_pin"
    if [ ! -x "$boot/node_modules/.bin/node" ]; then
      mkdir -p "$boot" && printf '{"private":true,"allowScripts":{"node":true}}\n' > "$boot/package.json"
      npm install --prefix "$boot" --no-save --no-package-lock --no-audit --no-fund "node@$node_pin" >&2
    fi
    export PATH="$PWD/$boot/node_modules/.bin:$PATH"
  fi
  npm ci --no-audit --no-fund
fi

if [ -e /sys/kernel/btf/vmlinux ]; then
  say "building the kernel probe (scripts/build-probe.sh)"
  bash scripts/build-probe.sh >/dev/null || say "could not build the kernel probe; --source auto falls back to bpftrace"
else
  say "no kernel BTF (/sys/kernel/btf/vmlinux): the kernel probe cannot be built or loaded here; bpftrace is used"
fi

if [ "$want_test" = 1 ]; then
  export KDROP_TOOLS_CACHE="${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}"
  as_root mkdir -p "$KDROP_TOOLS_CACHE"
  # A Go new enough for the tools' modules: the installed one, or the official toolchain from the module proxy.
  go_bin="$(bash scripts/go-toolchain.sh)"
  export PATH="$go_bin:$PATH"
  for tool in scripts/tools/*.sh; do
    [ -e "$tool" ] || continue
    # Not a tool of its own: the Node binary of an architecture for the image build and vm-arm64.sh, which
    # run it with its arguments (ARCH OUT).
    [ "$tool" = scripts/tools/node-linux.sh ] && continue
    say "tool: $tool"
    bash "$tool" >&2
  done
  say "building the arm64 kernel probe (scripts/build-probe.sh, KDROP_PROBE_ARCH=arm64) for the arm64 VM"
  KDROP_PROBE_ARCH=arm64 bash scripts/build-probe.sh >/dev/null || say "could not build the arm64 probe (the VM matrix's arm64 kernel will fail naming why)"
  # bpftrace 0.23 (Debian 13, what the image ships) for the kernel tests of the rawtracepoint dialect,
  # in a chroot: this host's apt sources stay as they are.
  say "tool: scripts/trixie-chroot.sh"
  bash scripts/trixie-chroot.sh >&2
fi
say "ready"
