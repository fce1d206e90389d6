#!/usr/bin/env bash
# Fetch the VM test matrix's kernels (test/vm/): every KDROP_VM_KERNEL_* pin of scripts/tools/versions.env,
# SUITE:PACKAGE=VERSION, a Debian cloud kernel package of that exact version, with a private apt state
# (lib/apt.bash; this machine's apt sources stay as they are). Only vmlinuz (its vmlinux BTF inside) and the
# kernel config are kept, in ${KDROP_TOOLS_CACHE}/vm-kernels/PACKAGE_VERSION/ {vmlinuz,config,release},
# with the few modules the tests load (modules/: nftables, veth).
# A pin of an arm64 package (linux-image-*-cloud-arm64) is fetched with an arm64 apt state; each cached kernel
# names its architecture in arch (amd64 when absent: kernels cached before arm64 was added).
# Idempotent: a kernel already cached is not fetched again. Stdout: one cached kernel directory a line.
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/apt.bash"

CACHE="$(kdrop_tools_cache)/vm-kernels"
kdrop_lock "$CACHE"
# A fetch that fails leaves nothing half-made behind (under the lock: no other fetch is running).
trap 'rm -rf "$CACHE"/.fetch.* "$CACHE/.apt"' EXIT

mapfile -t pins < <(env | sed -n 's/^KDROP_VM_KERNEL_[A-Z0-9_]*=//p' | sort -V)
[[ "${#pins[@]}" -gt 0 ]] || { echo "vm-kernels.sh: no KDROP_VM_KERNEL_* pin in versions.env" >&2; exit 1; }

key() { local pv="${1#*:}"; echo "${pv/=/_}" | sed 's/[^A-Za-z0-9.+_-]/_/g'; }

# The modules the VM tests load (nftables: nf_tables; veth for the interface drop counters; and what they
# depend on, read from each module's .modinfo), uncompressed, named NN-NAME.ko in load order: these kernels
# build netfilter and veth as modules. modules/.list names them: a kernel cached with another list is fetched again.
VM_MODULES=(nf_tables veth)
modules() {
  local from="$1" out="$2" f n
  declare -A file=()
  mkdir -p "$out/.raw"
  while IFS= read -r f; do
    n="$(basename "$f")"; n="${n%.xz}"; n="${n%.zst}"; n="${n%.ko}"
    case "$f" in
      *.xz) xz -dc "$f" > "$out/.raw/$n.ko" ;;
      *.zst) zstd -qdc "$f" > "$out/.raw/$n.ko" ;;
      *) cp "$f" "$out/.raw/$n.ko" ;;
    esac
    file[$n]="$out/.raw/$n.ko"
  done < <(find "$from" -name '*.ko*' -type f)
  local order=() seen=" "
  visit() {
    local m="${1//-/_}" dep
    [[ "$seen" == *" $m "* ]] && return 0
    seen+="$m "
    [[ -n "${file[$m]:-}" ]] || { echo "vm-kernels.sh: module $m not in the package" >&2; return 1; }
    for dep in $(grep -a -o 'depends=[^[:cntrl:]]*' "${file[$m]}" | head -n1 | sed 's/^depends=//' | tr ',' ' '); do visit "$dep"; done
    order+=("$m")
  }
  for n in "${VM_MODULES[@]}"; do visit "$n"; done
  local i=10
  for n in "${order[@]}"; do cp "${file[$n]}" "$out/$i-$n.ko"; i=$((i + 1)); done
  echo "${VM_MODULES[*]}" > "$out/.list"
  rm -rf "$out/.raw"
}

missing=()
for spec in "${pins[@]}"; do
  [[ "$spec" =~ ^[a-z-]+:linux-image-[^=]+=[^=]+$ ]] || { echo "vm-kernels.sh: bad pin '$spec' (expected SUITE:linux-image-...=VERSION)" >&2; exit 1; }
  [[ -s "$CACHE/$(key "$spec")/vmlinuz" && -s "$CACHE/$(key "$spec")/release" && "$(cat "$CACHE/$(key "$spec")/modules/.list" 2>/dev/null)" == "${VM_MODULES[*]}" ]] || missing+=("$spec")
done

# A kernel's architecture is its package's (linux-image-...-cloud-arm64: arm64), fetched with an apt state of that
# architecture.
arch_of() { case "${1%%=*}" in *-arm64) echo arm64 ;; *) echo amd64 ;; esac; }
for arch in amd64 arm64; do
  todo=()
  for spec in "${missing[@]}"; do [[ "$(arch_of "$spec")" == "$arch" ]] && todo+=("$spec"); done
  [[ "${#todo[@]}" -gt 0 ]] || continue
  suites=()
  for spec in "${todo[@]}"; do suites+=("${spec%%:*}"); done
  mapfile -t suites < <(printf '%s\n' "${suites[@]}" | sort -u)
  echo "vm-kernels.sh: fetching ${#todo[@]} $arch kernel(s) from ${suites[*]}" >&2
  rm -rf "$CACHE/.apt"
  KDROP_APT_ARCH="$arch" kdrop_apt_init "$CACHE/.apt" "${suites[@]}"
  for spec in "${todo[@]}"; do
    out="$CACHE/$(key "$spec")"
    tmp="$(mktemp -d "$CACHE/.fetch.XXXXXX")"
    deb="$(kdrop_apt_download "$spec" "$tmp")"
    debs=("$deb")
    # From 7.x (trixie-backports, sid) linux-image-* is a small package; vmlinuz is in linux-binary-* and the
    # config in linux-base-*, both of the same version, named in its Depends.
    ver="${spec##*=}"
    for dep in $(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-\(binary\|base\|modules\)-[^ ]*\) (= .*/\1/p'); do
      debs+=("$(kdrop_apt_download "${spec%%:*}:${dep}=${ver}" "$tmp")")
    done
    mkdir -p "$tmp/x"
    for d in "${debs[@]}"; do
      mapfile -t members < <(dpkg-deb -c "$d" | awk '{print $NF}' | grep -E '(/boot/(vmlinuz|config)-[^/]+|/lib/modules/[^/]+/(vmlinuz|config)|/kernel/(net/netfilter|lib|crypto|drivers/net)/[^/]+\.ko(\.xz|\.zst)?)$' || true)
      [[ "${#members[@]}" -eq 0 ]] || dpkg-deb --fsys-tarfile "$d" | tar -x -C "$tmp/x" "${members[@]}"
    done
    vmlinuz="$(find "$tmp/x" -type f \( -name 'vmlinuz-*' -o -name vmlinuz \) | head -n1)"
    config="$(find "$tmp/x" -type f \( -name 'config-*' -o -name config \) | head -n1)"
    [[ -n "$vmlinuz" && -n "$config" ]] || { echo "vm-kernels.sh: ${spec}: no vmlinuz or config in ${debs[*]##*/}" >&2; exit 1; }
    if [[ "$vmlinuz" == */vmlinuz ]]; then release="$(basename "$(dirname "$vmlinuz")")"; else release="${vmlinuz##*/vmlinuz-}"; fi
    mkdir -p "$tmp/k"
    mv "$vmlinuz" "$tmp/k/vmlinuz"
    mv "$config" "$tmp/k/config"
    modules "$tmp/x" "$tmp/k/modules"
    echo "$release" > "$tmp/k/release"
    echo "${spec}" > "$tmp/k/pin"
    echo "$arch" > "$tmp/k/arch"
    rm -rf "$out"
    mv "$tmp/k" "$out"
    rm -rf "$tmp"
    echo "vm-kernels.sh: $release ($(du -h "$out/vmlinuz" | cut -f1)) -> $out" >&2
  done
  rm -rf "$CACHE/.apt"
done
for spec in "${pins[@]}"; do echo "$CACHE/$(key "$spec")"; done
