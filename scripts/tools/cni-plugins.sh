#!/usr/bin/env bash
# Builds the standard CNI plugins the test cluster uses (bridge, host-local, loopback; no hostPorts, so no portmap) at
# $CNI_PLUGINS_VERSION (scripts/tools/versions.env) from their Go module into
#   ${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}/cni-plugins-<version>/<plugin>
# Static (cgo off). Prints the directory (kubelet/containerd's CNI bin dir) on its last stdout line; idempotent.
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"

DEST="$(kdrop_tools_cache)/cni-plugins-$CNI_PLUGINS_VERSION"
PLUGINS=(main/bridge main/loopback ipam/host-local)
kdrop_lock "$DEST"
done=1
for p in "${PLUGINS[@]}"; do [[ -x "$DEST/${p#*/}" ]] || done=0; done
if [[ "$done" = 1 ]]; then echo "$DEST"; exit 0; fi
command -v go >/dev/null || { echo "cni-plugins.sh: go is not installed" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/cni-plugins-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "cni-plugins.sh: building CNI plugins $CNI_PLUGINS_VERSION into $DEST" >&2
kdrop_module_src "github.com/containernetworking/plugins@$CNI_PLUGINS_VERSION" "$work/src"
(
  cd "$work/src"
  export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
  for p in "${PLUGINS[@]}"; do
    nice -n 10 go build -trimpath \
      -ldflags "-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" \
      -o "$DEST/${p#*/}.tmp" "./plugins/$p" >&2
  done
)
for p in "${PLUGINS[@]}"; do mv "$DEST/${p#*/}.tmp" "$DEST/${p#*/}"; done
echo "$DEST"
