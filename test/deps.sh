#!/usr/bin/env bash
# deps.sh installs, from Debian's packages, what the local environment and the
# end-to-end tests need: slapd and ldap-utils (the real directory), tmux
# (terminal tests), zsh and bash-completion (completion tests), chromium (the
# web console's browser tests, driven headless). Nothing is installed when present.
set -euo pipefail
need=()
command -v slapd >/dev/null 2>&1 || [[ -x /usr/sbin/slapd ]] || need+=(slapd)
command -v ldapadd >/dev/null 2>&1 || need+=(ldap-utils)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v zsh >/dev/null 2>&1 || need+=(zsh)
[[ -f /usr/share/bash-completion/bash_completion ]] || need+=(bash-completion)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if (( ${#need[@]} == 0 )); then exit 0; fi
if [[ $(id -u) -ne 0 ]]; then
  sudo=sudo
else
  sudo=
fi
echo ">> installing ${need[*]} from Debian's packages" >&2
$sudo apt-get update -qq
echo 'slapd slapd/no_configuration boolean true' | $sudo debconf-set-selections
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
# The package's own slapd service is not ours: the environment runs its own.
if command -v service >/dev/null 2>&1; then $sudo service slapd stop >/dev/null 2>&1 || true; fi
