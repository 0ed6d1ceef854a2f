# lib.sh: settings shared by up.sh, down.sh and status.sh (sourced, not run).
# Every setting can be overridden from the environment.

KGATE_ENV_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
K8S_VERSION=v1.36.3
KWOK_VERSION=v0.8.0

# The environment holds one cluster, "test", and on request a second,
# independent one, "prod" (own etcd, API server, controllers, kwok nodes, node
# agent, metrics-server, certificates and ports; the one slapd is shared).
# KGATE_ENV_CLUSTER selects which one a script handles: test (the default) or
# prod. prod's state lives in $KGATE_ENV_DIR/prod/ and its ports come from the
# KGATE_PROD_*_PORT variables: KGATE_PROD_PORT_BASE=B puts them all at
# B..B+7 (API server, etcd client, etcd peer, node agent, kwok, controller
# manager, scheduler, metrics-server); each variable on its own overrides.
CLUSTER_NAME="${KGATE_ENV_CLUSTER:-test}"
BASE_ENV_DIR="${KGATE_ENV_DIR:-$KGATE_ENV_ROOT/.localenv}"
TOOLS_BIN="${KGATE_TOOLS_BIN:-$KGATE_ENV_ROOT/.cache/tools/k8s-$K8S_VERSION-kwok-$KWOK_VERSION/bin}"

case "$CLUSTER_NAME" in
  test)
    ENV_DIR="$BASE_ENV_DIR"
    PORT_VAR_PREFIX=KGATE_
    CONTEXT_NAME=kgate-local
    # Loopback ports, away from the usual defaults (6443, 2379, 10250, ...).
    APISERVER_PORT="${KGATE_APISERVER_PORT:-16443}"
    ETCD_CLIENT_PORT="${KGATE_ETCD_CLIENT_PORT:-12379}"
    ETCD_PEER_PORT="${KGATE_ETCD_PEER_PORT:-12380}"
    NODEAGENT_PORT="${KGATE_NODEAGENT_PORT:-16250}"  # every kwok node's kubelet port
    KWOK_PORT="${KGATE_KWOK_PORT:-16251}"            # kwok's own server
    KCM_PORT="${KGATE_KCM_PORT:-16257}"
    SCHEDULER_PORT="${KGATE_SCHEDULER_PORT:-16259}"
    # metrics-server (metrics.k8s.io): by default beside the node agent's port
    # (16262), so environments on other port blocks do not collide.
    METRICS_SERVER_PORT="${KGATE_METRICS_SERVER_PORT:-$((NODEAGENT_PORT + 12))}"
    ;;
  prod)
    ENV_DIR="$BASE_ENV_DIR/prod"
    PORT_VAR_PREFIX=KGATE_PROD_
    CONTEXT_NAME=prod
    if [[ -n "${KGATE_PROD_PORT_BASE:-}" ]]; then
      [[ "$KGATE_PROD_PORT_BASE" =~ ^[0-9]+$ ]] || { printf 'env: KGATE_PROD_PORT_BASE=%s is not a port number\n' "$KGATE_PROD_PORT_BASE" >&2; exit 1; }
      b=$KGATE_PROD_PORT_BASE
      defaults=("$b" $((b + 1)) $((b + 2)) $((b + 3)) $((b + 4)) $((b + 5)) $((b + 6)) $((b + 7)))
    else
      defaults=(17443 13379 13380 17250 17251 17257 17259 17262)
    fi
    APISERVER_PORT="${KGATE_PROD_APISERVER_PORT:-${defaults[0]}}"
    ETCD_CLIENT_PORT="${KGATE_PROD_ETCD_CLIENT_PORT:-${defaults[1]}}"
    ETCD_PEER_PORT="${KGATE_PROD_ETCD_PEER_PORT:-${defaults[2]}}"
    NODEAGENT_PORT="${KGATE_PROD_NODEAGENT_PORT:-${defaults[3]}}"
    KWOK_PORT="${KGATE_PROD_KWOK_PORT:-${defaults[4]}}"
    KCM_PORT="${KGATE_PROD_KCM_PORT:-${defaults[5]}}"
    SCHEDULER_PORT="${KGATE_PROD_SCHEDULER_PORT:-${defaults[6]}}"
    METRICS_SERVER_PORT="${KGATE_PROD_METRICS_SERVER_PORT:-${defaults[7]}}"
    unset b defaults
    ;;
  *)
    printf 'env: KGATE_ENV_CLUSTER=%s: want test or prod\n' "$CLUSTER_NAME" >&2
    exit 1
    ;;
esac
METRICS_SERVER_VERSION=v0.8.0
NODE_COUNT="${KGATE_NODE_COUNT:-2}"
UP_TIMEOUT="${KGATE_UP_TIMEOUT:-120}"            # seconds per wait step

PKI="$ENV_DIR/pki"
LOGS="$ENV_DIR/logs"
PIDS="$ENV_DIR/pids"
DATA="$ENV_DIR/data"
NODE_LOG_DIR="$ENV_DIR/pod-logs"
APISERVER_URL="https://127.0.0.1:$APISERVER_PORT"
KUBECONFIG_FILE="$ENV_DIR/kubeconfig"
AUDIT_LOG="$LOGS/kube-audit.log"
# slapd belongs to the test cluster's run; prod shares it.
SLAPD_SH="$KGATE_ENV_ROOT/test/env/slapd.sh"
[[ "$CLUSTER_NAME" == test ]] || SLAPD_SH=/nonexistent/slapd.sh
# The kubeconfig with both clusters' contexts, named test and prod.
CLUSTERS_KUBECONFIG="$BASE_ENV_DIR/clusters.kubeconfig"
MARKER="$ENV_DIR/.kgate-localenv"

# Start order; down.sh stops in reverse.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler nodeagent kwok)
# metrics-server serves `top`; an environment whose tools predate it runs without.
if [[ -x "$TOOLS_BIN/metrics-server" ]]; then COMPONENTS+=(metrics-server); fi

# load_settings: the ports etc. the running environment was started with
# (written by up.sh), unless overridden in the environment.
load_settings() {
  if [[ -f "$ENV_DIR/settings.sh" ]]; then
    # shellcheck disable=SC1091
    source "$ENV_DIR/settings.sh"
    # shellcheck source=lib.sh
    source "$KGATE_ENV_ROOT/test/env/lib.sh"
  fi
}

log() { printf '>> %s\n' "$*" >&2; }
die() { printf 'env: %s\n' "$*" >&2; exit 1; }

# pid_of NAME: the pid from NAME's pid file if that process is alive and is
# still the binary we started (guards against pid reuse); empty otherwise.
pid_of() {
  local f="$PIDS/$1.pid" pid exe
  [[ -f "$f" ]] || return 0
  pid="$(<"$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  exe="${exe% (deleted)}"
  [[ "$(basename "$exe")" == "$1" ]] && printf '%s' "$pid"
  return 0
}

kubectl_() { "$TOOLS_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" --request-timeout=10s "$@"; }

# curl_api PATH: GET against the API server as admin.
curl_api() {
  curl -sS --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$APISERVER_URL$1"
}

# write_clusters_kubeconfig: $BASE_ENV_DIR/clusters.kubeconfig, the admin
# credentials of every cluster that has been started, one context each named
# after the cluster (test, prod); current context test.
write_clusters_kubeconfig() {
  local test_kc="$BASE_ENV_DIR/kubeconfig" prod_kc="$BASE_ENV_DIR/prod/kubeconfig" tmp="$CLUSTERS_KUBECONFIG.tmp" kcs
  [[ -f "$test_kc" ]] || return 0
  kcs="$test_kc"
  if [[ -f "$prod_kc" ]]; then kcs="$test_kc:$prod_kc"; fi
  (umask 077 && KUBECONFIG="$kcs" "$TOOLS_BIN/kubectl" config view --flatten >"$tmp") &&
    "$TOOLS_BIN/kubectl" --kubeconfig "$tmp" config rename-context kgate-local test >/dev/null &&
    "$TOOLS_BIN/kubectl" --kubeconfig "$tmp" config use-context test >/dev/null &&
    mv -f "$tmp" "$CLUSTERS_KUBECONFIG" || { rm -f "$tmp"; die "writing $CLUSTERS_KUBECONFIG failed"; }
}
