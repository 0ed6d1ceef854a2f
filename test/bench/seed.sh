#!/usr/bin/env bash
# seed.sh creates the benchmark namespaces bench-100, bench-1000 (shell
# completion) and bench-2000 with that many pods each. The pods name a
# scheduler that does not exist, so they stay Pending and cost the control
# plane nothing after they are written.
set -euo pipefail
: "${KUBECTL_BIN:?}"
for n in 100 1000 2000; do
  ns=bench-$n
  have=$("$KUBECTL_BIN" get pods -n "$ns" --no-headers 2>/dev/null | wc -l || true)
  if (( have >= n )); then continue; fi
  "$KUBECTL_BIN" create namespace "$ns" >/dev/null 2>&1 || true
  echo ">> creating $n pods in $ns" >&2
  tmp=$(mktemp)
  {
    echo '{"apiVersion":"v1","kind":"List","items":['
    for ((i = have; i < n; i++)); do
      (( i > have )) && echo ','
      printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bench-%05d","namespace":"%s","labels":{"app":"bench"}},"spec":{"schedulerName":"kgate-bench-none","containers":[{"name":"app","image":"registry.local/bench:1"}]}}' "$i" "$ns"
    done
    echo ']}'
  } >"$tmp"
  "$KUBECTL_BIN" create -f "$tmp" >/dev/null
  rm -f "$tmp"
done

# bench-logs: 50 pods that each write ten log lines a second, for logs -f -l.
if ! "$KUBECTL_BIN" get deploy logbench -n bench-logs >/dev/null 2>&1; then
  "$KUBECTL_BIN" create namespace bench-logs >/dev/null 2>&1 || true
  echo ">> creating 50 logging pods in bench-logs" >&2
  "$KUBECTL_BIN" apply -f - >/dev/null <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: logbench, namespace: bench-logs}
spec:
  replicas: 50
  selector: {matchLabels: {app: logbench}}
  template:
    metadata: {labels: {app: logbench}, annotations: {kgate.dev/log-interval: "100ms"}}
    spec:
      nodeSelector: {type: kwok}
      tolerations: [{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}]
      containers: [{name: app, image: registry.example.com/logbench:1}]
YAML
  "$KUBECTL_BIN" rollout status deploy/logbench -n bench-logs --timeout=120s >/dev/null
fi
