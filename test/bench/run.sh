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
source "${KGATE_ENV_DIR:-$ROOT/.localenv}/env.sh"
export KGATE_BIN="$ROOT/bin/kgate" KUBECTL_BIN="$KGATE_TOOLS_BIN/kubectl"
bash test/bench/seed.sh
go test -run '^$' -bench . -benchmem ./internal/policy/... 2>/dev/null | grep -E '^(Benchmark|ok)' || true
go run ./test/bench -runs "${BENCH_RUNS:-15}" -json "${KGATE_ENV_DIR:-$ROOT/.localenv}/bench.json" "$@"
kb=$(stat -c %s "$KGATE_BIN"); kub=$(stat -c %s "$KUBECTL_BIN")
printf 'binary size: kgate %.1f MiB, kubectl %.1f MiB (%.2fx)\n' "$(bc -l <<<"$kb/1048576")" "$(bc -l <<<"$kub/1048576")" "$(bc -l <<<"$kb/$kub")"
