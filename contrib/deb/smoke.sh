#!/usr/bin/env bash
# What a user meets after `dpkg -i sitedoctor_*.deb`: the command, its manual, its bash
# completion, the empty checks.d, and the systemd units installed but not enabled.
# Run as root after installing the package (.ci/run does); changes nothing.
set -euo pipefail
fail() { echo "package smoke test: $*" >&2; exit 1; }

[ "$(command -v sitedoctor)" = /usr/bin/sitedoctor ] || fail "sitedoctor is not /usr/bin/sitedoctor"
version=$(/usr/bin/sitedoctor --version)
[[ $version =~ ^sitedoctor\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version printed: $version"
[ "$(man -w sitedoctor)" = /usr/share/man/man1/sitedoctor.1.gz ] || fail "man -w sitedoctor"
warnings=$(MANWIDTH=80 man --warnings sitedoctor 2>&1 >/dev/null)
[ -z "$warnings" ] || fail "man warns: $warnings"

here=$(mktemp -d)
trap 'rm -rf "$here"' EXIT
cd "$here"

# The empty checks.d holds only its README: the built-in checklist runs.
[ "$(ls /etc/sitedoctor/checks.d)" = README ] || fail "checks.d holds more than its README"
listed=$(sitedoctor list)
grep -q "built-in" <<<"$listed" || fail "an empty checks.d does not fall back to the built-in checklist"

# A TAB after --only, through the installed script, offers this directory's ids.
printf '[[check]]\nid = "web-disk"\nkind = "disk"\ntags = ["web"]\n' >sitedoctor.toml
offered=$(bash -c '
    source /usr/share/bash-completion/completions/sitedoctor
    COMP_WORDS=(sitedoctor --only ""); COMP_CWORD=2; COMP_TYPE=9
    _clap_complete_sitedoctor sitedoctor "" --only
    printf "%s\n" "${COMPREPLY[@]}"')
[ "$offered" = "$(printf 'web-disk\nweb')" ] || fail "bash completion offered: $offered"
bash -n /usr/share/bash-completion/completions/sitedoctor
zsh -n /usr/share/zsh/vendor-completions/_sitedoctor
fish -n /usr/share/fish/vendor_completions.d/sitedoctor.fish

# The units are there, and nothing enabled them: no link in any .wants directory, and
# systemctl (which reads the unit files; systemd need not run) agrees.
for unit in sitedoctor.service sitedoctor.timer sitedoctor-serve.service; do
    [ -f "/lib/systemd/system/$unit" ] || fail "no /lib/systemd/system/$unit"
    links=$(find /etc/systemd/system -name "$unit" 2>/dev/null)
    [ -z "$links" ] || fail "$unit was enabled: $links"
    if command -v systemctl >/dev/null; then
        state=$(systemctl is-enabled "$unit" 2>/dev/null || true)
        case $state in disabled | static) ;; *) fail "$unit is $state" ;; esac
    fi
done
[ -s /usr/share/doc/sitedoctor/copyright ] || fail "no copyright file"
echo "package smoke test: ok"
