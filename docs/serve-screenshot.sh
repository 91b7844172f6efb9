#!/usr/bin/env bash
# Make docs/serve.png, the README's picture of the status page: a small site (a loopback
# web server, its PHP error log and web root, in a temporary directory) that is healthy for
# a while, then breaks — index.php loses its read permission and the app fails with a
# fatal error — watched by `sitedoctor serve --interval 1s`, then photographed by a headless
# chromium. Everything it starts is stopped on exit.
#   docs/serve-screenshot.sh [SITEDOCTOR_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/sitedoctor}
bin=$(realpath "$bin")
out=$PWD/docs/serve.png
d=$(mktemp -d /tmp/site.XXXX)
chmod 755 "$d"   # the web server user (www-data) reads the web root
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$d"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir -p "$d/www/assets" "$d/log"
echo '<?php require "app.php";' >"$d/www/index.php"
echo '<?php' >"$d/www/app.php"
echo 'body{}' >"$d/www/assets/site.css"
chmod 644 "$d/www/"*.php "$d/www/assets/site.css"
: >"$d/log/php-error.log"

site=$(free_port)
# The site: 200 until the file `broken` appears; then, like a PHP app whose deploy calls a
# function that no longer exists, it logs a fatal error for each request and answers 500.
python3 - "$site" "$d" <<'EOF' &
import http.server, os, sys, time
port, d = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 200
        if os.path.exists(os.path.join(d, "broken")):
            code = 500
            now = time.strftime("%d-%b-%Y %H:%M:%S UTC", time.gmtime())
            with open(os.path.join(d, "log/php-error.log"), "a") as log:
                log.write(f"[{now}] PHP Fatal error:  Uncaught Error: Call to undefined function "
                          f"mysql_connect() in {d}/www/app.php:14\n")
        self.send_response(code); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
pids+=($!)
until curl -s -o /dev/null "http://127.0.0.1:$site/"; do sleep 0.05; done

cat >"$d/sitedoctor.toml" <<EOF
[[check]]
id = "site"
title = "the home page"
kind = "http"
url = "http://127.0.0.1:$site/"
warn_latency = "500ms"

[[check]]
id = "php-errors"
kind = "log"
paths = ["$d/log/php-error.log"]
window = "1h"

[[check]]
id = "webroot"
kind = "permissions"
path = "$d/www"
readable_by = "www-data"

[[check]]
id = "disk"
kind = "disk"

[[check]]
id = "memory"
kind = "memory"

[[check]]
id = "fds"
kind = "fds"
EOF
port=$(free_port)
(cd "$d" && exec "$bin" serve --listen "127.0.0.1:$port" --interval 1s 2>"$d/serve.log") &
pids+=($!)
sleep 24   # two dozen healthy runs, for the history strips

# The deploy that breaks it.
chmod 600 "$d/www/index.php"
touch "$d/broken"
sleep 14

profile=$(mktemp -d)
/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --window-size=1200,${SHOT_HEIGHT:-1400} \
    --screenshot="$out" "http://127.0.0.1:$port/" 2>/dev/null
rm -rf "$profile"
echo "wrote $out"
