#!/usr/bin/env bash
# Extracts the raw vmlinux BTF (.BTF section) from a kernel image (vmlinuz: bzImage with a zstd, lz4, xz
# or gzip payload; or an uncompressed vmlinux ELF). Used to keep the reason lists of the kernels kdrop is
# tested on as fixtures (test/fixtures/kernel/reasons-*.txt, see its README).
#   scripts/kernel-btf.sh VMLINUZ OUT.btf
set -euo pipefail
img="${1:?usage: kernel-btf.sh VMLINUZ OUT.btf}"
out="${2:?usage: kernel-btf.sh VMLINUZ OUT.btf}"
[ -r "$img" ] || { echo "kernel-btf: cannot read $img" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

is_elf() { [ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; }

if is_elf "$img"; then
  cp "$img" "$tmp/vmlinux"
else
  # magic (as a grep -P pattern) and the command that decompresses a stream starting there
  tries=(
    '\x28\xb5\x2f\xfd|unzstd -qc'
    '\x02\x21\x4c\x18|lz4 -dc'
    '\xfd\x37\x7a\x58\x5a\x00|xz -dqc'
    '\x1f\x8b\x08|gzip -dqc'
  )
  for t in "${tries[@]}"; do
    magic="${t%%|*}"; cmd="${t#*|}"
    for off in $(LC_ALL=C grep -obUaP "$magic" "$img" | cut -d: -f1 | head -n 8); do
      tail -c +"$((off + 1))" "$img" | $cmd > "$tmp/vmlinux" 2>/dev/null || true
      if [ -s "$tmp/vmlinux" ] && is_elf "$tmp/vmlinux"; then break 2; fi
      rm -f "$tmp/vmlinux"
    done
  done
fi
[ -s "$tmp/vmlinux" ] || { echo "kernel-btf: no vmlinux found inside $img (tried zstd, lz4, xz, gzip payloads)" >&2; exit 1; }
objcopy --dump-section .BTF="$out" "$tmp/vmlinux" 2>/dev/null \
  || { echo "kernel-btf: $img has no .BTF section (a kernel built without CONFIG_DEBUG_INFO_BTF)" >&2; exit 1; }
