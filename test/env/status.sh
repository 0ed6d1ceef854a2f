#!/usr/bin/env bash
# status.sh: shows the local environment's processes, ports, API readiness,
# nodes and seed pods. Exit 0 when every component runs and /readyz is ok.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
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
  echo "source $ENV_DIR/env.sh"
else
  echo "api: $APISERVER_URL not ready"
  ok=false
fi
$ok
