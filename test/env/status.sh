#!/usr/bin/env bash
# status.sh: shows the local environment's processes, ports, API readiness,
# nodes and seed pods. Exit 0 when every component runs and /readyz is ok.
# With a second cluster (prod) started, it is shown too; the exit status
# counts it when KGATE_ENV_CLUSTERS=2 or KGATE_ENV_CLUSTER=prod.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
prod_ok=true
if [[ -z "${KGATE_ENV_CLUSTER:-}" && -d "$BASE_ENV_DIR/prod/pids" ]]; then
  echo "cluster prod:"
  KGATE_ENV_CLUSTER=prod bash "${BASH_SOURCE[0]}" | sed 's/^/  /' || prod_ok=false
  echo "cluster test:"
elif [[ -z "${KGATE_ENV_CLUSTER:-}" && "${KGATE_ENV_CLUSTERS:-1}" != 1 ]]; then
  echo "cluster prod: never started (KGATE_ENV_CLUSTERS=2 make env-up)"
  prod_ok=false
fi
[[ "${KGATE_ENV_CLUSTERS:-1}" != 1 ]] || prod_ok=true
load_settings

declare -A ports=([etcd]=$ETCD_CLIENT_PORT [kube-apiserver]=$APISERVER_PORT [kube-controller-manager]=$KCM_PORT
  [kube-scheduler]=$SCHEDULER_PORT [nodeagent]=$NODEAGENT_PORT [kwok]=$KWOK_PORT
  [metrics-server]=$METRICS_SERVER_PORT)
echo "state dir: $ENV_DIR"
ok=true
for c in "${COMPONENTS[@]}"; do
  pid="$(pid_of "$c")"
  if [[ -n "$pid" ]]; then
    rss=$(awk '/^VmRSS/ {printf "%d MiB", $2/1024}' "/proc/$pid/status" 2>/dev/null || true)
    printf '  %-24s running  pid %-8s 127.0.0.1:%-6s %s\n' "$c" "$pid" "${ports[$c]}" "$rss"
  else
    printf '  %-24s stopped\n' "$c"
    ok=false
  fi
done
if [[ -x "$SLAPD_SH" ]]; then "$SLAPD_SH" status || true; fi
if [[ -f "$PKI/admin.crt" ]] && [[ "$(curl_api /readyz 2>/dev/null)" == ok ]]; then
  echo "api: $APISERVER_URL ready"
  kubectl_ get nodes -o wide 2>&1 | sed 's/^/  /'
  kubectl_ get pods -A -l kgate.dev/seed=true -o wide 2>&1 | sed 's/^/  /'
  echo "source $BASE_ENV_DIR/env.sh"
else
  echo "api: $APISERVER_URL not ready"
  ok=false
fi
$ok && $prod_ok
