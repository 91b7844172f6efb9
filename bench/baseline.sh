#!/usr/bin/env bash
# `snapshot`, `diff --files-only` (metadata only, nothing changed), `diff` (the files and the
# host's state) and `diff --verify` on the 200,000-file tree of bench/permissions.sh, next to
# the permissions scan of the same tree and `find -type f | xargs b3sum` (sha256sum without
# b3sum); warm cache, medians, peak memory.
# Target: the metadata-only diff of the files at most 1.2 x the permissions scan. The host's
# part of a full `diff` does not grow with the tree: it is mostly the web servers' and
# PHP-FPM's config tests, run every time (about 65 ms of CPU with nginx, Apache and PHP-FPM
# installed).
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
only="$diff --files-only"
verify="$only --verify"
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
pair() { # A B: runs A and B alternately, $runs times each (drift on a shared machine hits
          # both alike); prints A's and B's median ms and the median of the B/A ratios of each pair
    python3 - "$runs" "$1" "$2" <<'PY'
import statistics, subprocess, sys, time
runs, a, b = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def once(cmd):
    t = time.perf_counter()
    subprocess.run(["sh", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t) * 1000.0
once(a), once(b)  # warm
ta, tb = [], []
for i in range(runs):
    # Which runs first alternates too.
    x, y = (once(a), once(b)) if i % 2 == 0 else tuple(reversed((once(b), once(a))))
    ta.append(x)
    tb.append(y)
ratios = [y / x for x, y in zip(ta, tb)]
print(f"{statistics.median(ta):.0f} {statistics.median(tb):.0f} {statistics.median(ratios):.2f}")
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
read -r t_perm t_files r_files <<<"$(pair "$perm" "$only")"
read -r _ t_diff r_diff <<<"$(pair "$perm" "$diff")"
t_verify=$(median verify "$verify")
t_sum=$(median sum "$sum")
t_snap=$(median snap "$snap; rm -f $state/2*-*.snapshot")
printf '  %-36s %8s ms  %5s MiB\n' "permissions scan (sitedoctor)" "$t_perm" "$(peak "$perm")"
printf '  %-36s %8s ms  %5s MiB\n' "diff --files-only (metadata only)" "$t_files" "$(peak "$only")"
printf '  %-36s %8s ms  %5s MiB\n' "diff (files + host state)" "$t_diff" "$(peak "$diff")"
printf '  %-36s %8s ms  %5s MiB\n' "diff --files-only --verify (rehash)" "$t_verify" "$(peak "$verify")"
printf '  %-36s %8s ms  %5s MiB\n' "snapshot (checks + walk + hash)" "$t_snap" "$(peak "$snap")"
printf '  %-36s %8s ms  %5s MiB\n' "find | xargs $hash" "$t_sum" "$(peak "$sum")"
echo
python3 - "$t_files" "$t_perm" "$t_verify" "$t_snap" "$t_sum" "$t_diff" "$r_files" "$r_diff" <<'PY'
import sys
d, p, v, s, h, full, rd, rfull = map(float, sys.argv[1:])
# The ratios: medians over pairs run back to back.
print(f"  diff --files-only / permissions scan: {rd:.2f}  (target <= 1.2: {'ok' if rd <= 1.2 else 'OVER TARGET'})")
print(f"  diff / permissions scan:              {rfull:.2f}  (full - files-only medians: {full - d:.0f} ms, the host's part, which does not grow with the tree)")
print(f"  diff --verify / find+hash:            {v / h:.2f}")
print(f"  snapshot / find+hash:                 {s / h:.2f}")
PY
