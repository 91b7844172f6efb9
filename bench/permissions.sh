#!/usr/bin/env bash
# The `permissions` check against find(1) on the same 200,000-file tree, interleaved, warm
# cache; prints the medians, their ratio (target <= 1.0, stretch 0.6) and sitedoctor's peak
# memory (target <= 64 MiB).
#   bench/permissions.sh [RUNS] [FILES]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-15}
files=${2:-200000}
. bench/webroot.sh

find_cmd="find '$work/www' \\( -type f -perm /7133 \\) -print -o \\( -type d -perm /7022 \\) -print"
echo "same findings? sitedoctor: $("$bin" --config "$work/perm.toml" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["checks"][0]["summary"])')"
echo "                    find: $(sh -c "$find_cmd" | wc -l) paths"
echo
python3 bench/timing.py "$runs" "sitedoctor permissions" "$bin --config $work/perm.toml --color never" \
    "find -perm" "$find_cmd"
echo
# The check finds problems, so sitedoctor exits 2: that is expected here.
peak=$({ /usr/bin/time -f %M "$bin" --config "$work/perm.toml" --color never >/dev/null || true; } 2>&1 | tail -1)
echo "  peak memory (max RSS) of sitedoctor: $((peak / 1024)) MiB (target: at most 64 MiB)"
