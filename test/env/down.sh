#!/usr/bin/env bash
# down.sh [--purge]: stops the local environment started by up.sh, by the pid
# files in $KGATE_ENV_DIR/pids (TERM, then KILL after a few seconds), and
# slapd through test/env/slapd.sh stop if that script exists. Only processes
# whose pid file names them are touched. --purge also deletes the state dir.
#
# Both clusters (test and, if it was started, prod) unless --cluster NAME or
# KGATE_ENV_CLUSTER names one; slapd stops with the test cluster.
set -euo pipefail
purge=false
while (($# > 0)); do
  case "$1" in
    --purge) purge=true ;;
    --cluster)
      [[ $# -ge 2 ]] || { echo "down.sh: --cluster needs test or prod" >&2; exit 2; }
      export KGATE_ENV_CLUSTER="$2"; shift ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "down.sh: unknown argument $1 (want --purge, --cluster NAME)" >&2; exit 2 ;;
  esac
  shift
done
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [[ -z "${KGATE_ENV_CLUSTER:-}" && -d "$BASE_ENV_DIR/prod/pids" ]]; then
  KGATE_ENV_CLUSTER=prod bash "${BASH_SOURCE[0]}" || log "stopping the prod cluster failed (continuing)"
fi
if $purge && [[ "$CLUSTER_NAME" == prod ]]; then
  die "--purge deletes the whole environment; run it without --cluster prod"
fi
load_settings

if [[ -x "$SLAPD_SH" ]]; then
  "$SLAPD_SH" stop || log "test/env/slapd.sh stop failed (continuing)"
fi

# Stop in stages, reverse start order: clients of the API first (kwok, node
# agent, scheduler, controller manager), then kube-apiserver, then etcd. Each
# stage gets TERM, up to KGATE_STOP_TIMEOUT seconds (8), then KILL.
# alive NAME: the process is still there (a zombie or a reused pid is not).
alive() { [[ -n "$(pid_of "$1")" ]]; }
stopped=()
stop_stage() {
  local c pid deadline
  local -a stage=()
  for c in "$@"; do
    pid="$(pid_of "$c")"
    [[ -n "$pid" ]] || continue
    kill -TERM "$pid" 2>/dev/null || true
    stage+=("$c")
    stopped+=("$c")
  done
  deadline=$((SECONDS + ${KGATE_STOP_TIMEOUT:-8}))
  for c in "${stage[@]}"; do
    while alive "$c" && ((SECONDS < deadline)); do sleep 0.1; done
    if alive "$c"; then
      log "$c (pid $(pid_of "$c")) did not stop after TERM; sending KILL"
      kill -KILL "$(pid_of "$c")" 2>/dev/null || true
    fi
  done
  deadline=$((SECONDS + 5))
  for c in "${stage[@]}"; do
    while alive "$c" && ((SECONDS < deadline)); do sleep 0.05; done
    if alive "$c"; then log "$c is still running after KILL"; fi
  done
}
stop_stage metrics-server kwok nodeagent kube-scheduler kube-controller-manager
stop_stage kube-apiserver
stop_stage etcd
rm -f "$PIDS"/*.pid 2>/dev/null || true
if ((${#stopped[@]} > 0)); then
  log "stopped ($CLUSTER_NAME): ${stopped[*]}"
else
  log "nothing was running ($CLUSTER_NAME)"
fi

if $purge && [[ -d "$ENV_DIR" ]]; then
  # Never delete a directory up.sh did not create.
  [[ -f "$MARKER" ]] || die "$ENV_DIR has no $(basename "$MARKER") marker; not deleting it"
  rm -rf "$ENV_DIR"
  log "deleted $ENV_DIR"
fi
