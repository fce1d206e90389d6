#!/usr/bin/env bash
# Builds containerd, ctr and containerd-shim-runc-v2 at $CONTAINERD_VERSION (scripts/tools/versions.env)
# from the containerd Go module into
#   ${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}/containerd-<version>/{containerd,ctr,containerd-shim-runc-v2}
# Static (cgo off; the btrfs, devmapper and zfs snapshotters, which need cgo or host tools, left out: the
# test cluster uses overlayfs/native). Prints the directory on its last stdout line; idempotent.
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"

DEST="$(kdrop_tools_cache)/containerd-$CONTAINERD_VERSION"
CMDS=(containerd ctr containerd-shim-runc-v2)
kdrop_lock "$DEST"
done=1
for c in "${CMDS[@]}"; do [[ -x "$DEST/$c" ]] || done=0; done
if [[ "$done" = 1 ]]; then echo "$DEST"; exit 0; fi
command -v go >/dev/null || { echo "containerd.sh: go is not installed" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/containerd-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "containerd.sh: building containerd $CONTAINERD_VERSION into $DEST" >&2
kdrop_module_src "github.com/containerd/containerd/v2@$CONTAINERD_VERSION" "$work/src"
(
  cd "$work/src"
  export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
  for c in "${CMDS[@]}"; do
    nice -n 10 go build -trimpath -tags "no_btrfs no_devmapper no_zfs urfave_cli_no_docs" \
      -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" \
      -o "$DEST/$c.tmp" "./cmd/$c" >&2
  done
)
for c in "${CMDS[@]}"; do mv "$DEST/$c.tmp" "$DEST/$c"; done
"$DEST/containerd" --version >&2
echo "$DEST"
