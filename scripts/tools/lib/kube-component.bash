# Builds one Kubernetes command (kube-apiserver, kubelet, ...) from the Kubernetes Go modules at
# $KUBERNETES_VERSION into
#   ${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}/<name>-<version>/<name>
# and prints the binary's path on its last stdout line. Idempotent: skips the build when the binary exists.
# Usage (from a script in scripts/tools/): source lib/kube-component.bash; kdrop_build_kube_component NAME
#
# k8s.io/kubernetes cannot be required as a plain dependency: its go.mod replaces every k8s.io/* staging
# module with ./staging/src/k8s.io/<name> (and requires them at v0.0.0). This reads that go.mod from the
# module proxy and, in a scratch module, replaces each staging module with its published release at the
# matching version (Kubernetes v1.X.Y <-> staging v0.X.Y). Then `go get` of the command's own package adds
# what it alone needs to go.sum (kube-proxy needs more than the others), and `go build` links it static.
#
# Heavy: minutes of CPU each (the Go build cache shares most packages between the commands).
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

kdrop_build_kube_component() {
  local name="$1" version="${KUBERNETES_VERSION}"
  local dest bin work gomod staging_version m
  dest="$(kdrop_tools_cache)/$name-$version"
  bin="$dest/$name"
  kdrop_lock "$dest"
  if [[ -x "$bin" ]]; then
    echo "$bin"
    return 0
  fi
  command -v go >/dev/null || { echo "$name: go is not installed" >&2; return 1; }
  staging_version="v0.${version#v1.}"
  work="$(mktemp -d "${TMPDIR:-/tmp}/$name-build.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  echo "$name: building $version into $dest" >&2
  (
    cd "$work"
    export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0
    gomod="$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
    [[ -f "$gomod" ]] || { echo "$name: cannot download go.mod of k8s.io/kubernetes@$version" >&2; exit 1; }
    local -a staging
    mapfile -t staging < <(grep -oE '^[[:space:]]*k8s\.io/[A-Za-z0-9._-]+ => \./staging/' "$gomod" | awk '{print $1}' | sort -u)
    [[ ${#staging[@]} -gt 0 ]] || { echo "$name: no staging replace directives found in $gomod" >&2; exit 1; }
    printf 'module kdrop.local/%s-build\n\ngo 1.24\n' "$name" > go.mod
    for m in "${staging[@]}"; do
      go mod edit -replace "$m=$m@$staging_version"
    done
    go mod edit -require "k8s.io/kubernetes@$version"
    printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/%s"\n' "$name" > tools.go
    # tidy only pre-fills go.sum; the go get below is what must succeed.
    go mod tidy -e >&2 || echo "kube-component.bash: go mod tidy -e reported unresolvable imports (above); the go get below must succeed" >&2
    go get "k8s.io/kubernetes/cmd/$name@$version" >&2
    nice -n 10 go build -trimpath -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=$version \
      -X k8s.io/client-go/pkg/version.gitVersion=$version" \
      -o "$bin.tmp" "k8s.io/kubernetes/cmd/$name" >&2
  )
  mv "$bin.tmp" "$bin"
  if [[ "$name" == kubectl ]]; then "$bin" version --client >&2; else "$bin" --version >&2; fi
  echo "$bin"
}
