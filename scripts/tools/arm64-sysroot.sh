#!/usr/bin/env bash
# The arm64 libraries the arm64 kernel probe links statically (scripts/build-probe.sh with KDROP_PROBE_ARCH=arm64):
# the .debs of KDROP_ARM64_SYSROOT (versions.env: SUITE:PKG=VERSION,PKG=VERSION...; libbpf, libelf, zlib, zstd
# -dev), fetched with a private arm64 apt state (lib/apt.bash; this machine's apt sources and dpkg architectures
# stay as they are) and unpacked with dpkg-deb -x into ${KDROP_TOOLS_CACHE}/arm64-sysroot-KEY/root (usr/include,
# usr/lib/aarch64-linux-gnu/*.a). The C library and compiler are Debian's cross toolchain (gcc-aarch64-linux-gnu,
# libc6-dev-arm64-cross; scripts/setup.sh installs them). Idempotent, under a lock. Last line of stdout: the root.
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/apt.bash"

spec="${KDROP_ARM64_SYSROOT:?no KDROP_ARM64_SYSROOT pin}"
suite="${spec%%:*}"
IFS=',' read -r -a pkgs <<< "${spec#*:}"
key="$(printf '%s\n' "${pkgs[@]}" | sha256sum | cut -c1-12)"
DIR="$(kdrop_tools_cache)/arm64-sysroot-${key}"
kdrop_lock "$DIR"
if [[ -s "$DIR/root/usr/lib/aarch64-linux-gnu/libbpf.a" && -s "$DIR/root/usr/include/bpf/libbpf.h" ]]; then
  echo "$DIR/root"
  exit 0
fi
echo "arm64-sysroot.sh: fetching ${pkgs[*]} (arm64) from $suite" >&2
rm -rf "$DIR/root" "$DIR/.apt" "$DIR/.root"
trap 'rm -rf "$DIR/.apt" "$DIR/.root"' EXIT
: > "$DIR/.status"
KDROP_APT_ARCH=arm64 KDROP_APT_STATUS="$DIR/.status" kdrop_apt_init "$DIR/.apt" "$suite" "$suite-updates" "$suite-security"
mkdir -p "$DIR/.root"
for pv in "${pkgs[@]}"; do
  deb="$(kdrop_apt_download "$suite:$pv" "$DIR/.apt/debs")"
  [[ "$(dpkg-deb -f "$deb" Architecture)" == arm64 ]] || { echo "arm64-sysroot.sh: $deb is not arm64" >&2; exit 1; }
  dpkg-deb -x "$deb" "$DIR/.root"
done
for a in libbpf libelf libz libzstd; do
  [[ -s "$DIR/.root/usr/lib/aarch64-linux-gnu/$a.a" ]] || { echo "arm64-sysroot.sh: no $a.a in ${pkgs[*]}" >&2; exit 1; }
done
mv "$DIR/.root" "$DIR/root"
rm -f "$DIR/.status"
echo "$DIR/root"
