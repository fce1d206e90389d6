#!/usr/bin/env bash
# Makes a Go toolchain of at least $GO_MIN available for the Go-built test tools and prints its bin
# directory on stdout. Uses `go` from PATH (or /usr/local/go) when it is new enough; otherwise fetches
# the official toolchain module (golang.org/toolchain, the same files `GOTOOLCHAIN` downloads) from the
# Go module proxy into ${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}/go-<version>/. Debian 12's golang-go
# (1.19) is too old for the modules the tools pin.
set -euo pipefail

GO_VERSION="${KDROP_GO_VERSION:-1.26.8}"   # fetched when no new enough Go is installed
GO_MIN="${KDROP_GO_MIN:-1.25}"             # the newest `go` line any tool's go.mod asks for
CACHE="${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}"
PROXY="${GOPROXY:-https://proxy.golang.org}"; PROXY="${PROXY%%,*}"

new_enough() { # $1 = go binary
  local v; v="$("$1" env GOVERSION 2>/dev/null)" || return 1; v="${v#go}"
  [ "$(printf '%s\n%s\n' "$GO_MIN" "$v" | sort -V | head -n1)" = "$GO_MIN" ]
}

for cand in "$(command -v go || true)" /usr/local/go/bin/go; do
  if [ -n "$cand" ] && [ -x "$cand" ] && new_enough "$cand"; then dirname "$cand"; exit 0; fi
done

dest="$CACHE/go-$GO_VERSION"
if [ ! -x "$dest/bin/go" ]; then
  case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) echo "go-toolchain.sh: unsupported machine $(uname -m)" >&2; exit 1 ;; esac
  mod="v0.0.1-go$GO_VERSION.linux-$arch"
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
  echo "go-toolchain.sh: fetching Go $GO_VERSION (golang.org/toolchain@$mod) from $PROXY" >&2
  curl -fsSL --retry 3 -o "$work/go.zip" "$PROXY/golang.org/toolchain/@v/$mod.zip"
  unzip -q "$work/go.zip" -d "$work/x"
  mkdir -p "$CACHE"
  rm -rf "$dest.tmp" && mv "$work/x/golang.org/toolchain@$mod" "$dest.tmp"
  chmod -R a+rX "$dest.tmp" && chmod a+x "$dest.tmp"/bin/* "$dest.tmp"/pkg/tool/*/*
  mv "$dest.tmp" "$dest"
fi
new_enough "$dest/bin/go" || { echo "go-toolchain.sh: $dest/bin/go is not Go >= $GO_MIN" >&2; exit 1; }
echo "$dest/bin"
