# demo.d/login.sh: the login part of `make demo`, sourced by test/demo.sh
# (which provides step, show, $bold, $dim, $off). The local slapd's settings
# come from .localenv/ldap.env: its KGATE_LDAP_* variables configure kgate.
if [[ -z "${KGATE_SLAPD_PASSWORD_ALICE:-}" ]]; then
  step "no local directory (.localenv/ldap.env is missing): skipping kgate login"
  return 0
fi

# cmd_with_stdin DISPLAY INPUT CMD...: shows DISPLAY as the command line, runs CMD with INPUT on stdin.
cmd_with_stdin() {
  local display="$1" input="$2"
  shift 2
  printf '%s$ %s%s\n' "$bold" "$display" "$off"
  printf '%s\n' "$input" | "$@" || printf '%s(exit %d)%s\n' "$dim" "$?" "$off"
}

step "log in once with your LDAP account; scripts pipe the password in, people get a prompt"
cmd_with_stdin 'kgate login --username alice --password-stdin < alice.password' \
  "$KGATE_SLAPD_PASSWORD_ALICE" kgate login --username alice --password-stdin

step "who you are, your groups (from the directory), and how long the session lasts"
show kgate whoami

step "a script can make sure the session outlives its job: less than 9h left is exit 3"
show kgate whoami --min-ttl 9h

step "a wrong password is exit 3, with the same message as an unknown user"
cmd_with_stdin 'kgate login --username alice --password-stdin <<< not-her-password' \
  "not-her-password" kgate login --username alice --password-stdin
