#!/usr/bin/env bash
# run.sh: `make bench`. Starts the local environment if it is not up, seeds
# the benchmark namespaces, and runs the side-by-side benchmarks.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
started=0
cleanup() { if (( started )); then bash test/env/down.sh || true; fi; }
trap cleanup EXIT
if ! bash test/env/status.sh >/dev/null 2>&1; then
  bash test/env/up.sh
  started=1
fi
ENV_DIR="${KGATE_ENV_DIR:-$ROOT/.localenv}"
source "$ENV_DIR/env.sh"
set -a; source "$ENV_DIR/ldap.env"; set +a
export KGATE_BIN="$ROOT/bin/kgate" KUBECTL_BIN="$KGATE_TOOLS_BIN/kubectl"
# kgate runs as a logged-in super admin with the example policy, so every
# figure includes its session and policy check; kubectl uses the same
# kubeconfig with its discovery cache warmed by the first run.
B="$ENV_DIR/bench"
# HOME moves below (kubectl's discovery cache); Go's caches stay where they are.
export GOCACHE="$(go env GOCACHE)" GOMODCACHE="$(go env GOMODCACHE)" GOPATH="$(go env GOPATH)"
mkdir -p "$B"
export KGATE_CONFIG_DIR="$B/config" KGATE_CACHE_DIR="$B/cache" KGATE_STATE_DIR="$B/state" HOME="$B/home"
export KGATE_POLICY_SOURCE="$ROOT/examples/policy.yaml"
printf '%s\n' "$KGATE_SLAPD_PASSWORD_OLGA" | "$KGATE_BIN" login -u olga --password-stdin >/dev/null
bash test/bench/seed.sh
go test -run '^$' -bench . -benchmem ./internal/policy/... 2>/dev/null | grep -E '^(Benchmark|ok)' || true
go build -o "$B/bench" ./test/bench
"$B/bench" -runs "${BENCH_RUNS:-15}" -json "${KGATE_ENV_DIR:-$ROOT/.localenv}/bench.json" "$@"
# Size of both builds: make build's, and a release build as goreleaser makes
# it (-trimpath, -s -w: no symbol table or DWARF).
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$B/kgate-release" ./cmd/kgate
kb=$(stat -c %s "$KGATE_BIN"); kr=$(stat -c %s "$B/kgate-release"); kub=$(stat -c %s "$KUBECTL_BIN")
printf 'binary size: make build %.1f MiB, release build %.1f MiB (target 55 MB: %.1f MB), kubectl %.1f MiB (make build %.2fx kubectl)\n' \
  "$(bc -l <<<"$kb/1048576")" "$(bc -l <<<"$kr/1048576")" "$(bc -l <<<"$kr/1000000")" "$(bc -l <<<"$kub/1048576")" "$(bc -l <<<"$kb/$kub")"
