#!/usr/bin/env bash
# seed.sh creates the benchmark namespaces bench-100, bench-1000 (shell
# completion), bench-2000 and bench-10000 (BENCH_SIZES) with that many pods
# each. The pods are bound to the kwok nodes, so kwok runs them: every one is
# Running with a full status (conditions, container statuses with IDs, IPs,
# start times), the representation a real cluster sends. Created once and
# reused: a namespace that already holds its pods is left alone.
set -euo pipefail
: "${KUBECTL_BIN:?}"
nodes=($("$KUBECTL_BIN" get nodes -l type=kwok -o name | sed 's|node/||'))
(( ${#nodes[@]} > 0 )) || { echo "seed: no kwok nodes" >&2; exit 1; }
for n in ${BENCH_SIZES:-100 1000 2000 10000}; do
  ns=bench-$n
  have=$("$KUBECTL_BIN" get pods -n "$ns" -o name 2>/dev/null | wc -l || true)
  if (( have < n )); then
    "$KUBECTL_BIN" create namespace "$ns" >/dev/null 2>&1 || true
    echo ">> creating $((n - have)) pods in $ns" >&2
    # Four kubectl processes at once, each with a share of the pods.
    for part in 0 1 2 3; do
      {
        echo '{"apiVersion":"v1","kind":"List","items":['
        first=1
        for ((i = have + part; i < n; i += 4)); do
          (( first )) || echo ','
          first=0
          printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bench-%05d","namespace":"%s","labels":{"app":"bench","tier":"t%d"}},"spec":{"nodeName":"%s","tolerations":[{"key":"kwok.x-k8s.io/node","operator":"Exists","effect":"NoSchedule"}],"containers":[{"name":"app","image":"registry.local/bench:1","ports":[{"containerPort":8080,"name":"http"}],"env":[{"name":"MODE","value":"bench"}],"resources":{"requests":{"cpu":"10m","memory":"16Mi"}}}]}}' "$i" "$ns" $((i % 3)) "${nodes[$((i % ${#nodes[@]}))]}"
        done
        echo ']}'
      } | "$KUBECTL_BIN" create -f - >/dev/null &
    done
    wait
  fi
  # Wait until kwok has run them all.
  for ((t = 0; t < 600; t++)); do
    pending=$("$KUBECTL_BIN" get pods -n "$ns" --field-selector=status.phase!=Running -o name 2>/dev/null | wc -l)
    (( pending == 0 )) && break
    (( t % 10 == 0 )) && echo ">> $ns: $pending pods not Running yet" >&2
    sleep 2
  done
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
