#!/usr/bin/env bash
# demo.sh: the tour `make demo` gives a newcomer, against the local environment
# that `make env-up` started. Every command shown is run for real. kgate's
# files for the demo live in .localenv/demo, never in your own config dir.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ENV_DIR="${KGATE_ENV_DIR:-$ROOT/.localenv}"
DEMO="$ENV_DIR/demo"
mkdir -p "$DEMO"
cat >"$DEMO/env.sh" <<EOT
# Source this file to keep using kgate against the local environment.
source "$ENV_DIR/env.sh"
export KGATE_CONFIG_DIR="$DEMO/config" KGATE_CACHE_DIR="$DEMO/cache" KGATE_STATE_DIR="$DEMO/state"
export KGATE_POLICY_SOURCE="$ROOT/examples/policy.yaml"
export PATH="$ROOT/bin:\$PATH"
EOT
# shellcheck disable=SC1091
source "$DEMO/env.sh"
set -a
# shellcheck disable=SC1091
[[ -f "$ENV_DIR/ldap.env" ]] && source "$ENV_DIR/ldap.env"
set +a

bold=$'\e[1m'; dim=$'\e[2m'; off=$'\e[0m'
[[ -t 1 ]] || { bold=; dim=; off=; }
step() { printf '\n%s# %s%s\n' "$dim" "$*" "$off"; }
quote() { local a out=(); for a in "$@"; do if [[ "$a" =~ [[:space:]\$\'\"] ]]; then out+=("'${a//\'/\'\\\'\'}'"); else out+=("$a"); fi; done; printf '%s' "${out[*]}"; }
show() { printf '%s$ %s%s\n' "$bold" "$(quote "$@")" "$off"; "$@" || printf '%s(exit %d)%s\n' "$dim" "$?" "$off"; }

step "kgate is one binary; this one was just built"
show kgate version

# shellcheck disable=SC1091
source "$ROOT/test/demo.d/login.sh"

step "the policy ($KGATE_POLICY_SOURCE) says which projects alice is in, and her role there"
show kgate projects
show kgate project use payments

step "list pods the way kubectl does (the API server renders the table)"
show kgate get pods

step "several kinds at once, TYPE/NAME, and more columns"
show kgate get deploy/web svc/web -o wide

step "describe uses kubectl's own describers, events included"
show kgate describe deploy/web

step "logs of every pod of a deployment, prefixed per pod and container (-f follows; stopped here after 3s by SIGINT, as Ctrl-C would: exit 130)"
show timeout --preserve-status -s INT 3 kgate logs -f deploy/web --all-containers --tail 2

step "exec: the remote command's exit code becomes kgate's"
show kgate exec deploy/web -- sh -c 'echo "hello from $HOSTNAME"; exit 3'

step "alice is not in project search: refused before anything reaches the cluster, with the reason"
show kgate get pods -n search-prod
show kgate can-i exec pods -n search-prod --why

step "scale, then a delete that the API server checks without doing (--dry-run=server)"
show kgate scale deploy/web --replicas=3 --wait --timeout 60s
show kgate scale deploy/web --replicas=2 --wait --timeout 60s
# --wait ends when the deployment counts 2 ready; the third pod may still be
# terminating: wait until it is gone, so the list below shows the 2 that stay.
for _ in $(seq 100); do
  [[ "$(kgate get pods -l app=web -o name 2>/dev/null | wc -l)" -le 2 ]] && break
  sleep 0.2
done
show kgate delete pod -l app=web --dry-run=server

step "errors say what happened and exit with a code scripts can branch on"
show kgate get pod no-such-pod
show kgate get frobnicators

step "every decision, allowed or denied, is one line of $KGATE_STATE_DIR/audit.log"
show tail -n 2 "$KGATE_STATE_DIR/audit.log"

# shellcheck disable=SC1091
source "$ROOT/test/demo.d/clusters.sh"

cat <<EOT

${bold}The local environment is still running.${off} Keep using it as alice:

  source $DEMO/env.sh
  kgate get pods -A
  kgate login -u alice    # password ${KGATE_SLAPD_PASSWORD_ALICE:-alice-s3cret}: an admin of payments
  kgate login -u bob      # password ${KGATE_SLAPD_PASSWORD_BOB:-bob-s3cret}: a guest of payments

Stop it with:  make env-down
EOT
