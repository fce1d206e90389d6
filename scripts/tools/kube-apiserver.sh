#!/usr/bin/env bash
# Builds kube-apiserver from the Kubernetes Go modules at a pinned version into
#   ${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}/kube-apiserver-<version>/kube-apiserver
# and prints the binary's path on its last stdout line. Idempotent: skips the build when the binary exists.
#
# k8s.io/kubernetes cannot be required as a plain dependency: its go.mod replaces every k8s.io/* staging
# module with ./staging/src/k8s.io/<name> (and requires them at v0.0.0). This script reads that go.mod from
# the module proxy and, in a scratch module, replaces each staging module with its published release at the
# matching version (Kubernetes v1.X.Y <-> staging v0.X.Y).
#
# Heavy: several minutes to tens of minutes of CPU. Run it niced: `nice -n 10 scripts/tools/kube-apiserver.sh`.
set -euo pipefail

VERSION="${KUBE_APISERVER_VERSION:-v1.35.4}"
CACHE="${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}"
DEST="$CACHE/kube-apiserver-$VERSION"
BIN="$DEST/kube-apiserver"

if [[ -x "$BIN" ]]; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { echo "kube-apiserver.sh: go is not installed" >&2; exit 1; }
STAGING_VERSION="v0.${VERSION#v1.}"

work="$(mktemp -d "${TMPDIR:-/tmp}/kube-apiserver-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"

export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0

# The upstream go.mod, to learn which modules are staging modules.
gomod="$(go mod download -json "k8s.io/kubernetes@$VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[[ -f "$gomod" ]] || { echo "kube-apiserver.sh: cannot download go.mod of k8s.io/kubernetes@$VERSION" >&2; exit 1; }
mapfile -t staging < <(grep -oE '^[[:space:]]*k8s\.io/[A-Za-z0-9._-]+ => \./staging/' "$gomod" | awk '{print $1}' | sort -u)
[[ ${#staging[@]} -gt 0 ]] || { echo "kube-apiserver.sh: no staging replace directives found in $gomod" >&2; exit 1; }

cat > go.mod <<MOD
module kdrop.local/kube-apiserver-build

go 1.24
MOD
for m in "${staging[@]}"; do
  go mod edit -replace "$m=$m@$STAGING_VERSION"
done
go mod edit -require "k8s.io/kubernetes@$VERSION"
cat > tools.go <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
# -e: tidy reports (on stderr) the test-only imports of k8s.io/kubernetes the proxy cannot resolve and goes on;
# a package the apiserver itself needs that is missing fails `go build` below.
go mod tidy -e >&2 || echo "kube-apiserver.sh: go mod tidy -e reported unresolvable imports (above); building anyway" >&2
go get "k8s.io/kubernetes/cmd/kube-apiserver@$VERSION"
mkdir -p "$DEST"
go build -trimpath -ldflags "-s -w \
  -X k8s.io/component-base/version.gitVersion=$VERSION \
  -X k8s.io/client-go/pkg/version.gitVersion=$VERSION" \
  -o "$BIN.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "$BIN.tmp" "$BIN"
echo "$BIN"
