# lib.sh: settings shared by up.sh, down.sh and status.sh (sourced, not run).
# Every setting can be overridden from the environment.

KGATE_ENV_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
K8S_VERSION=v1.36.3
KWOK_VERSION=v0.8.0

ENV_DIR="${KGATE_ENV_DIR:-$KGATE_ENV_ROOT/.localenv}"
TOOLS_BIN="${KGATE_TOOLS_BIN:-$KGATE_ENV_ROOT/.cache/tools/k8s-$K8S_VERSION-kwok-$KWOK_VERSION/bin}"

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
SLAPD_SH="$KGATE_ENV_ROOT/test/env/slapd.sh"
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
