#!/usr/bin/env bash
# `snapshot`, `diff` (metadata only, nothing changed) and `diff --verify` on the 200,000-file
# tree of bench/permissions.sh, next to the permissions scan of the same tree and
# `find -type f | xargs b3sum` (sha256sum without b3sum); warm cache, medians, peak memory.
# Target: the metadata-only diff at most 1.2 x the permissions scan.
#   bench/baseline.sh [RUNS] [FILES]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
files=${2:-200000}
cargo build --release --locked -q
bin=$PWD/target/release/sitedoctor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "building a tree of $files files in $work/www ..."
python3 bench/tree.py "$work/www" "$files"

cat >"$work/perm.toml" <<TOML
[[check]]
id = "bench"
kind = "permissions"
path = "$work/www"
timeout = "120s"
TOML

hash=b3sum
command -v b3sum >/dev/null || hash=sha256sum
state=$work/state
# The permissions check fails on the 0666 files: --force records anyway. Each snapshot run
# also runs that check first (a snapshot is of a state that works), so it is in the figure.
snap="$bin snapshot --config $work/perm.toml --baseline $state --force --quiet"
diff="$bin diff --config $work/perm.toml --baseline $state --color never"
verify="$diff --verify"
perm="$bin --config $work/perm.toml --color never"
sum="find '$work/www' -type f -print0 | xargs -0 $hash"

median() { # NAME CMD: prints the median wall time in ms of $runs runs
    python3 - "$runs" "$2" <<'PY'
import statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2]
subprocess.run(["sh", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # warm
ts = []
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run(["sh", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    ts.append((time.perf_counter() - t) * 1000.0)
print(f"{statistics.median(ts):.0f}")
PY
}
peak() { # CMD: max RSS in MiB of the command (the largest process of a pipeline)
    /usr/bin/time -o "$work/rss" -f %M sh -c "$1" >/dev/null 2>&1 || true
    tail -1 "$work/rss" | awk '{printf "%d", $1/1024}'
}

$snap
echo "snapshot: $(ls -l "$state"/*.snapshot | awk '{print $5}' | head -1) bytes for $files files"
echo "diff says: $($diff --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["checks"][0]["summary"])')"
echo
t_perm=$(median perm "$perm")
t_diff=$(median diff "$diff")
t_verify=$(median verify "$verify")
t_sum=$(median sum "$sum")
t_snap=$(median snap "$snap; rm -f $state/2*-*.snapshot")
printf '  %-36s %8s ms  %5s MiB\n' "permissions scan (sitedoctor)" "$t_perm" "$(peak "$perm")"
printf '  %-36s %8s ms  %5s MiB\n' "diff (metadata only)" "$t_diff" "$(peak "$diff")"
printf '  %-36s %8s ms  %5s MiB\n' "diff --verify (rehash all)" "$t_verify" "$(peak "$verify")"
printf '  %-36s %8s ms  %5s MiB\n' "snapshot (checks + walk + hash)" "$t_snap" "$(peak "$snap")"
printf '  %-36s %8s ms  %5s MiB\n' "find | xargs $hash" "$t_sum" "$(peak "$sum")"
echo
python3 - "$t_diff" "$t_perm" "$t_verify" "$t_snap" "$t_sum" <<'PY'
import sys
d, p, v, s, h = map(float, sys.argv[1:])
print(f"  diff / permissions scan:   {d / p:.2f}  (target <= 1.2: {'ok' if d / p <= 1.2 else 'OVER TARGET'})")
print(f"  diff --verify / find+hash: {v / h:.2f}")
print(f"  snapshot / find+hash:      {s / h:.2f}")
PY
