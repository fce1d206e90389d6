#!/usr/bin/env bash
# A one-node Kubernetes cluster made from parts built by scripts/tools/*.sh (pinned in scripts/tools/versions.env)
# and Debian's etcd, for the e2e tests (test/e2e/cluster.test.ts) and for trying the chart by hand.
#
#   scripts/cluster.sh up       start it (idempotent when it is already up); prints the kubeconfig path last
#   scripts/cluster.sh down     stop everything and restore every host setting it or kubelet/CNI changed
#   scripts/cluster.sh status   exit 0 when every component runs and the node is Ready
#   scripts/cluster.sh env      prints `export KUBECONFIG=...` and PATH additions for kubectl/helm/ctr
#
# Layout (docs/deploy.md says more):
#   - a bridge kdrop-br0 with 10.87.0.1/24: the node IP (kubelet rejects loopback), the CNI gateway and the
#     address every component listens on; pods get 10.87.0.10-250 on it (CNI bridge + host-local);
#     services 10.87.1.0/24 (kube-proxy, nftables mode); no cluster DNS.
#   - an nft table `inet kdrop-cluster-guard` drops forwarded traffic from the pod subnet to anything but the pod
#     subnet and loopback: pod traffic never leaves the machine.
#   - etcd, containerd (+ runc, CNI plugins), kube-apiserver, kube-controller-manager, kube-scheduler, kubelet
#     and kube-proxy run as detached processes with pid files and logs in $STATE (/var/lib/kdrop-cluster).
#   - `up` saves what it and kubelet/kube-proxy/CNI change on the host (sysctls, nft tables, directories,
#     cgroups) in $STATE/saved; `down` puts it back and removes every process, mount, netns and table it made.
# Needs root, the Debian packages of scripts/setup.sh --test (etcd-server, nftables, iproute2, openssl, curl,
# conntrack), the binaries of scripts/tools/ (built on first use) and the cgroup v1 controllers (or cgroup v2).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$REPO_ROOT/scripts/tools/lib/common.bash"

STATE="${KDROP_CLUSTER_DIR:-/var/lib/kdrop-cluster}"
RUN=/run/kdrop-cluster
BRIDGE=kdrop-br0
NODE_IP=10.87.0.1
POD_CIDR=10.87.0.0/24
SERVICE_CIDR=10.87.1.0/24
API_SERVICE_IP=10.87.1.1
NODE_NAME=kdrop-node
GUARD_TABLE=kdrop-cluster-guard
API_URL="https://$NODE_IP:6443"
KUBECONFIG_ADMIN="$STATE/kubeconfig"
CTD_SOCK="$RUN/containerd/containerd.sock"
COMPONENTS=(etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
# What kubelet (setupKernelTunables), the CNI bridge plugin (isGateway) and kube-proxy may change.
SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes net.ipv4.ip_forward net.ipv6.conf.all.forwarding net.ipv4.conf.all.route_localnet
  net.netfilter.nf_conntrack_max net.bridge.bridge-nf-call-iptables)
# Host directories written by kubelet, containerd (shim sockets) and CNI (result cache); removed on `down`
# when they did not exist before `up` (otherwise only the entries `up` added go).
HOST_DIRS=(/var/lib/kubelet /var/log/pods /var/log/containers /run/containerd /var/lib/cni /run/kubernetes /var/run/nri)
# nft tables kube-proxy (nftables mode) and iptables-nft users may create; removed on `down` when new.
NFT_TABLES=("ip kube-proxy" "ip6 kube-proxy" "ip filter" "ip nat" "ip mangle" "ip6 filter" "ip6 nat" "ip6 mangle")

say() { printf '[cluster] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
[[ $(id -u) -eq 0 ]] || die "must run as root"

tool() { # NAME -> path printed by scripts/tools/NAME.sh (builds it on first use)
  local out
  out="$(bash "$REPO_ROOT/scripts/tools/$1.sh")" || die "scripts/tools/$1.sh failed"
  tail -n1 <<<"$out"
}

# ---- processes ---------------------------------------------------------------------------------------
pid_of() { # NAME -> pid when the process of that pid file still runs the same binary
  local f="$RUN/pids/$1" pid exe
  [[ -f "$f" ]] || return 1
  read -r pid exe <"$f" || return 1
  [[ -n "$pid" && -e "/proc/$pid" ]] || return 1
  [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$exe" ]] || return 1
  echo "$pid"
}

start() { # NAME BINARY ARGS... : detached, own session, output to $STATE/logs/NAME.log
  local name="$1" bin="$2"; shift 2
  mkdir -p "$STATE/logs" "$RUN/pids"
  setsid "$bin" "$@" </dev/null >>"$STATE/logs/$name.log" 2>&1 9>&- &
  echo "$! $(readlink -f "$bin")" >"$RUN/pids/$name"
}

stop() { # NAME [GRACE_S]
  local name="$1" grace="${2:-20}" pid i
  pid="$(pid_of "$name")" || { rm -f "$RUN/pids/$name"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do [[ -e "/proc/$pid" ]] || break; sleep 0.1; done
  if [[ -e "/proc/$pid" ]]; then say "$name ($pid) did not stop in ${grace}s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
  rm -f "$RUN/pids/$name"
}

wait_for() { # DESCRIPTION TIMEOUT_S COMMAND...
  local what="$1" timeout="$2" i; shift 2
  for ((i = 0; i < timeout * 2; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  die "$what not ready after ${timeout}s (logs: $STATE/logs)"
}

api() { # curl the API as the admin: METHOD PATH [curl args]
  local method="$1" path="$2"; shift 2
  curl -sf --max-time 10 --cacert "$STATE/pki/ca.crt" --cert "$STATE/pki/admin.crt" --key "$STATE/pki/admin.key" \
    -X "$method" "$API_URL$path" "$@"
}

# ---- certificates and kubeconfigs --------------------------------------------------------------------
cert() { # NAME SUBJECT [SAN] : EC key + certificate signed by the cluster CA
  local name="$1" subj="$2" san="${3:-}" ext="$STATE/pki/$1.ext"
  openssl ecparam -name prime256v1 -genkey -noout -out "$STATE/pki/$name.key" 2>/dev/null
  openssl req -new -key "$STATE/pki/$name.key" -subj "$subj" -out "$STATE/pki/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [[ -n "$san" ]] && echo "subjectAltName=$san"
  } >"$ext"
  openssl x509 -req -in "$STATE/pki/$name.csr" -CA "$STATE/pki/ca.crt" -CAkey "$STATE/pki/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$ext" -out "$STATE/pki/$name.crt" 2>/dev/null
  rm -f "$STATE/pki/$name.csr" "$ext"
}

kubeconfig() { # NAME USER_CERT
  cat >"$STATE/$1.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
  - name: kdrop
    cluster: {server: "$API_URL", certificate-authority: "$STATE/pki/ca.crt"}
users:
  - name: $1
    user: {client-certificate: "$STATE/pki/$2.crt", client-key: "$STATE/pki/$2.key"}
contexts:
  - name: kdrop
    context: {cluster: kdrop, user: $1, namespace: default}
current-context: kdrop
YAML
  chmod 600 "$STATE/$1.kubeconfig"
}

make_pki() {
  rm -rf "$STATE/pki"
  mkdir -p "$STATE/pki"
  chmod 700 "$STATE/pki"
  openssl ecparam -name prime256v1 -genkey -noout -out "$STATE/pki/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$STATE/pki/ca.key" -subj "/CN=kdrop-cluster-ca" -days 30 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$STATE/pki/ca.crt" 2>/dev/null
  cert apiserver "/CN=kube-apiserver" \
    "IP:$NODE_IP,IP:$API_SERVICE_IP,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  cert admin "/O=system:masters/CN=kubernetes-admin"
  cert controller-manager "/CN=system:kube-controller-manager"
  cert scheduler "/CN=system:kube-scheduler"
  cert kube-proxy "/CN=system:kube-proxy"
  cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "IP:$NODE_IP,DNS:$NODE_NAME"
  openssl ecparam -name prime256v1 -genkey -noout -out "$STATE/pki/sa.key" 2>/dev/null
  openssl ec -in "$STATE/pki/sa.key" -pubout -out "$STATE/pki/sa.pub" 2>/dev/null
  kubeconfig admin admin
  cp "$STATE/admin.kubeconfig" "$KUBECONFIG_ADMIN"
  kubeconfig controller-manager controller-manager
  kubeconfig scheduler scheduler
  kubeconfig kube-proxy kube-proxy
  kubeconfig kubelet kubelet
}

# ---- host state: save on up, restore on down ----------------------------------------------------------
save_host_state() {
  local s="$STATE/saved" d t
  mkdir -p "$s"
  : >"$s/sysctls"
  for k in "${SYSCTLS[@]}"; do
    if v="$(sysctl -n "$k" 2>/dev/null)"; then printf '%s=%s\n' "$k" "$v" >>"$s/sysctls"; fi
  done
  : >"$s/dirs"
  for d in "${HOST_DIRS[@]}"; do
    if [[ -d "$d" ]]; then
      printf '%s\n' "$d" >>"$s/dirs"
      ls -A "$d" >"$s/entries$(echo "$d" | tr / _)"
    fi
  done
  nft list tables >"$s/nft-tables" 2>/dev/null || : >"$s/nft-tables"
  : >"$s/cgroups"
  for t in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do [[ -d "$t" ]] && echo "$t" >>"$s/cgroups"; done
  touch "$s/complete"
}

restore_host_state() {
  local s="$STATE/saved" d t k v e
  [[ -f "$s/complete" ]] || return 0
  # cgroups kubelet created (kubepods/...) in every hierarchy: leaves first.
  for t in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d "$t" ]] || continue
    grep -qxF "$t" "$s/cgroups" && continue
    # A cgroup whose last task just exited can refuse rmdir (EBUSY) for a moment: try again for up to 10 s.
    for _ in $(seq 20); do
      find "$t" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [[ -d "$t" ]] || break
      sleep 0.5
    done
    [[ -d "$t" ]] && say "warning: could not remove cgroup $t"
  done
  # nft tables created while the cluster ran (kube-proxy's; iptables-nft tables of kubelet/CNI).
  for t in "${NFT_TABLES[@]}"; do
    if nft list table $t >/dev/null 2>&1 && ! grep -qxF "table $t" "$s/nft-tables"; then nft delete table $t; fi
  done
  # Directories.
  for d in "${HOST_DIRS[@]}"; do
    [[ -e "$d" ]] || continue
    if grep -qxF "$d" "$s/dirs"; then
      while read -r e; do
        [[ -n "$e" ]] || continue
        grep -qxF "$e" "$s/entries$(echo "$d" | tr / _)" || rm -rf --one-file-system "${d:?}/$e"
      done < <(ls -A "$d")
    else
      rm -rf --one-file-system "$d"
    fi
  done
  # sysctls last: the bridge and the forwarding it needed are gone.
  while IFS='=' read -r k v; do
    [[ "$(sysctl -n "$k" 2>/dev/null)" == "$v" ]] || sysctl -qw "$k=$v" >/dev/null || say "warning: could not restore $k=$v"
  done <"$s/sysctls"
  rm -rf "$s"
}

# ---- configuration -----------------------------------------------------------------------------------
write_configs() {
  local runc="$1" cni_bin="$2" pause_image="$3"
  mkdir -p "$STATE/cni/net.d" "$STATE/cni/ipam" "$RUN/containerd"
  cat >"$STATE/cni/net.d/10-kdrop.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "kdrop-cluster",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false,
      "ipam": {
        "type": "host-local", "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "rangeStart": "10.87.0.10", "rangeEnd": "10.87.0.250", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
JSON
  # restrict_oom_score_adj: this VM's bounding set lacks CAP_SYS_RESOURCE, so runc cannot lower a
  # container's oom_score_adj below containerd's own ("can't get final child's PID from pipe" otherwise).
  # netns_mounts_under_state_dir: pod netns mounts live under $RUN/containerd, not /run/netns.
  cat >"$STATE/containerd.toml" <<TOML
version = 3
root = "$STATE/containerd"
state = "$RUN/containerd"
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CTD_SOCK"
[ttrpc]
  address = "$CTD_SOCK.ttrpc"
[plugins]
  [plugins.'io.containerd.internal.v1.opt']
    path = "$STATE/containerd-opt"
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = "$pause_image"
  [plugins.'io.containerd.cri.v1.runtime']
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    enable_cdi = false
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "$runc"
        SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["$cni_bin"]
      conf_dir = "$STATE/cni/net.d"
TOML
  # No nameserver: pods must not resolve through the host's (possibly off-machine) resolver.
  : >"$STATE/resolv.conf"
  cat >"$STATE/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: $NODE_IP
healthzPort: 10248
containerRuntimeEndpoint: unix://$CTD_SOCK
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$STATE/pki/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "$STATE/pki/kubelet.crt"
tlsPrivateKeyFile: "$STATE/pki/kubelet.key"
# This machine: cgroup v1 controllers (with a cgroup2 mount beside them), no systemd, swap allowed.
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
# No KUBE-FIREWALL / canary chains in the host's iptables tables.
makeIPTablesUtilChains: false
resolvConf: "$STATE/resolv.conf"
clusterDomain: cluster.local
staticPodPath: ""
maxPods: 30
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
YAML
  cat >"$STATE/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clientConnection: {kubeconfig: "$STATE/kube-proxy.kubeconfig"}
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
healthzBindAddress: "$NODE_IP:10256"
metricsBindAddress: "$NODE_IP:10249"
nodePortAddresses: ["$NODE_IP/32"]
# 0: leave the host's conntrack sysctls alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s, udpTimeout: 0s, udpStreamTimeout: 0s}
YAML
}

network_up() {
  ip link add "$BRIDGE" type bridge
  ip addr add "$NODE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # Pod traffic stays on this machine: forwarded packets from the pod subnet go to the pod subnet only.
  nft -f - <<NFT
table inet $GUARD_TABLE {
  chain forward {
    type filter hook forward priority -10; policy accept;
    ip saddr $POD_CIDR ip daddr != { $POD_CIDR, 127.0.0.0/8 } counter drop
    iifname "$BRIDGE" meta nfproto ipv6 counter drop
  }
}
NFT
}

# ---- up / down / status ------------------------------------------------------------------------------
cluster_up() {
  if cluster_status >/dev/null 2>&1; then say "already up"; echo "$KUBECONFIG_ADMIN"; return 0; fi
  [[ ! -f "$STATE/saved/complete" ]] || die "a previous cluster was not taken down: run scripts/cluster.sh down first"
  ip link show "$BRIDGE" >/dev/null 2>&1 && die "$BRIDGE exists: run scripts/cluster.sh down first"
  command -v etcd >/dev/null || die "etcd not installed (Debian package etcd-server)"
  for c in nft ip openssl curl; do command -v "$c" >/dev/null || die "$c not installed"; done
  [[ -d /sys/fs/cgroup/memory || -f /sys/fs/cgroup/cgroup.controllers ]] || die "no memory cgroup controller mounted"

  local t0=$SECONDS runc ctd cni images apiserver cm sched kubelet proxy
  runc="$(tool runc)"; ctd="$(tool containerd)"; cni="$(tool cni-plugins)"; images="$(tool cluster-images)"
  apiserver="$(tool kube-apiserver)"; cm="$(tool kube-controller-manager)"; sched="$(tool kube-scheduler)"
  kubelet="$(tool kubelet)"; proxy="$(tool kube-proxy)"
  tool kubectl >/dev/null # `down` deletes the pods through it; `env` puts it on PATH
  local pause_image
  pause_image="localhost/kdrop-pause:$(basename "$images" | sed 's/^cluster-images-//')"
  say "tools ready ($((SECONDS - t0))s)"

  mkdir -p "$STATE" "$RUN"
  rm -rf --one-file-system "$STATE/etcd" "$STATE/containerd" "$STATE/logs" "$STATE/cni"
  save_host_state
  up_done=0
  trap 'if [[ $up_done = 0 ]]; then say "up failed: taking it down again"; cluster_down || true; fi' EXIT
  network_up
  make_pki
  write_configs "$runc" "$cni" "$pause_image"

  export PATH="$ctd:$PATH" # containerd finds containerd-shim-runc-v2 on PATH
  start etcd "$(command -v etcd)" --name kdrop --data-dir "$STATE/etcd" \
    --listen-client-urls "http://$NODE_IP:2379" --advertise-client-urls "http://$NODE_IP:2379" \
    --listen-peer-urls "http://$NODE_IP:2380" --initial-advertise-peer-urls "http://$NODE_IP:2380" \
    --initial-cluster "kdrop=http://$NODE_IP:2380" --log-level warn
  start containerd "$ctd/containerd" --config "$STATE/containerd.toml"
  wait_for etcd 60 curl -sf "http://$NODE_IP:2379/health"
  start kube-apiserver "$apiserver" --etcd-servers="http://$NODE_IP:2379" \
    --bind-address="$NODE_IP" --advertise-address="$NODE_IP" --secure-port=6443 \
    --tls-cert-file="$STATE/pki/apiserver.crt" --tls-private-key-file="$STATE/pki/apiserver.key" \
    --client-ca-file="$STATE/pki/ca.crt" --cert-dir="$STATE/apiserver-certs" \
    --kubelet-client-certificate="$STATE/pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$STATE/pki/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$STATE/pki/sa.pub" --service-account-signing-key-file="$STATE/pki/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NodeRestriction --allow-privileged=true --profiling=false --v=1
  wait_for containerd 60 test -S "$CTD_SOCK"
  # The sandbox image and the test workload image (scripts/tools/cluster-images.sh).
  "$ctd/ctr" --address "$CTD_SOCK" -n k8s.io images import "$images/pause.oci.tar" >/dev/null
  "$ctd/ctr" --address "$CTD_SOCK" -n k8s.io images import "$images/udp-burst.oci.tar" >/dev/null
  wait_for kube-apiserver 120 api GET /api/v1/namespaces/default
  # The controller-manager and the scheduler exit when their first requests are refused: wait for the RBAC
  # bootstrap roles and the authentication ConfigMap they read. (Not /readyz as a whole: Debian's etcd 3.4.23
  # is older than the 3.4.29 Kubernetes >= 1.31 assumes, and some of its etcd checks may fail.)
  wait_for "RBAC bootstrap" 120 api GET /readyz/poststarthook/rbac/bootstrap-roles
  wait_for "extension-apiserver-authentication" 60 api GET /api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication
  start kube-controller-manager "$cm" --kubeconfig="$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$STATE/controller-manager.kubeconfig" \
    --bind-address="$NODE_IP" --leader-elect=false --use-service-account-credentials=true \
    --root-ca-file="$STATE/pki/ca.crt" --service-account-private-key-file="$STATE/pki/sa.key" \
    --cluster-signing-cert-file="$STATE/pki/ca.crt" --cluster-signing-key-file="$STATE/pki/ca.key" \
    --allocate-node-cidrs=false --profiling=false --v=1
  start kube-scheduler "$sched" --kubeconfig="$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig="$STATE/scheduler.kubeconfig" --authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
    --bind-address="$NODE_IP" --leader-elect=false --profiling=false --v=1
  start kubelet "$kubelet" --config="$STATE/kubelet.yaml" --kubeconfig="$STATE/kubelet.kubeconfig" \
    --node-ip="$NODE_IP" --hostname-override="$NODE_NAME" --v=1
  start kube-proxy "$proxy" --config="$STATE/kube-proxy.yaml" --v=1
  wait_for "node $NODE_NAME Ready" 180 node_ready
  wait_for "default ServiceAccount" 60 api GET /api/v1/namespaces/default/serviceaccounts/default
  up_done=1
  say "up in $((SECONDS - t0))s: export KUBECONFIG=$KUBECONFIG_ADMIN"
  echo "$KUBECONFIG_ADMIN"
}

node_ready() {
  api GET "/api/v1/nodes/$NODE_NAME" | grep -q '"type": *"Ready", *"status": *"True"' && return 0
  api GET "/api/v1/nodes/$NODE_NAME" | tr -d ' \n' | grep -q '"type":"Ready","status":"True"'
}

cluster_status() {
  local ok=0 c pid
  for c in "${COMPONENTS[@]}"; do
    if pid="$(pid_of "$c")"; then echo "$c: running (pid $pid)"; else echo "$c: not running"; ok=1; fi
  done
  if [[ $ok -eq 0 ]] && node_ready; then echo "node $NODE_NAME: Ready"; else echo "node $NODE_NAME: not Ready"; ok=1; fi
  return $ok
}

cluster_down() {
  local ctd="" ctr_cmd=() c i m p
  ctd="$(kdrop_tools_cache)/containerd-$CONTAINERD_VERSION"
  [[ -x "$ctd/ctr" ]] && ctr_cmd=("$ctd/ctr" --address "$CTD_SOCK" -n k8s.io)
  # 1. Pods go first, deleted gracefully through kubelet, so their sandboxes are torn down by the runtime
  #    and CNI DEL (kubectl waits until kubelet has confirmed each deletion).
  local kubectl
  kubectl="$(kdrop_tools_cache)/kubectl-$KUBERNETES_VERSION/kubectl"
  if [[ -x "$kubectl" ]] && pid_of kube-apiserver >/dev/null && pid_of kubelet >/dev/null; then
    "$kubectl" --kubeconfig "$KUBECONFIG_ADMIN" delete daemonsets,deployments,replicasets,statefulsets,jobs --all -A \
      --wait=false >/dev/null 2>&1 || true
    stop kube-controller-manager 10
    "$kubectl" --kubeconfig "$KUBECONFIG_ADMIN" delete pods --all -A --grace-period=1 --timeout=90s >/dev/null 2>&1 ||
      say "warning: pods not all deleted through kubelet; removing what is left directly"
  fi
  # The node and the controllers in parallel, then the API server, then etcd.
  for c in kube-controller-manager kube-scheduler kube-proxy kubelet; do stop "$c" 20 & done
  wait
  stop kube-apiserver 20
  stop etcd 20
  # 2. Whatever the runtime still runs.
  if pid_of containerd >/dev/null && [[ ${#ctr_cmd[@]} -gt 0 ]]; then
    for c in $("${ctr_cmd[@]}" tasks ls -q 2>/dev/null); do "${ctr_cmd[@]}" tasks kill -s SIGKILL "$c" >/dev/null 2>&1 || true; done
    sleep 1
    for c in $("${ctr_cmd[@]}" tasks ls -q 2>/dev/null); do "${ctr_cmd[@]}" tasks delete -f "$c" >/dev/null 2>&1 || true; done
    for c in $("${ctr_cmd[@]}" containers ls -q 2>/dev/null); do "${ctr_cmd[@]}" containers delete "$c" >/dev/null 2>&1 || true; done
  fi
  stop containerd 20
  # Shims (and their containers) outlive containerd: end those of this containerd build.
  for p in /proc/[0-9]*; do
    [[ "$(readlink "$p/exe" 2>/dev/null)" == "$ctd/containerd-shim-runc-v2" ]] && kill -KILL "${p#/proc/}" 2>/dev/null || true
  done
  local runc
  runc="$(kdrop_tools_cache)/runc-$RUNC_VERSION/runc"
  if [[ -x "$runc" && -d /run/containerd/runc/k8s.io ]]; then
    for c in $("$runc" --root /run/containerd/runc/k8s.io list -q 2>/dev/null); do
      "$runc" --root /run/containerd/runc/k8s.io delete -f "$c" >/dev/null 2>&1 || true
    done
  fi
  # 3. Mounts under the cluster's directories (pod volumes, rootfs overlays, shm, netns), deepest first.
  for ((i = 0; i < 3; i++)); do
    mapfile -t mounts < <(awk '{print $5}' /proc/self/mountinfo | grep -E "^($STATE|$RUN|/var/lib/kubelet|/run/containerd)(/|$)" | sort -r)
    [[ ${#mounts[@]} -gt 0 ]] || break
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  done
  # 4. Network: the bridge (pod veths went with their netns) and the guard table.
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link del "$BRIDGE"
  nft list table inet "$GUARD_TABLE" >/dev/null 2>&1 && nft delete table inet "$GUARD_TABLE"
  # 5. Host settings and directories as they were before `up`.
  restore_host_state
  rm -rf --one-file-system "$RUN" "$STATE/etcd" "$STATE/containerd" "$STATE/containerd-opt" "$STATE/cni" "$STATE/apiserver-certs"
  say "down (logs kept in $STATE/logs)"
}

main() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock 9
  case "${1:-}" in
    up) cluster_up ;;
    down) cluster_down ;;
    status) cluster_status ;;
    env)
      echo "export KUBECONFIG=$KUBECONFIG_ADMIN"
      echo "export PATH=$(dirname "$(tool kubectl)"):$(dirname "$(tool helm)"):$(tool containerd):\$PATH"
      echo "export CONTAINERD_ADDRESS=$CTD_SOCK CONTAINERD_NAMESPACE=k8s.io"
      ;;
    *) echo "usage: scripts/cluster.sh up|down|status|env" >&2; exit 2 ;;
  esac
}
main "$@"
