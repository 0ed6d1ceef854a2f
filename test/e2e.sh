#!/usr/bin/env bash
# e2e.sh starts the local environment, runs the end-to-end tests against the
# built binary, and always stops the environment it started.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
started=0
cleanup() { if (( started )); then bash test/env/down.sh || true; fi; }
trap cleanup EXIT
if ! bash test/env/status.sh >/dev/null 2>&1; then
  bash test/env/up.sh
  started=1
fi
# shellcheck disable=SC1091
source "${KGATE_ENV_DIR:-$ROOT/.localenv}/env.sh"
if [[ -f "${KGATE_ENV_DIR:-$ROOT/.localenv}/ldap.env" ]]; then
  set -a; source "${KGATE_ENV_DIR:-$ROOT/.localenv}/ldap.env"; set +a
fi
export KGATE_BIN="$ROOT/bin/kgate"
go test -count=1 -timeout 30m ./test/e2e/... "$@"
