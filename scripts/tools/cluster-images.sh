#!/usr/bin/env bash
# Builds the test cluster's own images without a registry or a base image: each program in
# scripts/cluster/<name>/main.go (pause: the pod sandbox; udp-burst: the cluster test's workload) as a static
# binary, the only file of an OCI image, written as an OCI archive to
#   ${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}/cluster-images-<sha of the sources>/<name>.oci.tar
# with the image name localhost/kdrop-<name>:<sha>, for `ctr images import` (scripts/cluster.sh).
# Prints the directory on its last stdout line; idempotent. Needs go, tar and sha256sum.
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"

SRC="$KDROP_TOOLS_DIR/../cluster"
NAMES=(pause udp-burst)
TAG="$(cd "$SRC" && cat "${NAMES[@]/%//main.go}" "$KDROP_TOOLS_DIR/cluster-images.sh" | sha256sum | cut -c1-12)"
DEST="$(kdrop_tools_cache)/cluster-images-$TAG"
kdrop_lock "$DEST"
done=1
for n in "${NAMES[@]}"; do [[ -s "$DEST/$n.oci.tar" ]] || done=0; done
if [[ "$done" = 1 ]]; then echo "$DEST"; exit 0; fi
command -v go >/dev/null || { echo "cluster-images.sh: go is not installed" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/cluster-images.XXXXXX")"
trap 'rm -rf "$work"' EXIT

image() { # NAME: builds $DEST/NAME.oci.tar
  local name="$1" w="$work/$1" layer layer_size config config_size manifest manifest_size
  mkdir -p "$w/rootfs" "$w/oci/blobs/sha256" "$w/mod"
  cp "$SRC/$name/main.go" "$w/mod/main.go"
  (cd "$w/mod" && printf 'module kdrop.local/%s\n\ngo 1.24\n' "$name" > go.mod &&
    CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w" -o "$w/rootfs/$name" .)
  blob() { # FILE -> "sha256:<hex> <size>", stored under blobs/
    local h; h="$(sha256sum "$1" | cut -d' ' -f1)"
    cp "$1" "$w/oci/blobs/sha256/$h"
    echo "sha256:$h $(stat -c %s "$1")"
  }
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$w/rootfs" -cf "$w/layer.tar" "$name"
  read -r layer layer_size < <(blob "$w/layer.tar")
  printf '{"architecture":"%s","os":"linux","config":{"Entrypoint":["/%s"],"User":"65534:65534"},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
    "$(go env GOARCH)" "$name" "$layer" > "$w/config.json"
  read -r config config_size < <(blob "$w/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" > "$w/manifest.json"
  read -r manifest manifest_size < <(blob "$w/manifest.json")
  echo '{"imageLayoutVersion":"1.0.0"}' > "$w/oci/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"io.containerd.image.name":"localhost/kdrop-%s:%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest" "$manifest_size" "$name" "$TAG" "$TAG" > "$w/oci/index.json"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$w/oci" -cf "$DEST/$name.oci.tar.tmp" .
  mv "$DEST/$name.oci.tar.tmp" "$DEST/$name.oci.tar"
}
for n in "${NAMES[@]}"; do image "$n"; done
echo "$DEST"
