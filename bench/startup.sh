#!/usr/bin/env bash
# Start-up and built-in checklist speed, side by side with what a user would type instead.
# Absolute times drift on shared machines; the ratio is the figure to compare.
#   bench/startup.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
cargo build --release --locked -q
bin=$PWD/target/release/sitedoctor
here=$(mktemp -d)   # an empty working directory, so ./sitedoctor.toml cannot interfere
trap 'rm -rf "$here"' EXIT
cd "$here"

echo "--version (target: under 5 ms)"
python3 "$OLDPWD/bench/timing.py" "$runs" "sitedoctor --version" "$bin --version" \
    "df --version" "df --version" 5

echo
echo "built-in checklist (target: under 300 ms wall)"
manual='df -h >/dev/null; df -i >/dev/null; free -m >/dev/null; uptime >/dev/null; cat /proc/sys/fs/file-nr >/dev/null; ps aux --sort=-rss | head -4 >/dev/null'
# What the built-in checklist also does where the web stack is installed: its config tests.
command -v nginx >/dev/null && manual="$manual; nginx -t 2>/dev/null"
command -v apache2ctl >/dev/null && manual="$manual; apache2ctl -t 2>/dev/null"
for f in /usr/sbin/php-fpm*; do [ -x "$f" ] && manual="$manual; $f -t 2>/dev/null"; done
python3 "$OLDPWD/bench/timing.py" "$runs" "sitedoctor (built-in checklist)" "$bin --color never" \
    "the same by hand (df, free, uptime, ps, -t)" "$manual" 300

echo
echo "built-in checklist with a running journal, gunicorn and Node behind nginx (target: under 150 ms)"
"$OLDPWD/bench/stack.sh" "$runs" "$bin"
