#!/usr/bin/env bash
# The `log` check on a large error log whose last hour sits at its end, against `grep -c`
# over the same file (what a person would run), interleaved, warm cache. Prints the medians
# and the ratio; target: at most 0.05 on a 400 MB log.
#   bench/logs.sh [RUNS] [MB]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-9}
mb=${2:-400}
cargo build --release --locked -q
bin=$PWD/target/release/sitedoctor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "writing a ${mb} MB nginx error log (ten days, the last hour at the end) ..."
python3 - "$work/error.log" "$mb" <<'PY'
import sys, time
path, mb = sys.argv[1], int(sys.argv[2])
target = mb * 1024 * 1024
now = time.time()
line = "{} [error] 812#812: *{} upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.{}.{}, server: shop.example, request: \"GET /p/{} HTTP/1.1\"\n"
approx = len(line.format("2024/01/01 00:00:00", 1, 1, 1, 1))
total = target // approx
recent = 4700  # about 1 MB in the last hour
with open(path, "w") as f:
    for i in range(total):
        if i < total - recent:
            t = now - 10 * 86400 + (i / (total - recent)) * (10 * 86400 - 3700)
        else:
            t = now - 3500 + (i - (total - recent)) * 3400 / recent
        stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(t))
        f.write(line.format(stamp, i, i % 250, i % 200, i))
PY
ls -l "$work/error.log" | awk '{printf "  file size: %.0f MB\n", $5/1048576}'
cat >"$work/log.toml" <<TOML
[[check]]
id = "errors"
kind = "log"
paths = ["$work/error.log"]
window = "1h"
TOML
echo "  sitedoctor: $("$bin" --config "$work/log.toml" --format json | python3 -c 'import json,sys; c=json.load(sys.stdin)["checks"][0]; print(c["summary"][:90], "| read", [m["value"] for m in c["metrics"] if m["name"]=="bytes_read"][0], "bytes")')"
echo "  grep -c:    $(grep -c 'upstream timed out' "$work/error.log") matching lines in the whole file"
python3 bench/timing.py "$runs" "sitedoctor log (last hour)" "$bin --config $work/log.toml --color never" \
    "grep -c (whole file)" "grep -c 'upstream timed out' $work/error.log"
