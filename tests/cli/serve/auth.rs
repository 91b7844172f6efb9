//! The bearer token: required beyond loopback, private, guarding `/` and `/report.json` only.

use super::harness::Served;
use crate::testenv::{TestEnv, selftest};

#[test]
fn the_token_guards_the_page_and_the_report_but_not_health_or_metrics() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new().config(&selftest("one", ""));
    let token = "6f1d0c3e9a2b4d5f8e7c6b5a4d3c2b1a";
    let file = env.file("token", &format!("{token}\n"));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let s = Served::start(&env, &["--token-file", "token"]);
    for path in ["/", "/report.json"] {
        let a = s.get(path);
        assert_eq!(a.status, 401, "{path}");
        assert_eq!(
            a.header("www-authenticate"),
            Some("Bearer realm=\"sitedoctor\"")
        );
        assert!(!a.body.contains(token));
        let wrong = s.request(
            "GET",
            path,
            &[("Authorization", "Bearer 6f1d0c3e9a2b4d5f8e7c6b5a4d3c2b1b")],
        );
        assert_eq!(wrong.status, 401, "{path}");
        let right = s.request(
            "GET",
            path,
            &[("Authorization", &format!("Bearer {token}"))],
        );
        assert_eq!(right.status, 200, "{path}");
    }
    assert_eq!(s.get("/healthz").status, 200);
    assert_eq!(s.get("/metrics").status, 200);
    assert!(!s.log().contains(token));
}

#[test]
fn beyond_loopback_a_token_file_is_required_and_must_be_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new().config(&selftest("one", ""));
    let out = env.run(&["serve", "--listen", "0.0.0.0:9947"]);
    out.expect_code(64);
    assert!(
        out.stderr
            .contains("--listen 0.0.0.0:9947 is reachable from other hosts: give --token-file"),
        "{}",
        out.stderr
    );

    let file = env.file("token", "6f1d0c3e9a2b4d5f8e7c6b5a4d3c2b1a\n");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&["serve", "--listen", "[::]:9947", "--token-file", "token"]);
    out.expect_code(64);
    assert!(
        out.stderr
            .contains("--token-file token is readable by other users: chmod o-rwx token"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("6f1d0c3e"));

    env.file("short", "abc\n");
    std::fs::set_permissions(
        env.path().join("short"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let out = env.run(&["serve", "--token-file", "short"]);
    out.expect_code(64);
    assert!(
        out.stderr.contains("at least 16 characters"),
        "{}",
        out.stderr
    );

    let out = env.run(&["serve", "--listen", "localhost"]);
    out.expect_code(64);
    assert!(
        out.stderr.contains("expected an address and port"),
        "{}",
        out.stderr
    );
}
