#!/usr/bin/env bash
# build-tools.sh: builds the local environment's binaries from the Go module
# proxy (never a prebuilt download) into a git-ignored cache keyed by version.
# A binary already in the cache is not rebuilt.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
K8S_VERSION=v1.36.3
KWOK_VERSION=v0.8.0
BIN="${KGATE_TOOLS_BIN:-$ROOT/.cache/tools/k8s-$K8S_VERSION-kwok-$KWOK_VERSION/bin}"
mkdir -p "$BIN"

ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=36 -X $pkg.gitTreeState=clean"
done

cd "$ROOT/test/tools"
want=()
for t in kube-apiserver kube-controller-manager kube-scheduler kubectl etcd nodeagent; do
  [[ -x "$BIN/$t" ]] || want+=("$t")
done
for t in "${want[@]}"; do
  case "$t" in
    etcd) pkg=./cmd/etcd ;;
    nodeagent) continue ;; # built below, always (it is the project's own code)
    *) pkg=k8s.io/kubernetes/cmd/$t ;;
  esac
  echo ">> building $t $K8S_VERSION" >&2
  go build -ldflags "$ldflags" -o "$BIN/$t" "$pkg"
done
# The node agent and the cert tool are the project's own code: rebuild them
# every time (fast when warm).
for t in nodeagent certs; do
  if [[ -d ./cmd/$t ]]; then
    go build -o "$BIN/$t" "./cmd/$t"
  fi
done
if [[ ! -x "$BIN/kwok" ]]; then
  echo ">> building kwok $KWOK_VERSION" >&2
  GOBIN="$BIN" GOFLAGS=-mod=mod go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
fi
# metrics-server for `top`: it scrapes the node agent's /metrics/resource.
METRICS_SERVER_VERSION=v0.8.0
if [[ ! -x "$BIN/metrics-server" ]]; then
  echo ">> building metrics-server $METRICS_SERVER_VERSION" >&2
  GOBIN="$BIN" GOFLAGS=-mod=mod go install "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"
fi
# kwok's stage files, taken from the kwok module itself (never committed):
# node-initialize, node-heartbeat-with-lease, pod-ready, pod-complete, pod-delete.
# Stages only: a KwokConfiguration document loaded from --config is not
# defaulted and kwok fails.
STAGES="$BIN/kwok-stages.yaml"
if [[ ! -s "$STAGES" ]]; then
  kwok_dir="$(cd / && GOFLAGS= go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$kwok_dir/kustomize/stage" ]] || { echo "kwok module not found (go mod download sigs.k8s.io/kwok@$KWOK_VERSION)" >&2; exit 1; }
  tmp="$(mktemp "$STAGES.XXXXXX")"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    echo "---"
    cat "$kwok_dir/kustomize/stage/$f"
  done >"$tmp"
  chmod 644 "$tmp"
  mv "$tmp" "$STAGES"
fi
echo "$BIN"
