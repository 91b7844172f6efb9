//! TLS as site owners set it up: the self-signed certificate `openssl req -x509` makes (CA:TRUE)
//! given as `ca_file`, with its dates and names still judged; every refusal in words.

use std::path::Path;
use std::process::Command;

use crate::servers::{self, Pki};
use crate::testenv::{Output, TestEnv, json};

/// Serve `pki` and run one http check on `https://HOST:PORT/`, with `ca_pem` as `ca_file`.
fn https(pki: &Pki, host: &str, ca_pem: Option<&str>) -> (serde_json::Value, Output) {
    let port = servers::https(pki, 2, 200, "ok");
    let env = TestEnv::new();
    let ca = ca_pem.map_or(String::new(), |pem| {
        format!("ca_file = \"{}\"\n", env.file("ca.pem", pem).display())
    });
    let cfg = format!(
        "[[check]]\nid = \"site\"\nkind = \"http\"\nurl = \"https://{host}:{port}/\"\n{ca}"
    );
    let out = env.config(&cfg).run(&["--format", "json"]);
    assert_no_library_text(&out);
    (json(&out)["checks"][0].clone(), out)
}

/// Serve `pki` and run one tcp check with `tls = true` on `ADDRESS:PORT`.
fn tcp(pki: &Pki, host: &str, ca_pem: &str) -> (serde_json::Value, Output) {
    let port = servers::https(pki, 1, 200, "ok");
    let env = TestEnv::new();
    let ca = env.file("ca.pem", ca_pem);
    let cfg = format!(
        "[[check]]\nid = \"smtps\"\nkind = \"tcp\"\naddress = \"{host}:{port}\"\ntls = true\nca_file = \"{}\"\n",
        ca.display()
    );
    let out = env.config(&cfg).run(&["--format", "json"]);
    assert_no_library_text(&out);
    (json(&out)["checks"][0].clone(), out)
}

/// What rustls, webpki and reqwest say in `Debug` never reaches the user.
fn assert_no_library_text(out: &Output) {
    for text in [&out.stdout, &out.stderr] {
        for marker in [
            "Other(",
            "OtherError",
            "CaUsedAsEndEntity",
            "UnknownIssuer",
            "InvalidCertificate",
            "DnsName(",
            "Kind(",
            "reqwest::",
            "error sending request",
        ] {
            assert!(!text.contains(marker), "{marker:?} shown:\n{text}");
        }
    }
}

fn summary(c: &serde_json::Value) -> &str {
    c["summary"].as_str().unwrap()
}

fn fix(c: &serde_json::Value) -> &str {
    c["fix"]["text"].as_str().unwrap_or("")
}

#[test]
fn a_self_signed_ca_certificate_given_as_ca_file_is_trusted() {
    let pki = servers::self_signed(&["localhost", "127.0.0.1"], -1, 90);
    for host in ["localhost", "127.0.0.1"] {
        let (c, out) = https(&pki, host, Some(&pki.ca_pem));
        out.expect_code(0);
        assert!(summary(&c).starts_with("HTTP 200 OK in"), "{c}");
        assert!(
            summary(&c).contains("; certificate expires in 89 day(s)")
                || summary(&c).contains("; certificate expires in 90 day(s)"),
            "{c}"
        );
    }
    let (c, out) = tcp(&pki, "127.0.0.1", &pki.ca_pem);
    out.expect_code(0);
    assert!(
        summary(&c).starts_with("TLS handshake with 127.0.0.1:"),
        "{c}"
    );
}

#[test]
fn a_self_signed_certificate_still_has_its_dates_judged() {
    let soon = servers::self_signed(&["localhost"], -10, 5);
    let (c, out) = https(&soon, "localhost", Some(&soon.ca_pem));
    out.expect_code(1);
    assert!(
        summary(&c).contains("the certificate expires in 4 day(s)")
            || summary(&c).contains("the certificate expires in 5 day(s)"),
        "{c}"
    );
    let expired = servers::self_signed(&["localhost"], -30, -2);
    let (c, out) = https(&expired, "localhost", Some(&expired.ca_pem));
    out.expect_code(2);
    assert!(
        summary(&c).starts_with("TLS failure: the certificate has expired (expired 2 day(s) ago"),
        "{c}"
    );
    assert!(fix(&c).starts_with("renew the certificate"), "{c}");
    let (c, out) = tcp(&expired, "localhost", &expired.ca_pem);
    out.expect_code(2);
    assert!(
        summary(&c).contains(": the certificate has expired; certificate expired 2 day(s) ago"),
        "{c}"
    );
}

#[test]
fn a_self_signed_certificate_must_still_name_the_host() {
    let pki = servers::self_signed(&["example.test"], -1, 90);
    let (c, out) = https(&pki, "localhost", Some(&pki.ca_pem));
    out.expect_code(2);
    assert_eq!(
        summary(&c),
        "TLS failure: the certificate is for example.test, not for localhost"
    );
    assert!(
        fix(&c).starts_with("use a host name the certificate lists"),
        "{c}"
    );
    let (c, out) = tcp(&pki, "127.0.0.1", &pki.ca_pem);
    out.expect_code(2);
    assert!(
        summary(&c).contains(": the certificate is for example.test, not for 127.0.0.1;"),
        "{c}"
    );
}

#[test]
fn a_ca_file_without_the_served_certificate_says_so() {
    // Self-signed, but not the certificate in ca_file: say how to trust it as it is.
    let served = servers::self_signed(&["localhost"], -1, 90);
    let other = servers::self_signed(&["other.test"], -1, 90);
    let (c, out) = https(&served, "localhost", Some(&other.ca_pem));
    out.expect_code(2);
    assert!(
        summary(&c).starts_with("TLS failure: the server presents a CA certificate"),
        "{c}"
    );
    assert!(
        fix(&c).contains("put exactly the certificate the server presents"),
        "{c}"
    );
    // Signed by a CA that ca_file does not hold: the advice is not to set ca_file, it is set.
    let signed = servers::pki(-1, 90);
    let (c, out) = https(&signed, "localhost", Some(&other.ca_pem));
    out.expect_code(2);
    assert!(
        summary(&c).starts_with("TLS failure: the certificate's issuer is not trusted"),
        "{c}"
    );
    assert!(fix(&c).starts_with("`ca_file` holds neither"), "{c}");
    let (c, _) = https(&signed, "localhost", None);
    assert!(fix(&c).starts_with("for a self-signed certificate"), "{c}");
}

/// The case that printed `invalid certificate: Other(OtherError(CaUsedAsEndEntity))`: a CA
/// certificate served as the server's own, when only its issuer is in `ca_file`.
#[test]
fn a_ca_certificate_served_as_a_leaf_is_a_sentence() {
    let pki = servers::signed_by_test_ca(&["localhost"], -1, 90, true);
    let (c, out) = https(&pki, "localhost", Some(&pki.ca_pem));
    out.expect_code(2);
    assert_eq!(
        summary(&c),
        "TLS failure: the server presents a CA certificate (CA:TRUE, as `openssl req -x509` makes) as its own, and that certificate is not trusted as it is"
    );
    assert!(
        fix(&c).contains("put exactly the certificate the server presents"),
        "{c}"
    );
}

#[test]
fn tls_to_a_plain_text_port_is_said_so() {
    // One connection each: the http check's answer comes from the request's own error.
    let greet = "220 mail.example ESMTP ready\r\n";
    let (web, mail) = (servers::banner(1, greet), servers::banner(1, greet));
    let env = TestEnv::new();
    let cfg = format!(
        "[[check]]\nid = \"site\"\nkind = \"http\"\nurl = \"https://127.0.0.1:{web}/\"\n\n[[check]]\nid = \"smtps\"\nkind = \"tcp\"\naddress = \"127.0.0.1:{mail}\"\ntls = true\n"
    );
    let out = env.config(&cfg).run(&["--format", "json"]);
    assert_no_library_text(&out);
    let v = json(&out);
    let (http, tcp) = (&v["checks"][0], &v["checks"][1]);
    assert_eq!(
        summary(http),
        "TLS failure: the server did not speak TLS (is this a plain-text port?)",
        "{http}"
    );
    assert!(
        fix(http).starts_with("this port does not speak TLS"),
        "{http}"
    );
    assert!(
        summary(tcp).ends_with(": the server did not speak TLS (is this a plain-text port?)"),
        "{tcp}"
    );
}

fn has_openssl() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn openssl_self_signed(dir: &Path, days: &str) -> Pki {
    let st = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
        ])
        .args([
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-days",
            days,
        ])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .unwrap();
    assert!(st.status.success(), "{st:?}");
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(dir.join("cert.pem"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("CA:TRUE"),
        "openssl made the CA:TRUE certificate this test is about"
    );
    let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap();
    servers::from_pem(&read("cert.pem"), &read("key.pem"))
}

#[test]
fn the_certificate_openssl_req_x509_makes_works() {
    if !has_openssl() {
        eprintln!("openssl is not installed: the rcgen tests cover this case");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = openssl_self_signed(dir.path(), "30");
    let (c, out) = https(&pki, "localhost", Some(&pki.ca_pem));
    out.expect_code(0);
    assert!(summary(&c).starts_with("HTTP 200 OK in"), "{c}");
    assert!(
        summary(&c).contains("certificate expires in 29 day(s)")
            || summary(&c).contains("certificate expires in 30 day(s)"),
        "{c}"
    );
    let (c, out) = tcp(&pki, "localhost", &pki.ca_pem);
    out.expect_code(0);
    assert!(summary(&c).starts_with("TLS handshake with"), "{c}");
}
