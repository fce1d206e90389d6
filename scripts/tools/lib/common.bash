# Shared by scripts/tools/*.sh and scripts/cluster.sh (sourced, not run).
#   kdrop_load_versions     exports the pins of scripts/tools/versions.env (an environment variable wins)
#   kdrop_tools_cache       the tools cache, ${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}
#   kdrop_lock DIR          mkdir DIR and hold an exclusive flock on DIR/.lock on fd 9 until the script exits
#   kdrop_module_src MOD@V DEST
#                           copies the source of a Go module at a version (from the module proxy) into DEST,
#                           writable, so it can be built with its own go.mod, go.sum and replace directives
KDROP_TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

kdrop_load_versions() {
  local k v
  while IFS='=' read -r k v; do
    [[ "$k" =~ ^[A-Z][A-Z0-9_]*$ ]] || continue
    if [[ -z "${!k:-}" ]]; then export "$k=$v"; fi
  done < "$KDROP_TOOLS_DIR/versions.env"
}

kdrop_tools_cache() { echo "${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}"; }

kdrop_lock() {
  mkdir -p "$1"
  exec 9>"$1/.lock"
  flock 9
}

kdrop_module_src() {
  local modver="$1" dest="$2" dir
  dir="$(GOFLAGS=-mod=mod go mod download -json "$modver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -n "$dir" && -d "$dir" ]] || { echo "cannot download the Go module $modver" >&2; return 1; }
  mkdir -p "$dest"
  cp -a "$dir/." "$dest/"
  chmod -R u+w "$dest"
}

kdrop_load_versions
