#!/usr/bin/env bash
# up.sh: starts the local Kubernetes environment on loopback: etcd,
# kube-apiserver (with an audit log), kube-controller-manager, kube-scheduler,
# kwok (fake nodes kwok-node-0..N-1), the node agent (kubelet API of those
# nodes: exec, logs, port-forward) and, if test/env/slapd.sh exists, slapd.
# Then it applies test/env/seed.yaml and waits until the API is ready, the
# nodes are Ready and the seed pods are Running and Ready.
#
# State lives in $KGATE_ENV_DIR (default .localenv/): pki/, data/, logs/,
# pids/, pod-logs/, and the outputs kubeconfig and env.sh (source it).
# Already up and healthy: says so and exits 0. Binaries come from
# test/env/build-tools.sh (make env-tools). Ports: see lib.sh.
#
# Two clusters: KGATE_ENV_CLUSTERS=2 (make env-up CLUSTERS=2) starts the test
# cluster and then a second, independent one named prod (state in
# $KGATE_ENV_DIR/prod/, ports KGATE_PROD_*_PORT, see lib.sh), sharing the one
# slapd. `up.sh --cluster prod` starts only prod, `--cluster test` only test.
# Either way $KGATE_ENV_DIR/clusters.kubeconfig then has a context per
# cluster (test, prod) and env.sh exports KGATE_PROD_* for prod.
set -euo pipefail
case "${1:-}" in
  --cluster)
    [[ $# -eq 2 ]] || { echo "usage: up.sh [--cluster test|prod]" >&2; exit 2; }
    export KGATE_ENV_CLUSTER="$2"
    ;;
  -h | --help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
  "") ;;
  *) echo "up.sh: unknown argument $1 (usage: up.sh [--cluster test|prod])" >&2; exit 2 ;;
esac
if [[ -z "${KGATE_ENV_CLUSTER:-}" ]]; then
  case "${KGATE_ENV_CLUSTERS:-1}" in
    1 | test) export KGATE_ENV_CLUSTER=test ;;
    2 | "test prod" | test,prod)
      KGATE_ENV_CLUSTER=test bash "${BASH_SOURCE[0]}"
      exec env KGATE_ENV_CLUSTER=prod bash "${BASH_SOURCE[0]}"
      ;;
    *) echo "up.sh: KGATE_ENV_CLUSTERS=$KGATE_ENV_CLUSTERS: want 1 (test) or 2 (test and prod)" >&2; exit 2 ;;
  esac
fi
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

t0=${EPOCHREALTIME/./}
elapsed() { local us=$((${EPOCHREALTIME/./} - t0)); printf '%d.%01ds' $((us / 1000000)) $((us % 1000000 / 100000)); }

for t in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok nodeagent certs; do
  [[ -x "$TOOLS_BIN/$t" ]] || die "$TOOLS_BIN/$t is missing: run 'make env-tools' (test/env/build-tools.sh) first"
done
[[ -s "$TOOLS_BIN/kwok-stages.yaml" ]] || die "$TOOLS_BIN/kwok-stages.yaml is missing: run 'make env-tools' first"
command -v curl >/dev/null || die "curl is required"

# ---------------------------------------------------------------- already up?
running=0
for c in "${COMPONENTS[@]}"; do [[ -n "$(pid_of "$c")" ]] && running=$((running + 1)); done
if ((running > 0)); then
  load_settings
  if ((running == ${#COMPONENTS[@]})) && [[ "$(curl_api /readyz 2>/dev/null)" == ok ]]; then
    if [[ -x "$SLAPD_SH" ]]; then "$SLAPD_SH" start; fi
    write_clusters_kubeconfig
    log "local environment ($CLUSTER_NAME) is already up: $APISERVER_URL (source $BASE_ENV_DIR/env.sh)"
    exit 0
  fi
  log "local environment ($CLUSTER_NAME) is partly up ($running of ${#COMPONENTS[@]} components); restarting it"
  "$KGATE_ENV_ROOT/test/env/down.sh"
fi

# ---------------------------------------------------------------- ports
port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q . || (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
P=$PORT_VAR_PREFIX
for spec in "kube-apiserver:$APISERVER_PORT:${P}APISERVER_PORT" "etcd client:$ETCD_CLIENT_PORT:${P}ETCD_CLIENT_PORT" \
  "etcd peer:$ETCD_PEER_PORT:${P}ETCD_PEER_PORT" "node agent:$NODEAGENT_PORT:${P}NODEAGENT_PORT" \
  "kwok:$KWOK_PORT:${P}KWOK_PORT" "kube-controller-manager:$KCM_PORT:${P}KCM_PORT" \
  "kube-scheduler:$SCHEDULER_PORT:${P}SCHEDULER_PORT" "metrics-server:$METRICS_SERVER_PORT:${P}METRICS_SERVER_PORT"; do
  IFS=: read -r what port var <<<"$spec"
  what="$what of cluster $CLUSTER_NAME"
  if port_busy "$port"; then
    who="$(ss -Hltnp "sport = :$port" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -1)"
    die "port $port (for $what) on 127.0.0.1 is already in use${who:+ by $who}; stop that or set $var to another port"
  fi
done

# ---------------------------------------------------------------- inotify
# Each cluster's components hold about 16 inotify instances (file watches of
# certificates, kwok's and the node agent's pod and log watchers); Debian's
# default of 128 per user runs out with two clusters beside the tests'
# gateways, and the node agent then fails attach, debug and log follows with
# "too many open files". As root, raise it; otherwise say so.
INOTIFY_WANT=1024
inotify_now="$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo "$INOTIFY_WANT")"
if (( inotify_now < INOTIFY_WANT )); then
  if [[ -w /proc/sys/fs/inotify/max_user_instances ]]; then
    echo "$INOTIFY_WANT" >/proc/sys/fs/inotify/max_user_instances
    log "raised fs.inotify.max_user_instances from $inotify_now to $INOTIFY_WANT"
  else
    log "warning: fs.inotify.max_user_instances is $inotify_now; with two clusters the node agent may run out (sudo sysctl fs.inotify.max_user_instances=$INOTIFY_WANT)"
  fi
fi

# ---------------------------------------------------------------- state dir
mkdir -p "$ENV_DIR" "$PKI" "$LOGS" "$PIDS" "$DATA" "$NODE_LOG_DIR" "$ENV_DIR/pods"
chmod 700 "$ENV_DIR" "$PKI"
touch "$MARKER"
cat >"$ENV_DIR/settings.sh" <<EOF
# Written by up.sh: the settings the running environment ($CLUSTER_NAME) was started with.
: "\${${P}APISERVER_PORT:=$APISERVER_PORT}" "\${${P}ETCD_CLIENT_PORT:=$ETCD_CLIENT_PORT}" "\${${P}ETCD_PEER_PORT:=$ETCD_PEER_PORT}"
: "\${${P}NODEAGENT_PORT:=$NODEAGENT_PORT}" "\${${P}KWOK_PORT:=$KWOK_PORT}" "\${${P}KCM_PORT:=$KCM_PORT}" "\${${P}SCHEDULER_PORT:=$SCHEDULER_PORT}"
: "\${KGATE_TOOLS_BIN:=$TOOLS_BIN}" "\${KGATE_NODE_COUNT:=$NODE_COUNT}" "\${${P}METRICS_SERVER_PORT:=$METRICS_SERVER_PORT}"
EOF

"$TOOLS_BIN/certs" cluster --dir "$PKI" --server "$APISERVER_URL" --context "$CONTEXT_NAME"
cp "$PKI/admin.kubeconfig" "$KUBECONFIG_FILE"
chmod 600 "$KUBECONFIG_FILE"

if [[ "$CLUSTER_NAME" == test ]]; then
  cat >"$ENV_DIR/env.sh" <<EOF
# Source this file to use the local environment (written by test/env/up.sh).
export KUBECONFIG="$KUBECONFIG_FILE"
export KGATE_ENV_DIR="$ENV_DIR"
export KGATE_TOOLS_BIN="$TOOLS_BIN"
export KGATE_APISERVER_URL="$APISERVER_URL"
export KGATE_AUDIT_LOG="$AUDIT_LOG"
export KGATE_NODE_LOG_DIR="$NODE_LOG_DIR"
export KGATE_CLUSTERS_KUBECONFIG="$CLUSTERS_KUBECONFIG"
if [ -f "$ENV_DIR/ldap.env" ]; then . "$ENV_DIR/ldap.env"; fi
# The second cluster, prod, once up.sh has started it (KGATE_ENV_CLUSTERS=2).
if [ -f "$ENV_DIR/prod/env.sh" ]; then . "$ENV_DIR/prod/env.sh"; fi
EOF
else
  cat >"$ENV_DIR/env.sh" <<EOF
# The second cluster ($CLUSTER_NAME), written by test/env/up.sh; sourced by $BASE_ENV_DIR/env.sh.
export KGATE_PROD_ENV_DIR="$ENV_DIR"
export KGATE_PROD_KUBECONFIG="$KUBECONFIG_FILE"
export KGATE_PROD_APISERVER_URL="$APISERVER_URL"
export KGATE_PROD_AUDIT_LOG="$AUDIT_LOG"
export KGATE_PROD_NODE_LOG_DIR="$NODE_LOG_DIR"
export KGATE_CLUSTERS_KUBECONFIG="$CLUSTERS_KUBECONFIG"
EOF
fi

# ---------------------------------------------------------------- helpers
# fail MSG [COMPONENT]: says what failed, shows the end of its log, stops
# everything this run started and exits 1.
fail() {
  printf 'env: %s\n' "$1" >&2
  if [[ -n "${2:-}" && -f "$LOGS/$2.log" ]]; then
    printf -- '---- last lines of %s ----\n' "$LOGS/$2.log" >&2
    tail -n 25 "$LOGS/$2.log" >&2
    printf -- '----\n' >&2
  fi
  if [[ -n "${slapd_job:-}" ]]; then wait "$slapd_job" 2>/dev/null || true; fi
  printf 'env: stopping what was started; logs stay in %s\n' "$LOGS" >&2
  "$KGATE_ENV_ROOT/test/env/down.sh" >/dev/null 2>&1 || true
  exit 1
}

# start NAME ARGS...: runs $TOOLS_BIN/NAME detached (own session), output to
# logs/NAME.log (the previous run's log is kept as NAME.log.1).
start() {
  local name="$1"; shift
  [[ -f "$LOGS/$name.log" ]] && mv -f "$LOGS/$name.log" "$LOGS/$name.log.1"
  setsid "$TOOLS_BIN/$name" "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}

# wait_until COMPONENT DESCRIPTION CMD...: polls CMD every 0.2s for up to
# UP_TIMEOUT seconds; fails early when COMPONENT's process has exited.
wait_until() {
  local comp="$1" desc="$2"; shift 2
  local deadline=$((SECONDS + UP_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if [[ -n "$comp" && -z "$(pid_of "$comp")" ]]; then
      fail "$comp exited while waiting for $desc" "$comp"
    fi
    ((SECONDS < deadline)) || fail "timed out after ${UP_TIMEOUT}s waiting for $desc" "$comp"
    sleep 0.2
  done
}

check_alive() {
  local c
  for c in "$@"; do
    [[ -n "$(pid_of "$c")" ]] || fail "$c exited" "$c"
  done
}

# ---------------------------------------------------------------- etcd
log "starting etcd on 127.0.0.1:$ETCD_CLIENT_PORT"
start etcd \
  --name="kgate-$CLUSTER_NAME" \
  --data-dir="$DATA/etcd" \
  --listen-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --advertise-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="kgate-$CLUSTER_NAME=http://127.0.0.1:$ETCD_PEER_PORT" \
  --unsafe-no-fsync=true \
  --snapshot-count=10000 \
  --quota-backend-bytes=4294967296 \
  --log-level=warn
wait_until etcd "etcd health" bash -c "curl -sf --max-time 2 http://127.0.0.1:$ETCD_CLIENT_PORT/health | grep -q '\"health\":\"true\"'"

# ---------------------------------------------------------------- kube-apiserver
log "starting kube-apiserver on $APISERVER_URL (audit log $AUDIT_LOG)"
start kube-apiserver \
  --bind-address=127.0.0.1 \
  --advertise-address=127.0.0.1 \
  --secure-port="$APISERVER_PORT" \
  --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --tls-cert-file="$PKI/apiserver.crt" \
  --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$PKI/ca.crt" \
  --kubelet-preferred-address-types=InternalIP \
  --endpoint-reconciler-type=none \
  --authorization-mode=Node,RBAC \
  --allow-privileged=true \
  --service-cluster-ip-range=10.96.0.0/16 \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" \
  --service-account-signing-key-file="$PKI/sa.key" \
  --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
  --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User \
  --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$PKI/front-proxy-client.crt" \
  --proxy-client-key-file="$PKI/front-proxy-client.key" \
  --enable-admission-plugins=NodeRestriction \
  --audit-policy-file="$KGATE_ENV_ROOT/test/env/audit-policy.yaml" \
  --audit-log-path="$AUDIT_LOG" \
  --audit-log-maxsize=200 \
  --audit-log-maxbackup=2 \
  --event-ttl=1h \
  --profiling=false
wait_until kube-apiserver "kube-apiserver /readyz" bash -c "[[ \"\$(curl -sS --max-time 2 --cacert '$PKI/ca.crt' --cert '$PKI/admin.crt' --key '$PKI/admin.key' '$APISERVER_URL/readyz')\" == ok ]]"
log "kube-apiserver ready after $(elapsed)"

# ---------------------------------------------------------------- the rest, in parallel
log "starting kube-controller-manager, kube-scheduler, node agent and kwok"
start kube-controller-manager \
  --kubeconfig="$PKI/kube-controller-manager.kubeconfig" \
  --authentication-kubeconfig="$PKI/kube-controller-manager.kubeconfig" \
  --authorization-kubeconfig="$PKI/kube-controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 \
  --secure-port="$KCM_PORT" \
  --tls-cert-file="$PKI/kube-controller-manager-server.crt" \
  --tls-private-key-file="$PKI/kube-controller-manager-server.key" \
  --client-ca-file="$PKI/ca.crt" \
  --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
  --leader-elect=false \
  --use-service-account-credentials=true \
  --service-account-private-key-file="$PKI/sa.key" \
  --root-ca-file="$PKI/ca.crt" \
  --cluster-name="kgate-$CLUSTER_NAME" \
  --node-monitor-grace-period=5m \
  --profiling=false
# --node-monitor-grace-period: kwok renews the node leases, but while
# kube-apiserver is down (tests restart it; on a loaded 2-core machine it can
# take 40 s to be ready again) the controller manager sees them age; at the
# default 50 s it marks the nodes NotReady and every pod's Ready condition
# False, and kwok's stages never set it back.
start kube-scheduler \
  --kubeconfig="$PKI/kube-scheduler.kubeconfig" \
  --authentication-kubeconfig="$PKI/kube-scheduler.kubeconfig" \
  --authorization-kubeconfig="$PKI/kube-scheduler.kubeconfig" \
  --bind-address=127.0.0.1 \
  --secure-port="$SCHEDULER_PORT" \
  --tls-cert-file="$PKI/kube-scheduler-server.crt" \
  --tls-private-key-file="$PKI/kube-scheduler-server.key" \
  --client-ca-file="$PKI/ca.crt" \
  --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
  --leader-elect=false \
  --profiling=false
start nodeagent \
  --kubeconfig="$PKI/nodeagent.kubeconfig" \
  --listen="127.0.0.1:$NODEAGENT_PORT" \
  --tls-cert-file="$PKI/node.crt" \
  --tls-private-key-file="$PKI/node.key" \
  --client-ca-file="$PKI/ca.crt" \
  --pod-log-dir="$NODE_LOG_DIR" \
  --pod-dir="$ENV_DIR/pods" \
  --node-selector=type=kwok
# A lease left by an earlier kwok (another random identity) would keep this
# one off those nodes until it expires (40s): remove them first.
kubectl_ delete leases -n kube-node-lease --all --ignore-not-found >/dev/null || fail "deleting old node leases failed" kube-apiserver
# kwok's stages, with the project's own pod-ready and pod-complete
# (test/env/kwok-pod-stages.yaml: container IDs, image IDs, start times as a
# kubelet sets them) in place of kwok's. Written here, never into TOOLS_BIN:
# that file may be shared by other checkouts.
STAGES="$ENV_DIR/kwok-stages.yaml"
awk -v RS='(^|\n)---[^\n]*\n' '!/\n  name: pod-(ready|complete)\n/ && NF {printf "---\n%s\n", $0}' \
  "$TOOLS_BIN/kwok-stages.yaml" >"$STAGES.tmp" || die "reading $TOOLS_BIN/kwok-stages.yaml failed"
{ echo "---"; cat "$KGATE_ENV_ROOT/test/env/kwok-pod-stages.yaml"; } >>"$STAGES.tmp"
mv "$STAGES.tmp" "$STAGES"
start kwok \
  --kubeconfig="$PKI/kwok.kubeconfig" \
  --config="$STAGES" \
  --manage-all-nodes=true \
  --node-ip=127.0.0.1 \
  --node-port="$NODEAGENT_PORT" \
  --server-address="127.0.0.1:$KWOK_PORT" \
  --tls-cert-file="$PKI/node.crt" \
  --tls-private-key-file="$PKI/node.key" \
  --node-lease-duration-seconds=40 \
  --cidr=10.244.0.1/16

# metrics-server (metrics.k8s.io, for top) scrapes the node agent's
# /metrics/resource as it would a kubelet's. The API server reaches it through
# an ExternalName Service (no kube-proxy here); its first figures come after
# two scrapes (metric-resolution 10s), so nothing waits for them.
if [[ -x "$TOOLS_BIN/metrics-server" ]]; then
  "$TOOLS_BIN/certs" leaf --ca "$PKI" --cn metrics-server --dns metrics-server.kube-system.svc --dns localhost --ip 127.0.0.1 \
    --out "$PKI/metrics-server" >/dev/null || fail "creating the metrics-server certificate failed"
  start metrics-server \
    --secure-port="$METRICS_SERVER_PORT" \
    --bind-address=127.0.0.1 \
    --tls-cert-file="$PKI/metrics-server/tls.crt" \
    --tls-private-key-file="$PKI/metrics-server/tls.key" \
    --kubeconfig="$PKI/admin.kubeconfig" \
    --authentication-kubeconfig="$PKI/admin.kubeconfig" \
    --authorization-kubeconfig="$PKI/admin.kubeconfig" \
    --client-ca-file="$PKI/ca.crt" \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --kubelet-preferred-address-types=InternalIP \
    --kubelet-port="$NODEAGENT_PORT" \
    --kubelet-certificate-authority="$PKI/ca.crt" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --metric-resolution=10s \
    --kubelet-request-timeout=5s \
    --profiling=false
  ms_yaml="apiVersion: v1
kind: Service
metadata: {name: metrics-server, namespace: kube-system, labels: {kgate.dev/env: metrics-server}}
spec:
  type: ExternalName
  externalName: localhost
  ports: [{name: https, port: $METRICS_SERVER_PORT, protocol: TCP}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io, labels: {kgate.dev/env: metrics-server}}
spec:
  group: metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  caBundle: $(base64 -w0 "$PKI/ca.crt")
  service: {name: metrics-server, namespace: kube-system, port: $METRICS_SERVER_PORT}"
  apply_out="$(kubectl_ apply -f - <<<"$ms_yaml" 2>&1)" || fail "registering the metrics API failed: $apply_out" kube-apiserver
fi

# slapd (another script's business) starts alongside; checked at the end.
slapd_job=""
if [[ -x "$SLAPD_SH" ]]; then
  log "starting slapd (test/env/slapd.sh start)"
  "$SLAPD_SH" start >"$LOGS/slapd-start.out" 2>&1 &
  slapd_job=$!
fi

# ---------------------------------------------------------------- nodes and seed workloads
nodes_yaml() {
  local i
  for ((i = 0; i < NODE_COUNT; i++)); do
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    node.alpha.kubernetes.io/ttl: "0"
    kwok.x-k8s.io/node: fake
  labels:
    beta.kubernetes.io/arch: amd64
    beta.kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: ""
    type: kwok
spec:
  taints:
  - {key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}
EOF
  done
}
apply_out="$(nodes_yaml | kubectl_ apply -f - 2>&1)" || fail "creating the kwok nodes failed: $apply_out" kube-apiserver
# Give every node both an InternalIP and a Hostname address. kwok's
# node-initialize stage (run again whenever Ready is not True, e.g. after an
# API server restart) writes "addresses:" with no entries when the Hostname
# address is missing and it has no --node-name, which wipes the InternalIP the
# API server needs to reach the node agent ("no preferred addresses found").
for ((i = 0; i < NODE_COUNT; i++)); do
  kubectl_ patch node "kwok-node-$i" --subresource=status --type=merge -p \
    "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"127.0.0.1\"},{\"type\":\"Hostname\",\"address\":\"kwok-node-$i\"}]}}" \
    >/dev/null || fail "setting the addresses of kwok-node-$i failed" kube-apiserver
done
# A bare pod is refused until the controller manager has created its
# namespace's default service account: apply again until then.
deadline=$((SECONDS + UP_TIMEOUT))
until apply_out="$(kubectl_ apply -f "$KGATE_ENV_ROOT/test/env/seed.yaml" 2>&1)"; do
  if ! grep -q 'service account' <<<"$apply_out" || ((SECONDS >= deadline)); then
    fail "applying test/env/seed.yaml failed: $apply_out" kube-controller-manager
  fi
  check_alive kube-controller-manager
  sleep 0.5
done

nodes_ready() {
  local out
  out="$(kubectl_ get nodes -l type=kwok -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{" "}{end}')" || return 1
  [[ "$(grep -o '=True' <<<"$out" | wc -l)" -ge "$NODE_COUNT" ]]
}
wait_until kwok "kwok nodes to be Ready" nodes_ready
log "nodes Ready after $(elapsed)"
wait_until nodeagent "node agent /healthz" curl -sf --max-time 2 --cacert "$PKI/ca.crt" "https://127.0.0.1:$NODEAGENT_PORT/healthz"

# Repair pods that an earlier NotReady spell of their node left Running but
# with Ready=False (the controller manager sets that; kwok's pod-ready stage
# only handles Pending pods, so nothing would set it back).
not_ready="$(kubectl_ get pods -A -o jsonpath='{range .items[?(@.status.phase=="Running")]}{.metadata.namespace} {.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
  awk '$3 != "True" {print $1 "/" $2}')" || fail "listing pods failed" kube-apiserver
for p in $not_ready; do
  kubectl_ patch pod -n "${p%%/*}" "${p#*/}" --subresource=status --type=strategic \
    -p '{"status":{"conditions":[{"type":"Ready","status":"True"},{"type":"ContainersReady","status":"True"}]}}' >/dev/null ||
    fail "marking pod $p Ready failed" kube-apiserver
done

# seed_ready: every Deployment and StatefulSet has all replicas ready, and every
# seed pod is Running and Ready.
seed_ready() {
  local wl pods
  wl="$(kubectl_ get deploy,statefulset -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {.spec.replicas} {.status.readyReplicas}{"\n"}{end}')" || return 1
  [[ -n "$wl" ]] || return 1
  awk '$2 != $3 {bad=1} END {exit bad}' <<<"$wl" || return 1
  pods="$(kubectl_ get pods -A -l kgate.dev/seed=true -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {.status.phase} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')" || return 1
  [[ -n "$pods" ]] && awk '$2 != "Running" || $3 != "True" {bad=1} END {exit bad}' <<<"$pods"
}
deadline=$((SECONDS + UP_TIMEOUT))
until seed_ready; do
  check_alive "${COMPONENTS[@]}"
  if ((SECONDS >= deadline)); then
    kubectl_ get deploy,statefulset,pods -A -o wide >&2 || true
    fail "timed out after ${UP_TIMEOUT}s waiting for the seed workloads to be Running and Ready" kube-controller-manager
  fi
  sleep 0.3
done

# sandbox/quiet has "restarted once" (restartCount 1, current log 1.log), so
# tests of --previous have a previous container: they write its 0.log.
read -r quiet_uid quiet_restarts < <(kubectl_ get pod -n sandbox quiet \
  -o jsonpath='{.metadata.uid} {.status.containerStatuses[0].restartCount}{"\n"}') || fail "reading sandbox/quiet failed" kube-apiserver
if [[ "$quiet_restarts" == 0 ]]; then
  now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  kubectl_ patch pod quiet -n sandbox --subresource=status --type=json -p "[
    {\"op\": \"replace\", \"path\": \"/status/containerStatuses/0/restartCount\", \"value\": 1},
    {\"op\": \"add\", \"path\": \"/status/containerStatuses/0/lastState\", \"value\":
      {\"terminated\": {\"exitCode\": 1, \"reason\": \"Error\", \"startedAt\": \"$now\", \"finishedAt\": \"$now\"}}}]" >/dev/null ||
    fail "marking sandbox/quiet as restarted failed" kube-apiserver
fi
wait_until nodeagent "the node agent to create sandbox/quiet's log file" \
  test -f "$NODE_LOG_DIR/sandbox_quiet_${quiet_uid}/main/1.log"

check_alive "${COMPONENTS[@]}"
if [[ -n "$slapd_job" ]]; then
  if ! wait "$slapd_job"; then
    cat "$LOGS/slapd-start.out" >&2
    fail "test/env/slapd.sh start failed"
  fi
  cat "$LOGS/slapd-start.out" >&2
fi
write_clusters_kubeconfig
log "local environment ($CLUSTER_NAME) is up after $(elapsed): $APISERVER_URL"
if [[ "$CLUSTER_NAME" == test ]]; then
  log "  source $BASE_ENV_DIR/env.sh   # KUBECONFIG, KGATE_TOOLS_BIN, KGATE_AUDIT_LOG, ..."
else
  log "  source $BASE_ENV_DIR/env.sh   # KGATE_PROD_KUBECONFIG, KGATE_PROD_AUDIT_LOG, KGATE_CLUSTERS_KUBECONFIG, ..."
fi
