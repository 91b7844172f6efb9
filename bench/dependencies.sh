#!/usr/bin/env bash
# N dependencies that accept and never answer, each with timeout T: sitedoctor (all at once)
# against monitoring-plugins' check_http run one after another, as a cron script would.
# Prints both wall times and their ratio; target: sitedoctor within 1.2 x T for N = 20.
# Needs check_http (Debian: apt-get install monitoring-plugins-basic). Loopback only.
#   bench/dependencies.sh [N] [T_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
t=${2:-2}
check_http=/usr/lib/nagios/plugins/check_http
[ -x "$check_http" ] || { echo "needs $check_http: apt-get install monitoring-plugins-basic" >&2; exit 1; }
cargo build --release --locked -q
bin=$PWD/target/release/sitedoctor
work=$(mktemp -d)

# A listener that accepts and holds every connection, and stops by itself.
python3 - "$work/port" <<'PY' &
import socket, sys, time, threading
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(512)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
s.settimeout(1)
end = time.time() + 600
while time.time() < end:
    try:
        c, _ = s.accept()
        held.append(c)
    except socket.timeout:
        pass
PY
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
while [ ! -s "$work/port" ]; do sleep 0.05; done
port=$(cat "$work/port")

for i in $(seq 1 "$n"); do
    printf '[[check]]\nid = "dep%s"\nkind = "http"\nurl = "http://127.0.0.1:%s/%s"\ntimeout = "%ss"\n\n' "$i" "$port" "$i" "$t"
done >"$work/deps.toml"

now() { python3 -c 'import time; print(time.monotonic())'; }
start=$(now)
"$bin" --config "$work/deps.toml" --quiet >/dev/null || true
mid=$(now)
for i in $(seq 1 "$n"); do
    "$check_http" -H 127.0.0.1 -p "$port" -u "/$i" -t "$t" >/dev/null || true
done
end=$(now)
python3 - "$start" "$mid" "$end" "$n" "$t" <<'PY'
import sys
start, mid, end, n, t = map(float, sys.argv[1:])
sd, ch = mid - start, end - mid
print(f"  {int(n)} hung dependencies, timeout {t:g}s each")
print(f"  sitedoctor (concurrent)         {sd:7.2f} s  ({sd / t:.2f} x T; target <= 1.2 x T)")
print(f"  check_http, one after another   {ch:7.2f} s")
print(f"  ratio sitedoctor / check_http:  {sd / ch:.3f}")
PY
