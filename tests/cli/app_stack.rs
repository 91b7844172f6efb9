//! Not only PHP: real app servers (gunicorn with a WSGI app, Node) behind a real nginx on
//! loopback, with the faults a deploy brings — a route calling a function that does not
//! exist, the app server stopped, a Node app whose dependency was never installed — and
//! the findings sitedoctor makes of them; detection of the rest (Apache, uWSGI, upstream
//! blocks, pm2) from configuration fixtures.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::testenv::{TestEnv, json};

/// A port free a moment ago.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A child the test started, killed (its whole process group) when the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.0.wait();
    }
}

fn start(mut c: Command) -> Running {
    use std::os::unix::process::CommandExt;
    c.process_group(0).stdin(Stdio::null());
    Running(c.spawn().expect("the server starts"))
}

/// Wait until `port` accepts, failing early when the server exits.
fn wait_accepting(port: u16, server: &mut Running, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        assert!(Instant::now() < deadline, "{what} never listened on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The status code of `GET path` through the server on `port`.
fn get(port: u16, path: &str) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: shop\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {answer:?}"))
}

/// The nginx configuration proxying `listen` to `upstream`, its logs under `prefix`.
fn nginx_conf(prefix: &Path, listen: u16, upstream: u16) -> String {
    let p = prefix.display();
    format!(
        "worker_processes 1;\nerror_log {p}/error.log;\npid {p}/nginx.pid;\nevents {{ worker_connections 64; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {p}/tmp;\n  proxy_temp_path {p}/tmp;\n  fastcgi_temp_path {p}/tmp;\n  uwsgi_temp_path {p}/tmp;\n  scgi_temp_path {p}/tmp;\n  server {{\n    listen 127.0.0.1:{listen};\n    location / {{ proxy_pass http://127.0.0.1:{upstream}; }}\n  }}\n}}\n"
    )
}

/// A real nginx proxying to `upstream`, and a sysroot whose nginx configuration is the same
/// (what sitedoctor reads with SITEDOCTOR_SYSROOT).
struct Nginx {
    port: u16,
    error_log: PathBuf,
    sysroot: PathBuf,
    _server: Running,
}

fn nginx(env: &TestEnv, upstream: u16) -> Nginx {
    let prefix = env.path().join("nginx");
    std::fs::create_dir_all(prefix.join("tmp")).unwrap();
    let port = free_port();
    let conf = nginx_conf(&prefix, port, upstream);
    std::fs::write(prefix.join("nginx.conf"), &conf).unwrap();
    let sysroot = env.path().join("sysroot");
    env.file("sysroot/usr/sbin/nginx", "");
    env.file("sysroot/etc/nginx/nginx.conf", &conf);
    let mut c = Command::new("/usr/sbin/nginx");
    c.arg("-p")
        .arg(&prefix)
        .arg("-e")
        .arg(prefix.join("error.log"))
        .arg("-c")
        .arg(prefix.join("nginx.conf"))
        .args(["-g", "daemon off;"]);
    let mut server = start(c);
    wait_accepting(port, &mut server, "nginx");
    Nginx {
        port,
        error_log: prefix.join("error.log"),
        sysroot,
        _server: server,
    }
}

const WSGI_APP: &str = "def application(environ, start_response):\n    if environ['PATH_INFO'] == '/cart':\n        return render_cart(environ)\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'ok\\n']\n";

/// gunicorn serving the WSGI app above on a port of its own, its errors in `error.log`.
fn gunicorn(env: &TestEnv) -> (Running, u16, PathBuf) {
    let app = env.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("shop.py"), WSGI_APP).unwrap();
    let port = free_port();
    let log = app.join("error.log");
    let mut c = Command::new("/usr/bin/python3");
    c.arg("/usr/bin/gunicorn")
        .arg("--chdir")
        .arg(&app)
        .args(["--bind", &format!("127.0.0.1:{port}"), "--workers", "1"])
        .arg("--error-logfile")
        .arg(&log)
        .arg("shop:application")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut server = start(c);
    wait_accepting(port, &mut server, "gunicorn");
    (server, port, log)
}

fn check<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {report:#}"))
}

#[test]
fn a_flask_style_500_is_traced_to_the_apps_file_and_line() {
    let env = TestEnv::new();
    let (_gunicorn, gport, log) = gunicorn(&env);
    let nginx = nginx(&env, gport);
    assert_eq!(get(nginx.port, "/"), 200);
    assert_eq!(get(nginx.port, "/cart"), 500);
    let env = env
        .env("SITEDOCTOR_SYSROOT", &nginx.sysroot.display().to_string())
        .config(&format!(
            "[[check]]\nid = \"app-errors\"\nkind = \"log\"\npaths = [\"{}\"]\nwindow = \"1h\"\n\n[[check]]\nid = \"upstreams\"\nkind = \"upstreams\"\n",
            log.display()
        ));
    // gunicorn writes the traceback after it has answered: wait for it, not for a time.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log).is_ok_and(|t| t.contains("NameError")) {
        assert!(
            Instant::now() < deadline,
            "no traceback in {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = env.run(&["--format", "json"]);
    let v = json(&out);
    let errors = check(&v, "app-errors");
    assert_eq!(errors["status"], "fail", "{errors:#}");
    assert!(
        errors["summary"]
            .as_str()
            .unwrap()
            .contains("NameError: name 'render_cart' is not defined"),
        "{errors:#}"
    );
    let app_file = env.path().join("app/shop.py").display().to_string();
    let first = &v["diagnosis"][0];
    assert_eq!(first["subject"]["path"], app_file.as_str(), "{first:#}");
    assert_eq!(first["subject"]["line"], 3, "{first:#}");
    // The upstream is up, and sitedoctor says which app server serves it and where its
    // errors go.
    let ups = check(&v, "upstreams");
    assert_eq!(ups["status"], "pass", "{ups:#}");
    let detail = ups["details"][0].as_str().unwrap();
    assert!(
        detail.starts_with(&format!(
            "127.0.0.1:{gport} (nginx proxy_pass) accepts: gunicorn (pid "
        )) && detail.ends_with(&format!("errors in {}", log.display())),
        "{detail}"
    );
    // init writes the checks this gives.
    env.run(&["init", "--force"]).expect_code(0);
    let written = std::fs::read_to_string(env.path().join("sitedoctor.toml")).unwrap();
    let id = format!("upstream-127-0-0-1-{gport}");
    for needle in [
        format!("id = \"{id}\"\nkind = \"tcp\"\naddress = \"127.0.0.1:{gport}\""),
        format!(
            "id = \"{id}-errors\"\nkind = \"log\"\npaths = [\"{}\"]",
            log.display()
        ),
        "id = \"upstreams\"\nkind = \"upstreams\"".to_string(),
    ] {
        assert!(written.contains(&needle), "{needle}\nnot in\n{written}");
    }
    // …and they pass on this healthy upstream (the log check aside, which has the 500).
    let out = env.run(&["--format", "json", "--config", "sitedoctor.toml"]);
    let v = json(&out);
    assert_eq!(check(&v, &id)["status"], "pass");
    assert_eq!(check(&v, "upstreams")["status"], "pass");
    // The built-in checklist's error-logs check reads the app servers' own logs as well: the
    // traceback is found without naming gunicorn's log anywhere.
    let builtin = sitedoctor::config::source::BUILTIN;
    let start = builtin.find("id = \"error-logs\"").unwrap();
    let block = format!(
        "[[check]]\n{}",
        &builtin[start..].split("\n\n").next().unwrap()
    );
    assert!(block.contains("\"app-servers\""), "{block}");
    let f = env.file("error-logs.toml", &block);
    let out = env.run(&["--format", "json", "--config", &f.display().to_string()]);
    let v = json(&out);
    let errors = check(&v, "error-logs");
    assert!(
        errors["summary"]
            .as_str()
            .unwrap()
            .contains("NameError: name 'render_cart' is not defined"),
        "{errors:#}"
    );
}

#[test]
fn a_stopped_gunicorn_is_linked_to_nginx_connection_refused() {
    let env = TestEnv::new();
    let (gunicorn, gport, _) = gunicorn(&env);
    let nginx = nginx(&env, gport);
    assert_eq!(get(nginx.port, "/"), 200);
    drop(gunicorn);
    assert_eq!(get(nginx.port, "/"), 502);
    let env = env
        .env("SITEDOCTOR_SYSROOT", &nginx.sysroot.display().to_string())
        .config(&format!(
            "[[check]]\nid = \"nginx-errors\"\nkind = \"log\"\npaths = [\"{}\"]\nwindow = \"1h\"\n\n[[check]]\nid = \"upstreams\"\nkind = \"upstreams\"\n",
            nginx.error_log.display()
        ));
    let address = format!("127.0.0.1:{gport}");
    let v = json(&env.run(&["--format", "json"]));
    let ups = check(&v, "upstreams");
    assert_eq!(ups["status"], "fail", "{ups:#}");
    assert_eq!(
        ups["findings"][0]["subject"],
        serde_json::json!({"type": "address", "address": address})
    );
    assert_eq!(
        ups["summary"],
        format!("1 of 1 upstream(s) down: nothing listens on {address} (nginx proxy_pass)")
    );
    let first = &v["diagnosis"][0];
    assert_eq!(first["rule"], "unreachable-peer", "{first:#}");
    assert_eq!(first["evidence"][0]["check"], "nginx-errors");
    assert_eq!(first["evidence"][1]["check"], "upstreams");
}

#[test]
fn a_node_app_missing_a_module_names_the_unit_configured_for_its_port() {
    let env = TestEnv::new();
    let port = free_port();
    let app = env.file(
        "node-app/server.js",
        "const express = require('express-not-installed');\nrequire('http').createServer((q, r) => r.end('ok')).listen(process.env.PORT);\n",
    );
    let out = Command::new("/usr/bin/node")
        .arg(&app)
        .env("PORT", port.to_string())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Cannot find module"));
    let nginx = nginx(&env, port);
    assert_eq!(get(nginx.port, "/"), 502);
    env.file(
        "sysroot/etc/systemd/system/shop-api.service",
        &format!(
            "[Unit]\nDescription=Shop API\n\n[Service]\nEnvironment=NODE_ENV=production PORT={port}\nWorkingDirectory={}\nExecStart=/usr/bin/node {}\nRestart=on-failure\n",
            app.parent().unwrap().display(),
            app.display()
        ),
    );
    let env = env
        .env("SITEDOCTOR_SYSROOT", &nginx.sysroot.display().to_string())
        .config("[[check]]\nid = \"upstreams\"\nkind = \"upstreams\"\n");
    let v = json(&env.run(&["--format", "json"]));
    let ups = check(&v, "upstreams");
    let f = &ups["findings"][0];
    assert_eq!(
        f["text"],
        format!(
            "nothing listens on 127.0.0.1:{port} (nginx proxy_pass); node (shop-api.service) is configured for it"
        )
    );
    assert_eq!(
        f["fix"]["text"],
        "systemctl start shop-api; why it stopped: journalctl -u shop-api"
    );
}

#[test]
fn upstreams_of_apache_uwsgi_upstream_blocks_and_pm2_from_their_configs() {
    let env = TestEnv::new();
    let (dead1, dead2, dead3) = (free_port(), free_port(), free_port());
    let live = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let live_port = live.local_addr().unwrap().port();
    let sock = env.path().join("uwsgi.sock");
    env.file("sysroot/usr/sbin/nginx", "");
    env.file(
        "sysroot/etc/nginx/nginx.conf",
        "http {\n include /etc/nginx/conf.d/*.conf;\n}\n",
    );
    env.file(
        "sysroot/etc/nginx/conf.d/shop.conf",
        &format!(
            "upstream api {{\n  server 127.0.0.1:{live_port} weight=2;\n  server 127.0.0.1:{dead1};\n}}\nserver {{\n  location /api/ {{ proxy_pass http://api; }}\n  location /legacy/ {{ include uwsgi_params; uwsgi_pass unix:{}; }}\n}}\n",
            sock.display()
        ),
    );
    env.file("sysroot/usr/sbin/apache2", "");
    env.file(
        "sysroot/etc/apache2/apache2.conf",
        "IncludeOptional sites-enabled/*.conf\n",
    );
    env.file(
        "sysroot/etc/apache2/sites-enabled/app.conf",
        &format!(
            "<VirtualHost *:80>\n  ProxyPass /static !\n  ProxyPass / http://127.0.0.1:{dead2}/ retry=0\n  <Proxy balancer://nodes>\n    BalancerMember http://127.0.0.1:{dead3}\n  </Proxy>\n</VirtualHost>\n"
        ),
    );
    env.file(
        "sysroot/etc/systemd/system/api.service",
        "[Service]\nUser=deploy\nWorkingDirectory=/srv/api\nExecStart=/usr/bin/pm2-runtime start ecosystem.config.js\n",
    );
    env.file(
        "sysroot/srv/api/ecosystem.config.js",
        &format!(
            "module.exports = {{\n  apps: [{{\n    name: 'api',\n    script: 'server.js',\n    error_file: '/var/log/api/error.log',\n    env: {{\n      PORT: {dead3},\n    }},\n  }}],\n}};\n"
        ),
    );
    let sysroot = env.path().join("sysroot").display().to_string();
    let env = env
        .env("SITEDOCTOR_SYSROOT", &sysroot)
        .config("[[check]]\nid = \"upstreams\"\nkind = \"upstreams\"\n");
    let v = json(&env.run(&["--format", "json"]));
    let ups = check(&v, "upstreams");
    assert_eq!(ups["status"], "fail", "{ups:#}");
    let texts: Vec<&str> = ups["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    let s = sock.display();
    assert_eq!(
        texts,
        [
            format!("nothing listens on 127.0.0.1:{dead1} (nginx server (upstream api))"),
            format!("nothing listens on unix:{s} (nginx uwsgi_pass)"),
            format!("nothing listens on 127.0.0.1:{dead2} (apache ProxyPass)"),
            format!(
                "nothing listens on 127.0.0.1:{dead3} (apache BalancerMember); pm2 (api.service) is configured for it (its /srv/api/ecosystem.config.js names it)"
            ),
        ]
    );
    assert_eq!(
        ups["findings"][3]["fix"]["text"],
        "systemctl start api; why it stopped: /var/log/api/error.log"
    );
    assert!(
        ups["details"][0].as_str().unwrap().starts_with(&format!(
            "127.0.0.1:{live_port} (nginx server (upstream api)) accepts"
        )),
        "{ups:#}"
    );
    drop(live);
}

#[test]
fn no_web_server_no_upstreams_check() {
    let sys = tempfile::tempdir().unwrap();
    let env = TestEnv::new()
        .env("SITEDOCTOR_SYSROOT", &sys.path().display().to_string())
        .config("[[check]]\nid = \"upstreams\"\nkind = \"upstreams\"\n");
    let v = json(&env.run(&["--format", "json"]));
    assert_eq!(check(&v, "upstreams")["status"], "skip");
    assert_eq!(
        check(&v, "upstreams")["summary"],
        "no nginx or apache installed here"
    );
}
