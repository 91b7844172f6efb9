//! The app stack behind the web server: an nginx upstream error names what serves that
//! upstream on this host now — the process listening there, or the systemd unit configured
//! for it when nothing does —, a PHP memory error names the file and line that set the limit
//! it hit, and `workers` names the address an app-server worker waits on.

use chrono::Utc;

use crate::testenv::{TestEnv, json};

fn nginx_now() -> String {
    Utc::now().format("%Y/%m/%d %H:%M:%S").to_string()
}

/// The fix of the only check, a `log` check of `log`.
fn log_fix(env: TestEnv, log: &std::path::Path) -> (String, serde_json::Value) {
    let env = env.config(&format!(
        "[[check]]\nid = \"nginx-errors\"\nkind = \"log\"\npaths = [\"{}\"]\n",
        log.display()
    ));
    let out = env.run(&["--format", "json"]);
    let v = json(&out);
    let check = v["checks"][0].clone();
    let fix = check["fix"]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no fix: {check:#}"))
        .to_string();
    (fix, check)
}

#[test]
fn a_slow_upstream_names_the_process_listening_on_it() {
    // This test process listens; it is the one the fix must name.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let env = TestEnv::new();
    let log = env.file(
        "error.log",
        &format!(
            "{} [error] 12#12: *41 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, server: _, request: \"POST /checkout HTTP/1.1\", upstream: \"http://127.0.0.1:{port}/pay\", host: \"shop\"\n",
            nginx_now()
        ),
    );
    let (fix, check) = log_fix(env, &log);
    let pid = format!("(pid {}", std::process::id());
    assert!(
        fix.starts_with(&format!("127.0.0.1:{port} is served by ")) && fix.contains(&pid),
        "{fix}"
    );
    assert!(
        fix.contains("did not answer within the proxy's timeout (POST /checkout)"),
        "{fix}"
    );
    assert!(!fix.to_lowercase().contains("php"), "{fix}");
    assert_eq!(
        check["findings"][0]["subject"],
        serde_json::json!({"type": "address", "address": format!("127.0.0.1:{port}")})
    );
    drop(listener);
}

#[test]
fn a_refused_port_names_the_unit_configured_for_it() {
    // A port that was free a moment ago: nothing listens on it now.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let env = TestEnv::new();
    let root = env.path().join("sysroot");
    let units = root.join("etc/systemd/system");
    std::fs::create_dir_all(&units).unwrap();
    std::fs::write(
        units.join("shop-api.service"),
        format!(
            "[Unit]\nDescription=Shop API\n\n[Service]\nUser=www-data\nExecStart=/srv/shop/venv/bin/gunicorn --workers 3 --bind 127.0.0.1:{port} shop.wsgi\n\n[Install]\nWantedBy=multi-user.target\n"
        ),
    )
    .unwrap();
    std::fs::write(
        units.join("other.service"),
        "[Service]\nExecStart=/usr/bin/node /srv/other/server.js --port 1\n",
    )
    .unwrap();
    let log = env.file(
        "error.log",
        &format!(
            "{} [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: _, request: \"GET /api HTTP/1.1\", upstream: \"http://127.0.0.1:{port}/api\", host: \"x\"\n",
            nginx_now()
        ),
    );
    let env = env.env("SITEDOCTOR_SYSROOT", &root.display().to_string());
    let (fix, check) = log_fix(env, &log);
    assert_eq!(
        fix,
        format!(
            "nothing listens on 127.0.0.1:{port}; shop-api.service is configured for it: systemctl start shop-api"
        )
    );
    assert_eq!(check["findings"][0]["cause"], "dependency");
}

#[test]
fn memory_exhausted_names_where_the_limit_is_set() {
    let env = TestEnv::new();
    let root = env.path().join("sysroot");
    let fpm = root.join("etc/php/8.2/fpm");
    std::fs::create_dir_all(fpm.join("pool.d")).unwrap();
    std::fs::write(
        fpm.join("php.ini"),
        "[PHP]\nengine = On\n; memory_limit = 512M\nmemory_limit = 128M\n",
    )
    .unwrap();
    std::fs::write(
        fpm.join("pool.d/www.conf"),
        "[www]\nuser = www-data\nlisten = /run/php/php8.2-fpm.sock\n",
    )
    .unwrap();
    let log = env.file(
        "php.log",
        &format!(
            "[{}] PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes) in /srv/app/report.php on line 5\n",
            Utc::now().format("%d-%b-%Y %H:%M:%S UTC")
        ),
    );
    let env = env.env("SITEDOCTOR_SYSROOT", &root.display().to_string());
    let (fix, _) = log_fix(env, &log);
    assert_eq!(
        fix,
        format!(
            "memory_limit is 128M, set in {} line 4: raise it there and reload php8.2-fpm (systemctl reload php8.2-fpm), or make /srv/app/report.php:5 use less",
            fpm.join("php.ini").display()
        )
    );
}

#[test]
fn a_worker_waiting_on_a_hung_api_is_named_with_that_address() {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    // An API that accepts, reads the request and never answers.
    let api = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = api.local_addr().unwrap().port();
    let (got_request, request_arrived) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut conn, _) = api.accept().unwrap();
        let mut buf = [0u8; 4];
        conn.read_exact(&mut buf).unwrap();
        got_request.send(()).unwrap();
        // Hold the connection open, unanswered, until the worker goes away.
        while conn.read(&mut buf).is_ok_and(|n| n > 0) {}
    });
    // A "gunicorn" worker (python, named as gunicorn names its processes) calling that API.
    let mut worker = std::process::Command::new("/usr/bin/python3")
        .arg0("gunicorn")
        .args([
            "-c",
            &format!(
                "import socket; s = socket.create_connection(('127.0.0.1', {port})); s.sendall(b'GET /pay HTTP/1.0\\r\\n\\r\\n'); s.recv(1)"
            ),
        ])
        .spawn()
        .unwrap();
    request_arrived
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the worker sent its request");
    let env = TestEnv::new()
        .config("[[check]]\nid = \"workers\"\nkind = \"workers\"\nwarn = \"1ms\"\nfail = \"1h\"\n");
    let address = format!("127.0.0.1:{port}");
    let mut found = None;
    // The kernel counts the wait in clock ticks: the first look may come within the tick
    // the request was sent in.
    for _ in 0..50 {
        let v = json(&env.run(&["--format", "json"]));
        let check = &v["checks"][0];
        if let Some(f) = check["findings"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["subject"]["address"] == address))
        {
            found = Some((check.clone(), f.clone()));
            break;
        }
    }
    let _ = worker.kill();
    let _ = worker.wait();
    let (check, f) = found.expect("the waiting worker is reported");
    assert_eq!(check["status"], "warn", "{check:#}");
    assert_eq!(f["cause"], "timeout");
    let text = f["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("gunicorn (pid {}) has waited ", worker.id()))
            && text.ends_with(&format!(" on {address}")),
        "{text}"
    );
    assert!(
        f["fix"]["text"]
            .as_str()
            .unwrap()
            .starts_with(&format!("the service at {address} is slow or hung")),
        "{f:#}"
    );
}
