#!/usr/bin/env bash
# Builds actionlint (the GitHub Actions workflow linter) at $ACTIONLINT_VERSION (scripts/tools/versions.env)
# from its Go module into
#   ${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}/actionlint-<version>/actionlint
# Prints the binary's path on its last stdout line; idempotent. Used by test/unit/release-workflow.test.ts.
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"

DEST="$(kdrop_tools_cache)/actionlint-$ACTIONLINT_VERSION"
BIN="$DEST/actionlint"
kdrop_lock "$DEST"
if [[ -x "$BIN" ]]; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || { echo "actionlint.sh: go is not installed" >&2; exit 1; }
echo "actionlint.sh: building actionlint $ACTIONLINT_VERSION into $DEST" >&2
(
  cd "$(mktemp -d)"
  CGO_ENABLED=0 GOBIN="$DEST" GOFLAGS=-mod=mod nice -n 10 go install -trimpath \
    -ldflags "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" \
    "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" >&2
)
"$BIN" -version >&2
echo "$BIN"
