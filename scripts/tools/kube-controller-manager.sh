#!/usr/bin/env bash
# Builds kube-controller-manager at $KUBERNETES_VERSION (scripts/tools/versions.env) from the Kubernetes Go modules into
#   ${KDROP_TOOLS_CACHE:-/var/cache/kdrop-tools}/kube-controller-manager-<version>/kube-controller-manager
# and prints the binary's path on its last stdout line; idempotent (see lib/kube-component.bash).
set -euo pipefail
source "$(dirname "$0")/lib/kube-component.bash"
kdrop_build_kube_component kube-controller-manager
