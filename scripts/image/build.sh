#!/usr/bin/env bash
# Build the kdrop image from the repository's Dockerfile without a daemon (buildah, chroot isolation),
# on a host that cannot reach a registry: the base image comes from scripts/image/make-base.sh.
#
#   scripts/image/build.sh [--arch amd64|arm64] [--target STAGE] [--tag NAME]
#
# --arch: the image's architecture (default: this host's). Another one is built without emulation: every stage of
# the Dockerfile runs on this host (BUILDPLATFORM) and makes the target's files (cross-built probe, the target's
# .debs unpacked, its Node binary fetched), so `buildah bud --platform linux/arm64` needs no binfmt handler.
# Default tag: localhost/kdrop:dev, or localhost/kdrop:dev-ARCH for another architecture.
#
# Layers are cached by buildah (--layers), so a rebuild after a source change only redoes the build
# stages. The host's CA bundle is handed to npm as the build secret "ca" (TLS-intercepting proxies).
# Last line of stdout: the image name. Needs root and the Debian packages buildah and debootstrap.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target=""
tag=""
host_arch="$(uname -m | sed -e 's/^x86_64$/amd64/' -e 's/^aarch64$/arm64/')"
arch="${host_arch}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --arch) arch="$2"; shift 2 ;;
    --target) target="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "${arch}" in
  amd64|arm64) ;;
  *) echo "build.sh: --arch ${arch}: expected amd64 or arm64" >&2; exit 2 ;;
esac
if [[ -z "${tag}" ]]; then
  tag="localhost/kdrop:dev"
  [[ "${arch}" == "${host_arch}" ]] || tag="localhost/kdrop:dev-${arch}"
fi

"${REPO_ROOT}/scripts/image/make-base.sh" >&2

args=(bud --isolation chroot --pull=never --layers -t "${tag}")
# The Dockerfile takes the base by digest (releases); here it is the local stand-in made just above.
args+=(--build-arg "NODE_IMAGE=${KDROP_BASE_IMAGE:-node:24-trixie-slim}")
[[ -n "${target}" ]] && args+=(--target "${target}")
if [[ "${arch}" != "${host_arch}" ]]; then
  # The image's platform; the stages run on this host's (buildah 1.28 leaves BUILDPLATFORM unset).
  args+=(--platform "linux/${arch}" --build-arg "BUILDPLATFORM=linux/${host_arch}" --build-arg "TARGETARCH=${arch}")
fi
ca="${KDROP_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}"
[[ -f "${ca}" ]] && args+=(--secret "id=ca,src=${ca}")
revision="$(git -C "${REPO_ROOT}" rev-parse --short HEAD 2>/dev/null || echo unknown)"
args+=(--build-arg "REVISION=${revision}" --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)")

# One build at a time: concurrent test files would otherwise build the same stages twice on 2 cores.
lock="${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}/image-build.lock"
mkdir -p "$(dirname "${lock}")"
exec 9>"${lock}"
flock 9
echo "build.sh: buildah ${args[*]} ${REPO_ROOT}" >&2
nice -n 10 buildah "${args[@]}" "${REPO_ROOT}" >&2
echo "${tag}"
