#!/usr/bin/env bash
# Build Helm (v3, pinned) from its Go module into a cache outside the repository.
# Idempotent: skips the build when the binary is already there.
# Last line of stdout: the path of the helm binary.
set -euo pipefail
source "$(dirname "$0")/lib/common.bash"

# Pins in scripts/tools/versions.env. HELM_K8S_MINOR: the Kubernetes minor version of helm's client-go, the
# default .Capabilities.KubeVersion of `helm template`/`helm lint`, as helm's own Makefile sets it.
K8S_MINOR="${HELM_K8S_MINOR}"
CACHE="${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}"
DIR="${CACHE}/helm-${HELM_VERSION}"
BIN="${DIR}/helm"

STAMP="${DIR}/.k8s-1.${K8S_MINOR}"
# One builder at a time (test files may call this concurrently); the check below runs under the lock.
mkdir -p "${DIR}"
exec 9>"${DIR}/.lock"
flock 9
if [[ -x "${BIN}" && -f "${STAMP}" ]] && "${BIN}" version --short >/dev/null 2>&1; then
  echo "${BIN}"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "helm.sh: go is required to build helm ${HELM_VERSION}" >&2; exit 1; }
mkdir -p "${DIR}"
echo "helm.sh: building helm ${HELM_VERSION} into ${DIR} (a few minutes)" >&2
# Build outside any module so the repository's files play no part; CGO off for a static binary.
# -ldflags: the version string and the default Kubernetes version, as helm's Makefile sets them (without
# them `helm template` assumes Kubernetes v1.20.0).
(
  cd "$(mktemp -d)"
  CGO_ENABLED=0 GOBIN="${DIR}" GOFLAGS=-mod=mod nice -n 10 go install \
    -ldflags "-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION} \
      -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${K8S_MINOR} \
      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${K8S_MINOR}" \
    "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
)
"${BIN}" version --short >&2
touch "${STAMP}"
echo "${BIN}"
