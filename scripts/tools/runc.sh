#!/usr/bin/env bash
# Builds runc at $RUNC_VERSION (scripts/tools/versions.env) from its Go module into
#   ${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}/runc-<version>/runc
# with cgo and `-tags seccomp` (Debian's libseccomp-dev and pkg-config: scripts/setup.sh --test), so the
# container runtime applies the runtime's default seccomp profile for real. Prints the binary's path on its
# last stdout line; idempotent.
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"

DEST="$(kdrop_tools_cache)/runc-$RUNC_VERSION"
BIN="$DEST/runc"
kdrop_lock "$DEST"
if [[ -x "$BIN" ]]; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || { echo "runc.sh: go is not installed" >&2; exit 1; }
pkg-config --exists libseccomp || { echo "runc.sh: libseccomp-dev (and pkg-config) are not installed" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/runc-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "runc.sh: building runc $RUNC_VERSION into $DEST" >&2
kdrop_module_src "github.com/opencontainers/runc@$RUNC_VERSION" "$work/src"
(
  cd "$work/src"
  CGO_ENABLED=1 GOFLAGS="-mod=mod -buildvcs=false" nice -n 10 go build -trimpath -tags seccomp \
    -ldflags "-s -w -X main.version=${RUNC_VERSION#v}" -o "$BIN.tmp" . >&2
)
mv "$BIN.tmp" "$BIN"
"$BIN" --version >&2
"$BIN" --version | grep -q '^libseccomp:' || { echo "runc.sh: the build has no seccomp support" >&2; rm -f "$BIN"; exit 1; }
echo "$BIN"
