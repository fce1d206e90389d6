#!/usr/bin/env bash
# QEMU and busybox for the VM test matrix (test/vm/), unpacked (dpkg-deb -x, never installed) into
# ${KDROP_TOOLS_CACHE}/vm-qemu-VERSION/root with a private apt state (lib/apt.bash; this machine's apt sources stay
# as they are). Pins in versions.env: KDROP_VM_QEMU (bookworm's QEMU 7.2 crashes some kernels under TCG; 10 from
# bookworm-backports does not) and KDROP_VM_BUSYBOX (the static busybox of the VM's init). The libraries QEMU
# needs that this machine lacks are resolved against its dpkg status and unpacked beside it; bin/qemu-system-x86_64
# is a wrapper that finds them and QEMU's firmware there. Idempotent. Last line of stdout: the cache directory
# (bin/qemu-system-x86_64, bin/busybox).
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/apt.bash"

spec="${KDROP_VM_QEMU:?no KDROP_VM_QEMU pin}"
bb="${KDROP_VM_BUSYBOX:?no KDROP_VM_BUSYBOX pin}"
key="$(echo "${spec##*=}_${bb##*=}" | sed 's/[^A-Za-z0-9.+_-]/_/g')"
DIR="$(kdrop_tools_cache)/vm-qemu-${key}"
kdrop_lock "$DIR"
if [[ -x "$DIR/bin/qemu-system-x86_64" && -x "$DIR/bin/busybox" ]] && "$DIR/bin/qemu-system-x86_64" --version >/dev/null 2>&1; then
  echo "$DIR"
  exit 0
fi

suite="${spec%%:*}"
base="${suite%-backports}"
echo "vm-qemu.sh: fetching ${spec#*:} and ${bb#*:}" >&2
rm -rf "$DIR/root" "$DIR/bin" "$DIR/.apt"
kdrop_apt_init "$DIR/.apt" "$base" "$base-updates" "$base-security" "$suite" "${bb%%:*}"
# Download only: the package and whatever of its dependencies this machine's dpkg status lacks.
kdrop_apt install -d -y -qq --no-install-recommends -t "$suite" "${spec#*:}" >&2 || {
  echo "vm-qemu.sh: cannot fetch ${spec#*:} from $suite with its dependencies" >&2; exit 1; }
kdrop_apt_download "$bb" "$DIR/.apt/cache/archives" >/dev/null
mkdir -p "$DIR/root" "$DIR/bin"
for deb in "$DIR"/.apt/cache/archives/*.deb; do dpkg-deb -x "$deb" "$DIR/root"; done
cp "$DIR/root/bin/busybox" "$DIR/bin/busybox"
cat > "$DIR/bin/qemu-system-x86_64" <<WRAP
#!/bin/sh
# QEMU ${spec##*=} unpacked from its .deb (scripts/tools/vm-qemu.sh): its libraries and firmware are beside it.
r="\$(dirname "\$0")/../root"
LD_LIBRARY_PATH="\$r/usr/lib/x86_64-linux-gnu:\$r/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" \\
  exec "\$r/usr/bin/qemu-system-x86_64" -L "\$r/usr/share/qemu" -L "\$r/usr/share/seabios" "\$@"
WRAP
chmod +x "$DIR/bin/qemu-system-x86_64"
"$DIR/bin/qemu-system-x86_64" --version | head -n1 >&2
"$DIR/bin/busybox" --help 2>&1 | head -n1 >&2
rm -rf "$DIR/.apt"
echo "$DIR"
