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
. bench/webroot.sh

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

pair() { # NAME_A A NAME_B B: A's and B's medians (ms) and the median of the A/B ratios,
          # run interleaved by bench/timing.py (drift on a shared machine hits both alike)
    python3 bench/timing.py --values "$runs" "$1" "$2" "$3" "$4"
}
peak() { # CMD: max RSS in MiB of the command (the largest process of a pipeline)
    /usr/bin/time -o "$work/rss" -f %M sh -c "$1" >/dev/null 2>&1 || true
    tail -1 "$work/rss" | awk '{printf "%d", $1/1024}'
}

$snap
echo "snapshot: $(ls -l "$state"/*.snapshot | awk '{print $5}' | head -1) bytes for $files files"
echo "diff says: $($diff --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["checks"][0]["summary"])')"
echo
read -r t_files t_perm r_files <<<"$(pair only "$only" perm "$perm")"
read -r t_diff _ r_diff <<<"$(pair diff "$diff" perm "$perm")"
read -r t_verify t_sum r_verify <<<"$(pair verify "$verify" sum "$sum")"
read -r t_snap _ r_snap <<<"$(pair snap "$snap; rm -f $state/2*-*.snapshot" sum "$sum")"
printf '  %-36s %8s ms  %5s MiB\n' "permissions scan (sitedoctor)" "$t_perm" "$(peak "$perm")"
printf '  %-36s %8s ms  %5s MiB\n' "diff --files-only (metadata only)" "$t_files" "$(peak "$only")"
printf '  %-36s %8s ms  %5s MiB\n' "diff (files + host state)" "$t_diff" "$(peak "$diff")"
printf '  %-36s %8s ms  %5s MiB\n' "diff --files-only --verify (rehash)" "$t_verify" "$(peak "$verify")"
printf '  %-36s %8s ms  %5s MiB\n' "snapshot (checks + walk + hash)" "$t_snap" "$(peak "$snap")"
printf '  %-36s %8s ms  %5s MiB\n' "find | xargs $hash" "$t_sum" "$(peak "$sum")"
echo
# Code as sites have it: 20,000 files of 200 lines. The snapshot's line hashes (4 bytes a
# line) are then most of it; `diff` reads them only for files whose content changed.
code=$work/code
python3 bench/tree.py "$code/www" 20000 200
sed "s|$work/www|$code/www|" "$work/perm.toml" >"$code/perm.toml"
$bin snapshot --config "$code/perm.toml" --baseline "$code/state" --force --quiet
read -r t_code t_code_perm r_code <<<"$(pair only "$bin diff --config $code/perm.toml --baseline $code/state --files-only" perm "$bin --config $code/perm.toml")"
echo "  20,000 files of 200 lines: snapshot $(ls -l "$code"/state/*.snapshot | awk '{print $5}' | head -1) bytes;" \
    "diff --files-only $t_code ms, permissions scan $t_code_perm ms"
echo
python3 - "$t_files" "$t_diff" "$r_files" "$r_diff" "$r_verify" "$r_snap" "$r_code" <<'PY'
import sys
d, full, rd, rfull, rv, rs, rc = map(float, sys.argv[1:])
# Each ratio: the median over runs made back to back.
print(f"  diff --files-only / permissions scan: {rd:.2f}  (target <= 1.2: {'ok' if rd <= 1.2 else 'OVER TARGET'})")
print(f"  diff / permissions scan:              {rfull:.2f}  (full - files-only medians: {full - d:.0f} ms, the host's part, which does not grow with the tree)")
print(f"  diff --verify / find+hash:            {rv:.2f}")
print(f"  snapshot / find+hash:                 {rs:.2f}")
print(f"  diff --files-only / permissions scan, 20,000 files of 200 lines: {rc:.2f}")
PY
