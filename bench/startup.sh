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
python3 "$OLDPWD/bench/timing.py" "$runs" "sitedoctor (built-in checklist)" "$bin --color never" \
    "df+free+uptime+file-nr+ps by hand" "$manual" 300
