#!/usr/bin/env bash
# release-check.sh: `make release-check`. Validates .goreleaser.yaml, builds a
# snapshot release into dist/ (nothing is published), and checks what a user
# downloads: each archive holds kgate, README.md, completions/ and man/, the
# checksums match, and the binary for this machine reports its version.
#
#   GORELEASER=path      the goreleaser binary (the Makefile installs one)
#   RELEASE_TARGETS=all  linux and darwin, amd64 and arm64 (the default)
#   RELEASE_TARGETS=host only this machine's platform: a quarter of the build
#                        time on a cold cache (CI)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
: "${GORELEASER:?set GORELEASER to the goreleaser binary}"
targets="${RELEASE_TARGETS:-all}"

log() { printf '>> release-check: %s\n' "$*" >&2; }
die() { printf 'release-check: %s\n' "$*" >&2; exit 1; }

# goreleaser reads the remote's URL; a clone without a remote gets a stand-in
# through the environment, so the repository's own config is never touched.
if [[ -z "$(git remote)" ]]; then
  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=https://github.com/kgate/kgate.git
fi

config=.goreleaser.yaml
"$GORELEASER" check --config "$config"

host_os=$(go env GOOS) host_arch=$(go env GOARCH)
if [[ "$targets" == host ]]; then
  # The same configuration with this platform only.
  mkdir -p .cache
  config=.cache/goreleaser-host.yaml
  sed -e "s/^    goos: .*/    goos: [$host_os]/" -e "s/^    goarch: .*/    goarch: [$host_arch]/" .goreleaser.yaml >"$config"
  grep -q "goos: \[$host_os\]" "$config" || die "could not narrow $config to $host_os/$host_arch"
elif [[ "$targets" != all ]]; then
  die "RELEASE_TARGETS must be all or host, not $targets"
fi

start=$SECONDS
"$GORELEASER" release --snapshot --clean --skip=publish --config "$config"
log "snapshot built in $((SECONDS - start))s"

# What a user downloads.
cd dist
[[ -s checksums.txt ]] || die "dist/checksums.txt is missing"
sha256sum --check --quiet checksums.txt || die "checksums do not match the archives"
want=(kgate README.md completions/kgate.bash completions/_kgate completions/kgate.fish completions/kgate.ps1 man/kgate.1 man/kgate-exec.1)
n=0
for archive in kgate_*.tar.gz; do
  list=$(tar -tzf "$archive")
  for f in "${want[@]}"; do
    grep -qx "$f" <<<"$list" || die "$archive has no $f"
  done
  man_pages=$(grep -c '^man/.*\.1$' <<<"$list")
  (( man_pages == $(ls "$ROOT"/man/*.1 | wc -l) )) || die "$archive has $man_pages man pages, man/ has more"
  n=$((n + 1))
done
expected=4
[[ "$targets" == host ]] && expected=1
(( n == expected )) || die "$n archives in dist/, want $expected"

# The binary for this machine knows its version, commit and build date.
bin=$(ls -d kgate_"${host_os}"_"${host_arch}"*/kgate | head -1)
out=$("$bin" version -o json)
for field in version commit date; do
  value=$(sed -n "s/.*\"$field\": \"\([^\"]*\)\".*/\1/p" <<<"$out")
  [[ -n "$value" && "$value" != dev && "$value" != none && "$value" != unknown ]] ||
    die "kgate version reports $field '$value': the ldflags do not reach internal/build ($out)"
done
log "$n archive(s) ok: $(tr -d '\n ' <<<"$out")"

# The binary carries the web console's build (the before hook's `make web`),
# not the page a binary built without it serves.
grep -qa '/kgate/console/assets/app-' "$bin" || die "$bin has no web console build embedded (the before hook did not run make web?)"
log "the web console is embedded"
