#!/usr/bin/env bash
# Builds kube-apiserver at $KUBERNETES_VERSION (scripts/tools/versions.env) from the Kubernetes Go modules into
#   ${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}/kube-apiserver-<version>/kube-apiserver
# and prints the binary's path on its last stdout line; idempotent (see lib/kube-component.bash).
# Heavy: several minutes of CPU. Run it niced: `nice -n 10 scripts/tools/kube-apiserver.sh`.
set -euo pipefail
source "$(dirname "$0")/lib/kube-component.bash"
kdrop_build_kube_component kube-apiserver
