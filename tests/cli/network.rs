//! http, tcp and dns against servers the tests start on 127.0.0.1 — and secrets never shown.

use std::time::Duration;

use crate::servers::{self, Reply};
use crate::testenv::{Output, TestEnv, json};

fn http_check(id: &str, url: &str, extra: &str) -> String {
    format!("[[check]]\nid = \"{id}\"\nkind = \"http\"\nurl = \"{url}\"\n{extra}\n")
}

/// Run one check, returning its JSON result and the whole output.
fn one(toml: &str) -> (serde_json::Value, Output) {
    let out = TestEnv::new().config(toml).run(&["--format", "json"]);
    let v = json(&out);
    (v["checks"][0].clone(), out)
}

#[test]
fn ok_200() {
    let port = servers::http(1, |_, _| Reply::new(200, "fine"));
    let (c, out) = one(&http_check(
        "site",
        &format!("http://127.0.0.1:{port}/health"),
        "body_contains = \"fine\"",
    ));
    out.expect_code(0);
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .starts_with("HTTP 200 OK in "),
        "{c}"
    );
    assert!(c["metrics"].to_string().contains("latency_ms"));
}

#[test]
fn error_500_shows_status_and_first_line() {
    let port = servers::http(1, |_, _| {
        Reply::new(
            500,
            "\nPHP Fatal error:  Uncaught Error: Call to undefined function foo() in /var/www/index.php:12\nStack trace:",
        )
    });
    let (c, out) = one(&http_check(
        "site",
        &format!("http://127.0.0.1:{port}/"),
        "",
    ));
    out.expect_code(2);
    assert_eq!(
        c["summary"],
        "HTTP 500 Internal Server Error (expected 2xx or 3xx): PHP Fatal error: Uncaught Error: Call to undefined function foo() in /var/www/index.php:12"
    );
    assert!(
        c["fix"]["text"].as_str().unwrap().contains("error-log"),
        "{c}"
    );
}

#[test]
fn expected_status_list_and_body_checks() {
    let port = servers::http(2, |_, _| {
        Reply::new(301, "moved").header("Location", "/elsewhere")
    });
    let (c, out) = one(&http_check(
        "r",
        &format!("http://127.0.0.1:{port}/"),
        "follow_redirects = false\nexpect_status = [301]",
    ));
    out.expect_code(0);
    assert!(
        c["summary"].as_str().unwrap().starts_with("HTTP 301"),
        "{c}"
    );
    let port = servers::http(1, |_, _| Reply::new(200, "maintenance"));
    let (c, _) = one(&http_check(
        "b",
        &format!("http://127.0.0.1:{port}/"),
        "body_regex = \"^ok$\"",
    ));
    assert_eq!(c["status"], "fail");
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .contains("does not match /^ok$/"),
        "{c}"
    );
}

#[test]
fn slow_is_a_latency_warning() {
    let port = servers::http(1, |_, _| {
        Reply::new(200, "ok").delay(Duration::from_millis(300))
    });
    let (c, out) = one(&http_check(
        "slow",
        &format!("http://127.0.0.1:{port}/"),
        "warn_latency = \"100ms\"\nfail_latency = \"5s\"",
    ));
    out.expect_code(1);
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .starts_with("slow: HTTP 200 OK took"),
        "{c}"
    );
}

#[test]
fn accepts_and_never_answers_is_a_timeout_in_the_waiting_phase() {
    let port = servers::silent(1);
    let (c, out) = one(&http_check(
        "hung",
        &format!("http://127.0.0.1:{port}/"),
        "timeout = \"1s\"",
    ));
    out.expect_code(2);
    assert!(out.elapsed < Duration::from_secs(4), "{:?}", out.elapsed);
    assert_eq!(
        c["summary"],
        "timed out after 1 s waiting for the response (connected, but no answer)"
    );
}

#[test]
fn nothing_listening_is_refused() {
    let port = servers::refused();
    let (c, out) = one(&http_check(
        "down",
        &format!("http://127.0.0.1:{port}/"),
        "",
    ));
    out.expect_code(2);
    assert_eq!(
        c["summary"],
        format!("connection to 127.0.0.1:{port} refused (nothing listens there)")
    );
    let (c, _) = one(&format!(
        "[[check]]\nid = \"db\"\nkind = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n"
    ));
    assert_eq!(c["status"], "fail");
    assert!(c["summary"].as_str().unwrap().contains("refused"), "{c}");
}

#[test]
fn redirect_loop_is_said_so() {
    let port = servers::http(20, |_, _| Reply::new(302, "").header("Location", "/again"));
    let (c, _) = one(&http_check(
        "loop",
        &format!("http://127.0.0.1:{port}/"),
        "",
    ));
    assert_eq!(c["status"], "fail");
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .contains("too many redirects"),
        "{c}"
    );
}

#[test]
fn retries_pass_on_a_later_try_as_warning() {
    let port = servers::http(2, |_, n| {
        if n == 0 {
            Reply::new(503, "busy")
        } else {
            Reply::new(200, "ok")
        }
    });
    let (c, out) = one(&http_check(
        "flaky",
        &format!("http://127.0.0.1:{port}/"),
        "retries = 2\nretry_delay = \"10ms\"",
    ));
    out.expect_code(1);
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .starts_with("passed on try 2 of 3: HTTP 200 OK"),
        "{c}"
    );
    assert!(
        c["details"].to_string().contains("try 1 failed: HTTP 503"),
        "{c}"
    );
}

fn https_check(port: u16, ca: Option<&std::path::Path>) -> String {
    let ca = ca.map_or(String::new(), |p| format!("ca_file = \"{}\"", p.display()));
    http_check("tls", &format!("https://localhost:{port}/"), &ca)
}

#[test]
fn https_with_ca_file_and_a_certificate_close_to_expiry_warns() {
    let pki = servers::pki(-10, 5);
    let port = servers::https(&pki, 1, 200, "ok");
    let env = TestEnv::new();
    let ca = env.file("ca.pem", &pki.ca_pem);
    let out = env
        .config(&https_check(port, Some(&ca)))
        .run(&["--format", "json"]);
    out.expect_code(1);
    let c = &json(&out)["checks"][0];
    let s = c["summary"].as_str().unwrap();
    assert!(
        s.starts_with("HTTP 200 OK in")
            && (s.contains("the certificate expires in 4 day(s)")
                || s.contains("the certificate expires in 5 day(s)")),
        "{c}"
    );
    let days = c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "cert_days_left")
        .unwrap();
    assert!(
        days["value"].as_f64().unwrap() > 4.0 && days["value"].as_f64().unwrap() <= 5.0,
        "{days}"
    );
}

#[test]
fn https_expired_certificate_fails() {
    let pki = servers::pki(-30, -2);
    let port = servers::https(&pki, 2, 200, "ok");
    let env = TestEnv::new();
    let ca = env.file("ca.pem", &pki.ca_pem);
    let out = env
        .config(&https_check(port, Some(&ca)))
        .run(&["--format", "json"]);
    out.expect_code(2);
    let c = &json(&out)["checks"][0];
    let s = c["summary"].as_str().unwrap();
    assert!(
        s.starts_with("TLS failure: the certificate has expired (expired 2 day(s) ago"),
        "{c}"
    );
}

#[test]
fn https_without_the_ca_is_untrusted() {
    let pki = servers::pki(-1, 90);
    let port = servers::https(&pki, 2, 200, "ok");
    let (c, out) = one(&https_check(port, None));
    out.expect_code(2);
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .starts_with("TLS failure: the certificate's issuer is not trusted"),
        "{c}"
    );
    assert!(
        c["details"].to_string().contains("sitedoctor test CA"),
        "the certificate is described: {c}"
    );
}

#[test]
fn tcp_with_tls_reports_certificate_days() {
    let pki = servers::pki(-1, 60);
    let port = servers::https(&pki, 1, 200, "ok");
    let env = TestEnv::new();
    let ca = env.file("ca.pem", &pki.ca_pem);
    let cfg = format!(
        "[[check]]\nid = \"smtps\"\nkind = \"tcp\"\naddress = \"localhost:{port}\"\ntls = true\nca_file = \"{}\"\n",
        ca.display()
    );
    let out = env.config(&cfg).run(&["--format", "json"]);
    out.expect_code(0);
    let c = &json(&out)["checks"][0];
    let s = c["summary"].as_str().unwrap();
    assert!(
        s.contains("certificate expires in 59 day(s)")
            || s.contains("certificate expires in 60 day(s)"),
        "{c}"
    );
    let port = servers::http(1, |_, _| Reply::new(200, ""));
    let (c, out) = one(&format!(
        "[[check]]\nid = \"plain\"\nkind = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n"
    ));
    out.expect_code(0);
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .starts_with(&format!("connected to 127.0.0.1:{port} in")),
        "{c}"
    );
}

#[test]
fn dns_localhost_and_an_invalid_name() {
    let (c, out) = one(
        "[[check]]\nid = \"lh\"\nkind = \"dns\"\nname = \"localhost\"\nexpect = [\"127.0.0.1\"]\n",
    );
    out.expect_code(0);
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .starts_with("localhost resolves to"),
        "{c}"
    );
    let (c, out) = one(
        "[[check]]\nid = \"bad\"\nkind = \"dns\"\nname = \"no-such-host.invalid\"\ntimeout = \"3s\"\n",
    );
    out.expect_code(2);
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .starts_with("no-such-host.invalid could not be resolved")
            || c["summary"]
                .as_str()
                .unwrap()
                .starts_with("resolving no-such-host.invalid timed out"),
        "{c}"
    );
    let (c, _) = one(
        "[[check]]\nid = \"lh\"\nkind = \"dns\"\nname = \"localhost\"\nexpect = [\"10.9.9.9\"]\n",
    );
    assert_eq!(c["status"], "fail");
    assert!(
        c["summary"].as_str().unwrap().contains("not to 10.9.9.9"),
        "{c}"
    );
}

#[test]
fn twenty_hung_dependencies_take_one_timeout() {
    let port = servers::silent(20);
    let toml: String = (0..20)
        .map(|i| {
            http_check(
                &format!("dep{i}"),
                &format!("http://127.0.0.1:{port}/{i}"),
                "timeout = \"2s\"",
            )
        })
        .collect();
    let out = TestEnv::new().config(&toml).run(&["--format", "json"]);
    out.expect_code(2);
    assert!(
        out.elapsed < Duration::from_millis(3500),
        "20 x 2s took {:?}",
        out.elapsed
    );
    assert_eq!(json(&out)["summary"]["fail"], 20);
}

const SECRETS: [&str; 4] = ["hunter2", "tok3n-value", "Bearer-s3cret", "c00kie"];

fn assert_clean(text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "secret {s:?} leaked:\n{text}");
    }
}

#[test]
fn secrets_never_appear_in_any_output() {
    let port = servers::http(10, |_, _| Reply::new(500, "oops"));
    let refused = servers::refused();
    let hdr = "headers = { Authorization = \"Bearer-s3cret\", Cookie = \"session=c00kie\" }";
    let toml = [
        http_check(
            "a",
            &format!("http://admin:hunter2@127.0.0.1:{port}/x?token=tok3n-value&page=2"),
            hdr,
        ),
        http_check(
            "b",
            &format!("http://admin:hunter2@127.0.0.1:{refused}/?api_key=tok3n-value"),
            hdr,
        ),
        http_check(
            "c",
            "http://admin:hunter2@no-such-host.invalid/?password=tok3n-value",
            "timeout = \"2s\"",
        ),
    ]
    .concat();
    let env = TestEnv::new().config(&toml);
    for format in sitedoctor::render::names() {
        let out = env.run(&["--format", format]);
        out.expect_code(2);
        assert_clean(&out.stdout);
        assert_clean(&out.stderr);
    }
    let out = env.run(&[]);
    assert!(
        out.stdout.contains(&format!(
            "http://***:***@127.0.0.1:{port}/x?token=***&page=2"
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn network_config_errors() {
    for (toml, needle) in [
        (
            "[[check]]\nid = \"x\"\nkind = \"http\"\nurl = \"ftp://x/\"\n",
            "sitedoctor.toml:4:7: the URL must start with http",
        ),
        (
            "[[check]]\nid = \"x\"\nkind = \"http\"\nurl = \"not a url\"\n",
            "sitedoctor.toml:4:7: invalid URL",
        ),
        (
            "[[check]]\nid = \"x\"\nkind = \"tcp\"\naddress = \"db\"\n",
            "sitedoctor.toml:4:11: address must be \"host:port\"",
        ),
        (
            "[[check]]\nid = \"x\"\nkind = \"http\"\nurl = \"http://a/\"\nwarn_latency = \"2s\"\nfail_latency = \"1s\"\n",
            "sitedoctor.toml:5:16: warn_latency is looser",
        ),
        (
            "[[check]]\nid = \"x\"\nkind = \"http\"\nurl = \"http://a/\"\nexpect_status = [700]\n",
            "sitedoctor.toml:5:18: an HTTP status",
        ),
        (
            "[[check]]\nid = \"x\"\nkind = \"dns\"\nname = \"a\"\nexpect = [\"nope\"]\n",
            "sitedoctor.toml:5:11: \"nope\" is not an IP address",
        ),
    ] {
        let out = TestEnv::new().config(toml).run(&[]);
        out.expect_code(78);
        assert!(
            out.stderr.contains(needle),
            "{needle:?} not in {}",
            out.stderr
        );
    }
}

#[test]
fn only_if_listening_skips_when_nothing_listens() {
    let port = servers::http(1, |_, _| {
        Reply::new(500, "<html><title>Database connection failed</title>")
    });
    let (c, out) = one(&http_check(
        "local",
        &format!("http://127.0.0.1:{port}/"),
        "only_if_listening = true",
    ));
    out.expect_code(2);
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .ends_with(": Database connection failed"),
        "{c}"
    );
    let port = servers::refused();
    let (c, out) = one(&http_check(
        "local",
        &format!("http://127.0.0.1:{port}/"),
        "only_if_listening = true",
    ));
    out.expect_code(0);
    assert_eq!(c["status"], "skip");
    assert_eq!(
        c["summary"],
        format!("nothing listens on 127.0.0.1:{port} here")
    );
}

/// Run several checks at once; their results by id.
fn by_id(toml: &str) -> std::collections::HashMap<String, serde_json::Value> {
    let out = TestEnv::new().config(toml).run(&["--format", "json"]);
    let v = json(&out);
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap().to_string(), c.clone()))
        .collect()
}

fn listening_check(id: &str, host: &str, port: u16) -> String {
    http_check(
        id,
        &format!("http://{host}:{port}/"),
        "only_if_listening = true",
    )
}

#[test]
fn only_if_listening_looks_at_the_address_the_url_names() {
    // Linux routes all of 127/8 to lo: a server on 127.0.0.2 has the port, not the address.
    let l = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let port = servers::http_on(l, 1, |_, _| Reply::new(200, "on .2"));
    let here = servers::http(1, |_, _| Reply::new(200, "on .1"));
    let toml = [
        listening_check("v4-other", "127.0.0.1", port),
        listening_check("localhost-other", "localhost", port),
        listening_check("named", "127.0.0.2", port),
        listening_check("localhost-here", "localhost", here),
    ]
    .concat();
    let c = by_id(&toml);
    assert_eq!(c["v4-other"]["status"], "skip", "{}", c["v4-other"]);
    assert_eq!(
        c["v4-other"]["summary"],
        format!("nothing listens on 127.0.0.1:{port} here")
    );
    assert_eq!(
        c["localhost-other"]["summary"],
        format!("nothing listens on 127.0.0.1:{port} or [::1]:{port} here")
    );
    assert_eq!(c["named"]["status"], "pass", "{}", c["named"]);
    assert_eq!(
        c["localhost-here"]["status"], "pass",
        "{}",
        c["localhost-here"]
    );
}

#[test]
fn only_if_listening_tells_ipv6_from_ipv4() {
    let Ok(l) = std::net::TcpListener::bind("[::1]:0") else {
        eprintln!("no IPv6 on loopback here: the procfs unit tests cover [::1]");
        return;
    };
    let port = servers::http_on(l, 2, |_, _| Reply::new(200, "on ::1"));
    let toml = [
        listening_check("v4", "127.0.0.1", port),
        listening_check("v6", "[::1]", port),
        listening_check("localhost", "localhost", port),
    ]
    .concat();
    let c = by_id(&toml);
    assert_eq!(
        c["v4"]["summary"],
        format!("nothing listens on 127.0.0.1:{port} here")
    );
    assert_eq!(c["v6"]["status"], "pass", "{}", c["v6"]);
    // localhost is [::1] too: it is checked (whether /etc/hosts then maps it there or not).
    assert_ne!(c["localhost"]["status"], "skip", "{}", c["localhost"]);
}
