#!/usr/bin/env bash
# demo.sh: the tour `make demo` gives a newcomer, against the local environment
# that `make env-up` started. Every command shown is run for real.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ENV_DIR="${KGATE_ENV_DIR:-$ROOT/.localenv}"
source "$ENV_DIR/env.sh"
[[ -f "$ENV_DIR/ldap.env" ]] && { set -a; source "$ENV_DIR/ldap.env"; set +a; }
export PATH="$ROOT/bin:$PATH"

bold=$'\e[1m'; dim=$'\e[2m'; off=$'\e[0m'
[[ -t 1 ]] || { bold=; dim=; off=; }
step() { printf '\n%s# %s%s\n' "$dim" "$*" "$off"; }
show() { printf '%s$ %s%s\n' "$bold" "$*" "$off"; "$@" || printf '%s(exit %d)%s\n' "$dim" "$?" "$off"; }

[[ -f "$ROOT/test/demo.d/login.sh" ]] && source "$ROOT/test/demo.d/login.sh"

step "kgate is one binary; this one was just built"
show kgate version

step "list pods the way kubectl does (the API server renders the table)"
show kgate get pods -n payments

step "several kinds at once, TYPE/NAME, and more columns"
show kgate get deploy/web svc/web -n payments -o wide

step "a label selector across namespaces"
show kgate get pods -A -l app=web

step "names only, for scripts"
show kgate get pods -n search-prod -o name

step "describe uses kubectl's own describers, events included"
show kgate describe deploy/web -n payments

step "errors say what happened and exit with a code scripts can branch on"
show kgate get pod no-such-pod -n payments
show kgate get frobnicators

for f in "$ROOT"/test/demo.d/[0-9]*.sh; do
  [[ -f "$f" ]] && source "$f"
done

cat <<EOT

${bold}The local environment is still running.${off} Keep using it:

  source $ENV_DIR/env.sh      # sets KUBECONFIG (and kgate's settings) for this shell
  export PATH=$ROOT/bin:\$PATH
  kgate get pods -A

Stop it with:  make env-down
EOT
