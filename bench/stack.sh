#!/usr/bin/env bash
# The built-in checklist on a host with a running journal and two app servers, side by side
# with what a person would type for the same. For the benchmark only, in a private mount
# namespace (the machine's own /run, /var/log, /etc/nginx and /srv are never touched): a
# systemd-journald, gunicorn (Debian's) serving a WSGI app from a virtualenv with its error
# log in a file, a Node server logging to the journal, nginx proxying to both on loopback
# ports, and the apps' lockfiles with what they lock installed. Everything is stopped and
# removed on exit.
#   bench/stack.sh [RUNS [SITEDOCTOR_BINARY]]   (startup.sh calls it; needs root)
set -euo pipefail
runs=${1:-30}
here=$(cd "$(dirname "$0")" && pwd)
bin=${2:-$here/../target/release/sitedoctor}

skip() { echo "  skipped: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root (a private mount namespace and a journald)"
for t in unshare mount /lib/systemd/systemd-journald journalctl systemd-cat /usr/bin/gunicorn \
    /usr/bin/node /usr/sbin/nginx /usr/bin/python3 curl ss; do
    command -v "$t" >/dev/null || skip "no $t here"
done
cgroot=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$cgroot" ] && [ -w "$cgroot/cgroup.procs" ] || skip "no writable cgroup v2 hierarchy"

if [ "${SITEDOCTOR_BENCH_NS:-}" != 1 ]; then
    # Everything below runs in a mount namespace of its own: its mounts vanish with it.
    SITEDOCTOR_BENCH_NS=1 exec unshare -m --propagation private "$0" "$runs" "$bin"
fi

d=$(mktemp -d)
pids=()
cgroups=()
cleanup() {
    # TERM first: nginx's and gunicorn's masters stop and reap their workers.
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 250); do kill -0 "$p" 2>/dev/null || break; sleep 0.02; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    # Whatever is left of what the servers started is in the units' cgroups.
    for cg in "${cgroups[@]}"; do
        [ -f "$cg/cgroup.kill" ] && echo 1 >"$cg/cgroup.kill" 2>/dev/null || true
        for _ in $(seq 100); do rmdir "$cg" 2>/dev/null && break; sleep 0.02; done
    done
    umount -l /srv /etc/nginx /var/log /run 2>/dev/null || true
    rm -rf "$d"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Wait (bounded) until COMMAND succeeds.
wait_for() {
    for _ in $(seq 500); do "$@" >/dev/null 2>&1 && return 0; sleep 0.02; done
    echo "  gave up waiting for: $*" >&2
    tail -n 5 "$d"/*.out >&2
    exit 1
}

mkdir -p "$d"/{run,log/nginx,log/shop,log/journal,etc-nginx,srv/www,nginx/tmp,empty}
mount --make-rprivate /
mount -t tmpfs tmpfs /run
mount --bind "$d/log" /var/log
mount --bind "$d/etc-nginx" /etc/nginx
mount --bind "$d/srv" /srv

# journald, as under systemd: /run/systemd/journal/socket, journal files in /var/log/journal.
/lib/systemd/systemd-journald >"$d/journald.out" 2>&1 &
pids+=($!)
wait_for test -S /run/systemd/journal/stdout

# Units' cgroups, so that the journal records _SYSTEMD_UNIT, sitedoctor maps the servers'
# pids to units, and cleaning up kills every process they started.
made_slice=
if [ ! -d "$cgroot/system.slice" ]; then mkdir "$cgroot/system.slice"; made_slice=1; fi
shop_unit=sdbench$$-shop.service
api_unit=sdbench$$-api.service
web_unit=sdbench$$-nginx.service
for u in "$shop_unit" "$api_unit" "$web_unit"; do mkdir "$cgroot/system.slice/$u"; cgroups+=("$cgroot/system.slice/$u"); done
if [ -n "$made_slice" ]; then cgroups+=("$cgroot/system.slice"); fi

gport=$(free_port)
nport=$(free_port)
port=$(free_port)

# The Python app: a WSGI app with a route that fails, its requirements installed in its venv.
shop=/srv/www/shop
mkdir -p "$shop/static"
cat >"$shop/shop.py" <<'PY'
def application(environ, start_response):
    if environ['PATH_INFO'] == '/cart':
        return render_cart(environ)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok\n']
PY
/usr/bin/python3 -m venv --without-pip --system-site-packages "$shop/venv"
gver=$(/usr/bin/python3 -c 'import gunicorn; print(gunicorn.__version__)')
site=$(echo "$shop"/venv/lib/python3*/site-packages)
# Installed as pip would record it (Debian's egg-info made a dist-info: same metadata and
# entry points, which /usr/bin/gunicorn looks itself up by).
cp -r "$(/usr/bin/python3 -c 'import importlib.metadata as m; print(m.distribution("gunicorn")._path)')" \
    "$site/gunicorn-$gver.dist-info"
[ -f "$site/gunicorn-$gver.dist-info/PKG-INFO" ] &&
    mv "$site/gunicorn-$gver.dist-info/PKG-INFO" "$site/gunicorn-$gver.dist-info/METADATA"
echo "gunicorn==$gver" >"$shop/requirements.txt"
printf 'API_URL=http://127.0.0.1:%s/\n' "$port" >"$shop/.env"

# The Node app: a server using one dependency, locked and installed.
api=/srv/www/api
mkdir -p "$api/node_modules/greet"
cat >"$api/server.js" <<'JS'
const http = require('http');
const greet = require('greet');
console.error('Error: cache warm-up failed, continuing without cache');
http.createServer((req, res) => res.end(greet('api') + '\n')).listen(+process.argv[2], '127.0.0.1');
JS
echo '{"name":"greet","version":"1.2.0","main":"index.js"}' >"$api/node_modules/greet/package.json"
echo "module.exports = (who) => 'hello from ' + who;" >"$api/node_modules/greet/index.js"
echo '{"name":"api","version":"1.0.0","dependencies":{"greet":"^1.2.0"}}' >"$api/package.json"
cat >"$api/package-lock.json" <<'JSON'
{"name":"api","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{
"":{"name":"api","version":"1.0.0","dependencies":{"greet":"^1.2.0"}},
"node_modules/greet":{"version":"1.2.0"}}}
JSON

# Each app server starts inside its unit's cgroup.
sh -c 'echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh "$cgroot/system.slice/$shop_unit" \
    "$shop/venv/bin/python3" /usr/bin/gunicorn --chdir "$shop" --bind "127.0.0.1:$gport" \
    --workers 2 --error-logfile /var/log/shop/error.log shop:application >"$d/gunicorn.out" 2>&1 &
pids+=($!)
(cd "$api" && exec sh -c 'echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh \
    "$cgroot/system.slice/$api_unit" systemd-cat -t api /usr/bin/node "$api/server.js" "$port") >"$d/node.out" 2>&1 &
pids+=($!)

cat >/etc/nginx/nginx.conf <<CONF
worker_processes 2;
error_log /var/log/nginx/error.log;
pid /run/nginx.pid;
events { worker_connections 64; }
http {
  access_log /var/log/nginx/access.log;
  client_body_temp_path $d/nginx/tmp;
  proxy_temp_path $d/nginx/tmp;
  fastcgi_temp_path $d/nginx/tmp;
  uwsgi_temp_path $d/nginx/tmp;
  scgi_temp_path $d/nginx/tmp;
  upstream shop { server 127.0.0.1:$gport; }
  server {
    listen 127.0.0.1:$nport;
    root $shop/static;
    location / { proxy_pass http://shop; }
    location /api/ { proxy_pass http://127.0.0.1:$port/; }
  }
}
CONF
sh -c 'echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh "$cgroot/system.slice/$web_unit" \
    /usr/sbin/nginx -p "$d/nginx" -c /etc/nginx/nginx.conf -g 'daemon off;' >"$d/nginx.out" 2>&1 &
pids+=($!)

wait_for curl -sf "http://127.0.0.1:$gport/"
wait_for curl -sf "http://127.0.0.1:$port/"
wait_for curl -sf "http://127.0.0.1:$nport/api/"
# Some traffic, with the fault: a 500 whose traceback lands in gunicorn's log.
for _ in 1 2 3; do
    curl -s -o /dev/null "http://127.0.0.1:$nport/"
    curl -s -o /dev/null "http://127.0.0.1:$nport/cart"
done
wait_for grep -q NameError /var/log/shop/error.log
wait_for sh -c "journalctl -u '$api_unit' -o cat --no-pager | grep -q warm-up"

# What sitedoctor detects from: the nginx configuration above; only nginx installed (the
# machine's apache2 and php-fpm binaries are not part of this host).
sysroot=$d/sysroot
mkdir -p "$sysroot/usr/sbin"
ln -s /usr/sbin/nginx "$sysroot/usr/sbin/nginx"
for p in etc var srv run; do ln -s "/$p" "$sysroot/$p"; done
export SITEDOCTOR_SYSROOT=$sysroot

cd "$d/empty"   # no ./sitedoctor.toml: the built-in checklist
echo "  each check's time in one run (--format json):"
"$bin" --color never --format json | python3 -c '
import json, sys
r = json.load(sys.stdin)
for c in sorted(r["checks"], key=lambda c: -c.get("duration_ms", 0)):
    cid, ms, st, summary = c["id"], c.get("duration_ms", 0), c["status"], c.get("summary", "")
    print(f"    {cid:<24} {ms:>6} ms  {st:<5} {summary[:100]}")
' || true

echo "  by hand: df, free, uptime, ps, nginx -t, ss -ltnp, curl of each upstream, journalctl of"
echo "  the units, tail of the error logs, a look at the lockfiles, node_modules and site-packages"
manual="df -h >/dev/null; df -i >/dev/null; free -m >/dev/null; uptime >/dev/null; cat /proc/sys/fs/file-nr >/dev/null; ps aux --sort=-rss | head -4 >/dev/null"
manual="$manual; nginx -t 2>/dev/null; ss -ltnp >/dev/null"
manual="$manual; curl -s -o /dev/null http://127.0.0.1:$gport/; curl -s -o /dev/null http://127.0.0.1:$port/"
manual="$manual; journalctl -u $api_unit -u $shop_unit --since -1h -p err --no-pager >/dev/null"
manual="$manual; tail -n 50 /var/log/nginx/error.log /var/log/shop/error.log >/dev/null"
manual="$manual; cat $shop/.env $shop/requirements.txt $api/package-lock.json >/dev/null; ls $api/node_modules $site >/dev/null"
python3 "$here/timing.py" "$runs" "sitedoctor (built-in checklist)" "$bin --color never" \
    "the same by hand" "$manual" 150
