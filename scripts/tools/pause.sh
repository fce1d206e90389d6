#!/usr/bin/env bash
# Builds the test cluster's pod sandbox image without a registry: a static pause binary
# (scripts/cluster/pause.go) as the only file of an OCI image, written as an OCI archive to
#   ${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}/pause-<sha of pause.go>/pause.oci.tar
# that scripts/cluster.sh imports with `ctr images import` as localhost/kdrop-pause:<sha>. Prints the archive's
# path on its last stdout line; idempotent. Needs go, tar and sha256sum.
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"

SRC="$KDROP_TOOLS_DIR/../cluster/pause.go"
TAG="$(sha256sum "$SRC" | cut -c1-12)"
DEST="$(kdrop_tools_cache)/pause-$TAG"
OUT="$DEST/pause.oci.tar"
kdrop_lock "$DEST"
if [[ -s "$OUT" ]]; then echo "$OUT"; exit 0; fi
command -v go >/dev/null || { echo "pause.sh: go is not installed" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/pause-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs" "$work/oci/blobs/sha256" "$work/mod"
cp "$SRC" "$work/mod/main.go"
(cd "$work/mod" && printf 'module kdrop.local/pause\n\ngo 1.24\n' > go.mod &&
  CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w" -o "$work/rootfs/pause" .)

blob() { # FILE -> prints "sha256:<hex> <size>" and stores it under blobs/
  local h; h="$(sha256sum "$1" | cut -d' ' -f1)"
  cp "$1" "$work/oci/blobs/sha256/$h"
  echo "sha256:$h $(stat -c %s "$1")"
}
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/rootfs" -cf "$work/layer.tar" pause
read -r layer layer_size < <(blob "$work/layer.tar")
cat > "$work/config.json" <<JSON
{"architecture":"$(go env GOARCH)","os":"linux","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["$layer"]}}
JSON
read -r config config_size < <(blob "$work/config.json")
cat > "$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$config","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"$layer","size":$layer_size}]}
JSON
read -r manifest manifest_size < <(blob "$work/manifest.json")
echo '{"imageLayoutVersion":"1.0.0"}' > "$work/oci/oci-layout"
cat > "$work/oci/index.json" <<JSON
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"$manifest","size":$manifest_size,"annotations":{"io.containerd.image.name":"localhost/kdrop-pause:$TAG","org.opencontainers.image.ref.name":"$TAG"}}]}
JSON
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/oci" -cf "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"
echo "$OUT"
