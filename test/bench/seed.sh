#!/usr/bin/env bash
# seed.sh creates the benchmark namespaces bench-100 and bench-2000 with that
# many pods each. The pods name a scheduler that does not exist, so they stay
# Pending and cost the control plane nothing after they are written.
set -euo pipefail
: "${KUBECTL_BIN:?}"
for n in 100 2000; do
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
