# demo.d/login.sh: the login part of `make demo`, sourced by test/demo.sh
# (which provides step, show, $bold, $dim, $off). The local slapd's settings
# come from .localenv/ldap.env: its KGATE_LDAP_* variables configure kgate.
if [[ -z "${KGATE_SLAPD_PASSWORD_ALICE:-}" ]]; then
  step "no local directory (.localenv/ldap.env is missing): skipping kgate login"
  return 0
fi

# with_input INPUT CMD...: shows and runs CMD with INPUT on stdin, written as
# the here-string it is ($ENV_DIR/ldap.env holds the seeded passwords).
with_input() {
  local input="$1"
  shift
  printf '%s$ %s <<< %s%s\n' "$bold" "$(quote "$@")" "$(quote "$input")" "$off"
  "$@" <<<"$input" || printf '%s(exit %d)%s\n' "$dim" "$?" "$off"
}

step "log in once with your LDAP account: alice, whose password in the local directory is $KGATE_SLAPD_PASSWORD_ALICE. Scripts pass it on stdin (--password-stdin), people get a prompt"
with_input "$KGATE_SLAPD_PASSWORD_ALICE" kgate login --username alice --password-stdin

step "who you are, your groups (from the directory), and how long the session lasts"
show kgate whoami

step "a script can make sure the session outlives its job: less than 9h left is exit 3"
show kgate whoami --min-ttl 9h

step "a wrong password is exit 3, with the same message as an unknown user"
with_input not-her-password kgate login --username alice --password-stdin
