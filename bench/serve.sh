#!/usr/bin/env bash
# `sitedoctor serve`: requests per second and p99 latency of /healthz answered from the cache,
# with 64 concurrent connections, beside the same for a static file of the same size served
# by nginx (the anchor: "as cheap as a static file"); and how many check runs the load
# caused (one per cache period at most). Both servers run on loopback with configurations
# in a temporary directory, and are stopped on exit.
#   bench/serve.sh [SECONDS [CACHE]]     (default: 10 s of load, a 5s cache)
set -euo pipefail
secs=${1:-10}
cache=${2:-5s}
cd "$(dirname "$0")/.."
for t in wrk /usr/sbin/nginx curl python3; do
    command -v "$t" >/dev/null || { echo "skipped: no $t here (.ci/run installs wrk and nginx)"; exit 0; }
done
cargo build --release --locked -q
bin=$PWD/target/release/sitedoctor

d=$(mktemp -d)
chmod 755 "$d"   # nginx's workers read the static file as nobody
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.02; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$d"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 250); do curl -s -o /dev/null "$1" && return 0; sleep 0.02; done; echo "$1 never answered" >&2; exit 1; }

# A checklist a host would run (disk, memory, load, descriptors) and one check that counts
# its runs in a file.
cat >"$d/sitedoctor.toml" <<EOF
[[check]]
id = "disk"
kind = "disk"
[[check]]
id = "memory"
kind = "memory"
[[check]]
id = "load"
kind = "load"
[[check]]
id = "fds"
kind = "fds"
[[check]]
id = "runs"
kind = "command"
shell = true
command = "echo run >> $d/runs.txt"
EOF
sd_port=$(free_port)
(cd "$d" && exec "$bin" serve --listen "127.0.0.1:$sd_port" --cache "$cache" 2>"$d/serve.log") &
pids+=($!)
wait_for "http://127.0.0.1:$sd_port/healthz"
body=$(curl -s "http://127.0.0.1:$sd_port/healthz")

mkdir -p "$d/www" "$d/nginx"
printf '%s\n' "$body" >"$d/www/healthz"
chmod -R a+rX "$d/www"
ng_port=$(free_port)
cat >"$d/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $d/nginx/nginx.pid;
error_log $d/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $d/nginx; proxy_temp_path $d/nginx; fastcgi_temp_path $d/nginx;
    uwsgi_temp_path $d/nginx; scgi_temp_path $d/nginx;
    server {
        listen 127.0.0.1:$ng_port;
        root $d/www;
        default_type text/plain;
    }
}
EOF
/usr/sbin/nginx -c "$d/nginx/nginx.conf" -p "$d/nginx" -g 'daemon off;' &
pids+=($!)
wait_for "http://127.0.0.1:$ng_port/healthz"

# requests/s and p99 in ms from wrk's report
measure() {
    wrk -t2 -c64 -d"${secs}s" --latency "$1" | python3 -c '
import re, sys
t = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
v, u = re.search(r"\n\s+99%\s+([\d.]+)(us|ms|s)", t).groups()
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(rps, float(v) * {"us": 0.001, "ms": 1, "s": 1000}[u], errors.group(1) if errors else 0)'
}

before=$(wc -l <"$d/runs.txt")
read -r sd_rps sd_p99 sd_bad < <(measure "http://127.0.0.1:$sd_port/healthz")
after=$(wc -l <"$d/runs.txt")
read -r ng_rps ng_p99 _ < <(measure "http://127.0.0.1:$ng_port/healthz")

python3 - "$sd_rps" "$sd_p99" "$ng_rps" "$ng_p99" "$sd_bad" "$((after - before))" "$secs" "$cache" <<'EOF'
import sys
sd_rps, sd_p99, ng_rps, ng_p99 = map(float, sys.argv[1:5])
bad, runs, secs, cache = int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]), sys.argv[8]
c = float(cache.rstrip("s"))
print(f"/healthz from the cache, 64 connections, {secs:.0f}s (wrk -t2 -c64 --latency)")
print(f"  {'':28} {'requests/s':>12} {'p99':>10}")
print(f"  {'sitedoctor serve /healthz':28} {sd_rps:12.0f} {sd_p99:8.2f}ms")
print(f"  {'nginx, the same as a file':28} {ng_rps:12.0f} {ng_p99:8.2f}ms")
print(f"  ratio sitedoctor/nginx: {sd_rps / ng_rps:.2f}x the requests/s, {sd_p99 / ng_p99:.2f}x the p99")
if bad:
    print(f"  note: {bad} answers were not 2xx (a check fails on this host: /healthz answers 503)")
periods = int(secs // c) + 1
print(f"  check runs the load caused: {runs} in {secs:.0f}s with a {cache} cache "
      f"(at most {periods}: one per cache period) -> {'ok' if runs <= periods else 'TOO MANY'}")
sys.exit(0 if runs <= periods else 1)
EOF
