#!/usr/bin/env bash
# Make a local stand-in for the base image node:24-trixie-slim, for hosts that cannot reach a registry.
#
# The real image (docker.io/library/node:24-trixie-slim) is Debian 13 "trixie" slim plus the official Node 24
# binary in /usr/local/bin and npm in /usr/local/lib/node_modules/npm. This script builds the same shape:
#   debootstrap --variant=minbase trixie  (from the Debian mirror apt uses on this host)
#   + the Node 24 binary from the npm package "node" (node_modules/node/bin/node, a real ELF binary)
#   + npm (the host's npm, a pure-JS package)
# and commits it with buildah under the exact name, so `buildah bud --pull=never` resolves FROM to it.
#
# Idempotent: does nothing when the image already exists (use --force to rebuild).
# The debootstrap tree is cached in ${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}/image-base/.
# Last line of stdout: the image name.
#
# Needs root and the Debian packages buildah and debootstrap.
set -euo pipefail

IMAGE="${KDROP_BASE_IMAGE:-node:24-trixie-slim}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}/image-base"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=trixie
NODE_BIN="${NODE_BIN:-$(readlink -f "${REPO_ROOT}/node_modules/node/bin/node")}"
NPM_DIR="${NPM_DIR:-/usr/lib/node_modules/npm}"

force=0
[[ "${1:-}" == "--force" ]] && force=1

log() { echo "make-base.sh: $*" >&2; }

# One builder at a time (tests may call this concurrently).
mkdir -p "${CACHE}"
exec 9>"${CACHE}/.lock"
flock 9

if [[ ${force} -eq 0 ]] && buildah inspect --type image "${IMAGE}" >/dev/null 2>&1; then
  log "${IMAGE} already exists"
  echo "${IMAGE}"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || { log "must run as root (debootstrap, buildah)"; exit 1; }
command -v debootstrap >/dev/null || { log "needs the Debian package debootstrap"; exit 1; }
command -v buildah >/dev/null || { log "needs the Debian package buildah"; exit 1; }
[[ -x "${NODE_BIN}" ]] || { log "no Node binary at ${NODE_BIN} (run npm ci: devDependency 'node')"; exit 1; }
node_version="$("${NODE_BIN}" --version)"
[[ "${node_version}" == v24.* ]] || { log "expected Node v24.x at ${NODE_BIN}, found ${node_version}"; exit 1; }
[[ -f "${NPM_DIR}/bin/npm-cli.js" ]] || { log "no npm at ${NPM_DIR}"; exit 1; }

rootfs="${CACHE}/${SUITE}-minbase"
mkdir -p "${CACHE}"
if [[ ! -f "${rootfs}/.kdrop-debootstrap-done" ]]; then
  rm -rf "${rootfs}"
  log "debootstrap --variant=minbase ${SUITE} from ${MIRROR} (minutes)"
  # bookworm's keyring also holds the trixie archive keys; --no-check-gpg only if the caller asks.
  extra=()
  [[ "${KDROP_DEBOOTSTRAP_NO_GPG:-0}" == 1 ]] && extra+=(--no-check-gpg)
  nice -n 10 debootstrap "${extra[@]}" --variant=minbase "${SUITE}" "${rootfs}" "${MIRROR}" >&2
  # Slim it the way the Docker Official debian:*-slim images do.
  rm -rf "${rootfs}"/var/cache/apt/archives/*.deb "${rootfs}"/var/lib/apt/lists/*
  touch "${rootfs}/.kdrop-debootstrap-done"
fi

# apt inside the image must reach the same mirror as this host.
cat > "${rootfs}/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: ${MIRROR}
Suites: ${SUITE} ${SUITE}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
rm -f "${rootfs}/etc/apt/sources.list"

log "committing ${IMAGE} (node ${node_version}, npm $(cat "${NPM_DIR}/package.json" | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' | head -1))"
ctr="$(buildah from scratch)"
trap 'buildah rm "${ctr}" >/dev/null 2>&1 || true' EXIT
buildah copy "${ctr}" "${rootfs}" / >/dev/null
buildah run --isolation chroot "${ctr}" -- rm -f /.kdrop-debootstrap-done
buildah copy --chmod 0755 "${ctr}" "${NODE_BIN}" /usr/local/bin/node >/dev/null
buildah copy "${ctr}" "${NPM_DIR}" /usr/local/lib/node_modules/npm >/dev/null
buildah run --isolation chroot "${ctr}" -- sh -ec '
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
  chmod 0755 /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/lib/node_modules/npm/bin/npx-cli.js
  node --version && npm --version'
buildah config \
  --env "NODE_VERSION=${node_version#v}" \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --cmd node \
  --label "org.opencontainers.image.description=local stand-in for ${IMAGE} (debootstrap ${SUITE} minbase + node ${node_version})" \
  "${ctr}"
buildah commit --rm "${ctr}" "${IMAGE}" >&2
trap - EXIT
echo "${IMAGE}"
