#!/usr/bin/env bash
# slapd.sh: the local environment's LDAP directory - real OpenLDAP slapd 2.5
# (Debian's slapd + ldap-utils) on loopback only.
#
#   test/env/slapd.sh start    start (idempotent; < 1 s once built)
#   test/env/slapd.sh stop     stop, by PID only
#   test/env/slapd.sh status   exit 0 if both instances are up
#   test/env/slapd.sh reset    stop and delete the directory (rebuilt on start)
#
# Two instances, both with the same seeded directory (dc=kgate,dc=test):
#   main     ldap://127.0.0.1:$KGATE_SLAPD_PORT   (StartTLS; plaintext binds allowed,
#            so kgate's own refusal of plaintext can be tested) and
#            ldaps://127.0.0.1:$KGATE_SLAPD_LDAPS_PORT
#   tlsonly  ldap://127.0.0.1:$KGATE_SLAPD_TLSONLY_PORT with olcSecurity
#            simple_bind=128: binds without TLS are refused by the server.
# A second process rather than one strict server, because the main one must
# accept a plaintext bind for the `insecure: true` path to be testable.
#
# Each instance: a throwaway cn=config built with `slapadd -n0` (memberof and
# refint loaded before the database), slapd in the foreground (-d) started in
# the background by this script, entries seeded online with ldapadd (slapadd
# would bypass the memberof overlay and leave memberOf empty). The server
# certificate (IP SAN 127.0.0.1) is signed by a CA of its own made with
# test/tools/cmd/certs (openssl if that tool is not available).
#
# State: ${KGATE_ENV_DIR:-<repo>/.localenv}/slapd/. Outputs:
#   .localenv/ldap.env           sourceable; KGATE_LDAP_* are kgate's own config
#                                variables (sourcing it configures kgate), the
#                                KGATE_SLAPD_* name facts for tests
#   .localenv/kgate-config.yaml  a complete kgate config for this directory
# Any edit to this script rebuilds the directory on the next start.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SELF="$ROOT/test/env/slapd.sh"
if [[ -f "$ROOT/test/env/lib.sh" ]]; then
  # shellcheck source=lib.sh
  source "$ROOT/test/env/lib.sh" # for TOOLS_BIN (the certs tool)
fi
ENV_DIR="${KGATE_ENV_DIR:-$ROOT/.localenv}"
STATE="$ENV_DIR/slapd"
PKI="$STATE/pki"

PORT="${KGATE_SLAPD_PORT:-16389}"
LDAPS_PORT="${KGATE_SLAPD_LDAPS_PORT:-16636}"
TLSONLY_PORT="${KGATE_SLAPD_TLSONLY_PORT:-16390}"

SLAPD="${SLAPD:-/usr/sbin/slapd}"
SLAPADD="${SLAPADD:-/usr/sbin/slapadd}"
MODULE_PATH="${SLAPD_MODULE_PATH:-/usr/lib/ldap}"
SCHEMA_DIR="${SLAPD_SCHEMA_DIR:-/etc/ldap/schema}"

SUFFIX="dc=kgate,dc=test"
PEOPLE="ou=people,$SUFFIX"
GROUPS_BASE="ou=groups,$SUFFIX"
ADMIN_DN="cn=admin,$SUFFIX"
ADMIN_PW="admin-s3cret"
READER_DN="cn=kgate-reader,$SUFFIX"
READER_PW="reader-s3cret"
# uid:password. a1/a2 make "a*" match several users when a filter is not escaped;
# dup exists twice (ou=people and ou=contractors) so "exactly one" is testable.
USERS=(alice:alice-s3cret bob:bob-s3cret carol:carol-s3cret dave:dave-s3cret erin:erin-s3cret
  olga:olga-s3cret a1:a1-s3cret a2:a2-s3cret dup:dup-s3cret)
# group:members (groupOfNames). erin, a1, a2 are in no group.
GROUPS_SEED=(payments-leads:alice team-payments:bob,carol qa:carol team-search:dave ops:olga)

log() { printf '>> slapd: %s\n' "$*" >&2; }
die() { printf 'slapd.sh: %s\n' "$*" >&2; exit 1; }

# Keep slapd's own ldap.conf and the user's ~/.ldaprc out of the client tools.
export LDAPCONF=/dev/null LDAPRC=.kgate-no-ldaprc LDAPTLS_CACERT="$PKI/ca.crt" LDAPTLS_REQCERT=demand

# ------------------------------------------------------------------ helpers
listeners() { # INSTANCE
  case "$1" in
    main) printf 'ldap://127.0.0.1:%s/ ldaps://127.0.0.1:%s/' "$PORT" "$LDAPS_PORT" ;;
    tlsonly) printf 'ldap://127.0.0.1:%s/' "$TLSONLY_PORT" ;;
  esac
}
first_port() { case "$1" in main) echo "$PORT" ;; tlsonly) echo "$TLSONLY_PORT" ;; esac }

# pid_of INSTANCE: the pid from the pid file if that process is alive and is our
# slapd for that instance (guards against pid reuse); empty otherwise.
pid_of() {
  local f="$STATE/$1/slapd.pid" pid
  [[ -f "$f" ]] || return 0
  pid="$(<"$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$STATE/$1/slapd.d"; then
    printf '%s' "$pid"
  fi
  return 0
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

fingerprint() { sha256sum "$SELF" | cut -c1-16; }

ensure_pki() {
  local crt="$PKI/slapd.crt"
  if [[ -s "$crt" && -s "$PKI/slapd.key" && -s "$PKI/ca.crt" && -n "$(find "$crt" -mtime -300 2>/dev/null)" ]]; then
    return 0
  fi
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  local certs=""
  if [[ -n "${TOOLS_BIN:-}" && -x "$TOOLS_BIN/certs" ]]; then
    certs="$TOOLS_BIN/certs"
  elif [[ -f "$ROOT/test/tools/cmd/certs/main.go" ]] && command -v go >/dev/null; then
    mkdir -p "$STATE/bin"
    (cd "$ROOT/test/tools" && go build -o "$STATE/bin/certs" ./cmd/certs)
    certs="$STATE/bin/certs"
  fi
  if [[ -n "$certs" ]]; then
    "$certs" ca --out "$PKI" --cn kgate-ldap-ca
    "$certs" leaf --ca "$PKI" --cn slapd --ip 127.0.0.1 --dns localhost --usage server --name slapd --out "$PKI" --force
  else
    log "test/tools/cmd/certs not available; using openssl"
    [[ -s "$PKI/ca.crt" ]] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -subj /CN=kgate-ldap-ca -keyout "$PKI/ca.key" -out "$PKI/ca.crt" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=slapd \
      -keyout "$PKI/slapd.key" -out "$PKI/slapd.csr" 2>/dev/null
    openssl x509 -req -in "$PKI/slapd.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 365 \
      -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n') \
      -out "$PKI/slapd.crt" 2>/dev/null
    rm -f "$PKI/slapd.csr"
  fi
  chmod 600 "$PKI/slapd.key" "$PKI/ca.key"
}

config_ldif() { # INSTANCE
  local dir="$STATE/$1" security=""
  [[ "$1" == tlsonly ]] && security="olcSecurity: simple_bind=128"
  cat <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $dir/slapd.pid
olcArgsFile: $dir/slapd.args
olcLogLevel: none
olcTLSCACertificateFile: $PKI/ca.crt
olcTLSCertificateFile: $PKI/slapd.crt
olcTLSCertificateKeyFile: $PKI/slapd.key
olcTLSProtocolMin: 3.3
$security

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: $MODULE_PATH
olcModuleLoad: back_mdb
olcModuleLoad: memberof
olcModuleLoad: refint

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://$SCHEMA_DIR/core.ldif
include: file://$SCHEMA_DIR/cosine.ldif
include: file://$SCHEMA_DIR/nis.ldif
include: file://$SCHEMA_DIR/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $SUFFIX
olcDbDirectory: $dir/data
olcDbMaxSize: 67108864
olcRootDN: $ADMIN_DN
olcRootPW: $ADMIN_PW
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: member eq
olcAccess: {0}to attrs=userPassword by anonymous auth by * none
olcAccess: {1}to * by dn.exact="$READER_DN" read by self read by * none

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf

dn: olcOverlay={1}refint,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcRefintConfig
olcOverlay: {1}refint
olcRefintAttribute: member
EOF
}

hash() { /usr/sbin/slappasswd -h '{SSHA}' -s "$1"; }

seed_ldif() {
  cat <<EOF
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
dc: kgate
o: kgate test directory

dn: $READER_DN
objectClass: simpleSecurityObject
objectClass: organizationalRole
cn: kgate-reader
description: read-only service account kgate searches with
userPassword: $(hash "$READER_PW")

dn: $PEOPLE
objectClass: organizationalUnit
ou: people

dn: ou=contractors,$PEOPLE
objectClass: organizationalUnit
ou: contractors

dn: $GROUPS_BASE
objectClass: organizationalUnit
ou: groups

EOF
  local u name pw dn i=1000
  for u in "${USERS[@]}"; do
    name="${u%%:*}" pw="${u#*:}"
    dn="uid=$name,$PEOPLE"
    printf 'dn: %s\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: %s\ncn: %s\nsn: %s\nmail: %s@kgate.test\nuidNumber: %d\ngidNumber: 1000\nhomeDirectory: /home/%s\nuserPassword: %s\n\n' \
      "$dn" "$name" "${name^}" "${name^}" "$name" $((i++)) "$name" "$(hash "$pw")"
  done
  # the second "dup", so that (uid=dup) matches two entries
  printf 'dn: uid=dup,ou=contractors,%s\nobjectClass: inetOrgPerson\nuid: dup\ncn: Dup Contractor\nsn: Dup\nuserPassword: %s\n\n' \
    "$PEOPLE" "$(hash dup-s3cret)"
  local g members m
  for g in "${GROUPS_SEED[@]}"; do
    name="${g%%:*}" members="${g#*:}"
    printf 'dn: cn=%s,%s\nobjectClass: groupOfNames\ncn: %s\n' "$name" "$GROUPS_BASE" "$name"
    IFS=, read -ra m <<<"$members"
    for u in "${m[@]}"; do printf 'member: uid=%s,%s\n' "$u" "$PEOPLE"; done
    printf '\n'
  done
}

# build INSTANCE: a fresh cn=config and empty database.
build() {
  local dir="$STATE/$1"
  rm -rf "$dir"
  mkdir -p "$dir/slapd.d" "$dir/data"
  chmod 700 "$dir"
  config_ldif "$1" >"$dir/config.ldif"
  "$SLAPADD" -n0 -F "$dir/slapd.d" -l "$dir/config.ldif" >"$dir/slapadd.log" 2>&1 ||
    { cat "$dir/slapadd.log" >&2; die "slapadd -n0 failed for $1 (log above)"; }
}

launch() { # INSTANCE
  local dir="$STATE/$1"
  # -d: foreground; this script puts it in the background and keeps its pid.
  setsid "$SLAPD" -d 0 -h "$(listeners "$1")" -F "$dir/slapd.d" >"$dir/slapd.log" 2>&1 </dev/null &
  echo $! >"$dir/slapd.pid"
}

wait_up() { # INSTANCE
  local port i pid
  port="$(first_port "$1")"
  for ((i = 0; i < 500; i++)); do
    port_open "$port" && return 0
    # The pid launch recorded, alive: right after the fork its command line
    # is still this script's, so pid_of (which checks it is slapd's) could
    # take a slapd that has not started yet for one that has exited.
    pid="$(<"$STATE/$1/slapd.pid")"
    if ! kill -0 "$pid" 2>/dev/null || grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; then
      tail -20 "$STATE/$1/slapd.log" >&2 || true
      die "slapd ($1) exited at start; log: $STATE/$1/slapd.log"
    fi
    sleep 0.01
  done
  die "slapd ($1) did not listen on 127.0.0.1:$port within 5 s; log: $STATE/$1/slapd.log"
}

seed() { # INSTANCE
  local port
  port="$(first_port "$1")"
  seed_ldif >"$STATE/seed.ldif"
  ldapadd -x -ZZ -H "ldap://127.0.0.1:$port" -D "$ADMIN_DN" -w "$ADMIN_PW" -f "$STATE/seed.ldif" >"$STATE/$1/seed.log" 2>&1 ||
    { cat "$STATE/$1/seed.log" >&2; die "seeding $1 failed (log above)"; }
}

write_outputs() {
  local sq="'"
  umask 077
  printf '%s\n' "$READER_PW" >"$STATE/reader.password"
  {
    echo "# Written by test/env/slapd.sh. KGATE_LDAP_* are kgate's own config variables:"
    echo "# sourcing this file configures kgate for the local directory. KGATE_SLAPD_* are"
    echo "# facts about that directory for tests."
    echo "export KGATE_LDAP_URLS='ldap://127.0.0.1:$PORT'"
    echo "export KGATE_LDAP_CAFILE='$PKI/ca.crt'"
    echo "export KGATE_LDAP_BINDDN='$READER_DN'"
    echo "export KGATE_LDAP_BINDPASSWORD='$READER_PW'"
    echo "export KGATE_LDAP_USERBASE='$PEOPLE'"
    echo "export KGATE_SLAPD_DIR='$STATE'"
    echo "export KGATE_SLAPD_STARTTLS_URL='ldap://127.0.0.1:$PORT'"
    echo "export KGATE_SLAPD_LDAPS_URL='ldaps://127.0.0.1:$LDAPS_PORT'"
    echo "export KGATE_SLAPD_TLSONLY_URL='ldap://127.0.0.1:$TLSONLY_PORT'"
    echo "export KGATE_SLAPD_CA_FILE='$PKI/ca.crt'"
    echo "export KGATE_SLAPD_BASE_DN='$SUFFIX'"
    echo "export KGATE_SLAPD_USER_BASE='$PEOPLE'"
    echo "export KGATE_SLAPD_GROUP_BASE='$GROUPS_BASE'"
    echo "export KGATE_SLAPD_BIND_DN='$READER_DN'"
    echo "export KGATE_SLAPD_BIND_PASSWORD='$READER_PW'"
    echo "export KGATE_SLAPD_BIND_PASSWORD_FILE='$STATE/reader.password'"
    echo "export KGATE_SLAPD_ADMIN_DN='$ADMIN_DN'"
    echo "export KGATE_SLAPD_ADMIN_PASSWORD='$ADMIN_PW'"
    echo "export KGATE_SLAPD_CONFIG='$ENV_DIR/kgate-config.yaml'"
    local u
    for u in "${USERS[@]}"; do
      echo "export KGATE_SLAPD_PASSWORD_${u%%:*}=$sq${u#*:}$sq" | sed 's/_PASSWORD_\([a-z0-9]*\)=/_PASSWORD_\U\1=/'
    done
  } >"$ENV_DIR/ldap.env.tmp"
  mv "$ENV_DIR/ldap.env.tmp" "$ENV_DIR/ldap.env"
  cat >"$ENV_DIR/kgate-config.yaml.tmp" <<EOF
# kgate config for the local test directory (written by test/env/slapd.sh).
# Use it with: KGATE_CONFIG=$ENV_DIR/kgate-config.yaml kgate login --username alice
ldap:
  # Tried in order; the next one when one is unreachable or times out.
  urls:
    - ldap://127.0.0.1:$PORT
    - ldaps://127.0.0.1:$LDAPS_PORT
  startTLS: true               # ldap:// URLs are upgraded with StartTLS
  caFile: $PKI/ca.crt
  bindDN: $READER_DN
  bindPasswordFile: $STATE/reader.password
  userBase: $PEOPLE
  userFilter: (uid=%s)
  usernameAttribute: uid
  groupAttribute: memberOf     # group names are the CN of each memberOf DN
  groupNameAttribute: cn
  # A group search instead of memberOf:
  # groupBase: $GROUPS_BASE
  # groupFilter: (member=%s)
  dialTimeout: 5s
  timeout: 10s
session:
  lifetime: 8h
EOF
  mv "$ENV_DIR/kgate-config.yaml.tmp" "$ENV_DIR/kgate-config.yaml"
}

# ------------------------------------------------------------------ commands
start() {
  command -v "$SLAPD" >/dev/null || die "$SLAPD not found: install Debian's slapd and ldap-utils (make deps)"
  command -v ldapadd >/dev/null || die "ldapadd not found: install ldap-utils (make deps)"
  mkdir -p "$STATE"
  chmod 700 "$STATE"
  local fp want=() inst p
  fp="$(fingerprint)"
  if [[ "$(cat "$STATE/fingerprint" 2>/dev/null)" != "$fp" ]]; then
    [[ -f "$STATE/fingerprint" ]] && log "slapd.sh changed; rebuilding the directory"
    stop_all quiet
    rm -rf "$STATE/main" "$STATE/tlsonly"
    rm -f "$STATE/fingerprint"
  fi
  for inst in main tlsonly; do
    [[ -z "$(pid_of "$inst")" ]] && want+=("$inst")
  done
  if ((${#want[@]} > 0)); then
    for inst in "${want[@]}"; do
      for p in $(listeners "$inst" | grep -o ':[0-9]*/' | tr -d :/); do
        port_open "$p" && die "port $p on 127.0.0.1 is already in use; stop that or set KGATE_SLAPD_PORT, KGATE_SLAPD_LDAPS_PORT, KGATE_SLAPD_TLSONLY_PORT"
      done
    done
    ensure_pki
    local fresh=()
    for inst in "${want[@]}"; do
      if [[ ! -f "$STATE/fingerprint" || ! -d "$STATE/$inst/slapd.d" ]]; then
        build "$inst"
        fresh+=("$inst")
      fi
      launch "$inst"
    done
    for inst in "${want[@]}"; do wait_up "$inst"; done
    for inst in "${fresh[@]}"; do seed "$inst"; done
    echo "$fp" >"$STATE/fingerprint"
  fi
  write_outputs
  log "up: ldap://127.0.0.1:$PORT (StartTLS), ldaps://127.0.0.1:$LDAPS_PORT, ldap://127.0.0.1:$TLSONLY_PORT (TLS required for binds); source $ENV_DIR/ldap.env"
}

stop_one() { # INSTANCE [quiet]
  local pid i
  pid="$(pid_of "$1")"
  if [[ -z "$pid" ]]; then
    rm -f "$STATE/$1/slapd.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 500; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$STATE/$1/slapd.pid"
  [[ "${2:-}" == quiet ]] || log "stopped $1 (pid $pid)"
}

stop_all() {
  stop_one main "${1:-}"
  stop_one tlsonly "${1:-}"
}

status() {
  local rc=0 inst pid
  for inst in main tlsonly; do
    pid="$(pid_of "$inst")"
    if [[ -n "$pid" ]]; then
      echo "slapd $inst: running (pid $pid): $(listeners "$inst")"
    else
      echo "slapd $inst: stopped"
      rc=1
    fi
  done
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop_all ;;
  status) status ;;
  reset)
    stop_all
    rm -rf "$STATE" "$ENV_DIR/ldap.env" "$ENV_DIR/kgate-config.yaml"
    ;;
  *) die "usage: $0 start|stop|status|reset" ;;
esac
