//! The diagnosis end to end: real trees, logs and ports, and the JSON `diagnosis` that links
//! the findings of several checks — or says nothing links them, and invents nothing.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::testenv::{TestEnv, json};

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A temp directory the web server user can walk through, with a web root in it.
fn site(mode: u32) -> (TestEnv, std::path::PathBuf) {
    let env = TestEnv::new();
    chmod(env.path(), 0o755);
    let root = env.path().join("www");
    std::fs::create_dir(&root).unwrap();
    for f in ["index.php", "config.php"] {
        std::fs::write(root.join(f), "<?php\n").unwrap();
        chmod(&root.join(f), 0o644);
    }
    chmod(&root, mode);
    (env, root)
}

fn permissions(root: &Path) -> String {
    format!(
        "[[check]]\nid = \"webroot\"\nkind = \"permissions\"\npath = \"{}\"\nreadable_by = \"www-data\"\n",
        root.display()
    )
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn a_denied_include_links_to_the_web_root_the_server_cannot_enter() {
    let (env, root) = site(0o700);
    let d = root.display();
    let now = chrono::Local::now().format("[%d-%b-%Y %H:%M:%S]");
    let log = env.file(
        "php8.2-fpm.log",
        &format!(
            "{now} WARNING: [pool www] child 12 said into stderr: \"PHP Warning:  include({d}/config.php): Failed to open stream: Permission denied in {d}/index.php on line 3\"\n"
        ),
    );
    let env = env.config(&format!(
        "{}[[check]]\nid = \"errors\"\nkind = \"log\"\npaths = [\"{}\"]\n",
        permissions(&root),
        log.display()
    ));
    let v = json(&env.run(&["--format", "json"]));
    let first = &v["diagnosis"][0];
    assert_eq!(first["rule"], "denied-path-mode", "{first:#}");
    assert_eq!(first["linked"], true);
    assert_eq!(first["cause"], "permissions");
    assert_eq!(
        first["subject"],
        serde_json::json!({"type": "path", "path": d.to_string()})
    );
    assert_eq!(first["fix"], format!("chmod 755 {d}"));
    let checks: Vec<&str> = first["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["errors", "webroot"]);
}

#[test]
fn the_permissions_finding_names_the_directory_and_its_chmod() {
    // The half of the link above that needs no log findings: the web root at 0700 is a
    // finding about that directory, with the chmod `fix --apply` would make.
    let (env, root) = site(0o700);
    let env = env.config(&permissions(&root));
    let out = env.run(&["--format", "json"]);
    out.expect_code(2);
    let c = &json(&out)["checks"][0];
    let d = root.display().to_string();
    assert_eq!(
        c["findings"],
        serde_json::json!([{
            "subject": {"type": "path", "path": d},
            "cause": "permissions",
            "status": "fail",
            "text": format!("{d}: www-data cannot enter it (0700 (rwx------), owner root)"),
            "fix": {"text": format!("chmod 755 {d}"), "automatic": true}
        }]),
        "{c:#}"
    );
    assert_eq!(
        c["details"][0],
        format!("{d}: www-data cannot enter it (0700 (rwx------), owner root) → chmod 755 {d}")
    );
}

#[test]
fn unrelated_failures_are_not_linked_and_no_cause_is_invented() {
    let (env, root) = site(0o700);
    let dotenv = env.file("app.env", "APP_KEY=secret-value\n");
    let port = closed_port();
    let env = env.config(&format!(
        "{}[[check]]\nid = \"db\"\nkind = \"tcp\"\naddress = \"127.0.0.1:{port}\"\n\
         [[check]]\nid = \"app-env\"\nkind = \"env\"\nfrom_file = \"{}\"\nvars = [\"APP_KEY\", \"DB_HOST\"]\n",
        permissions(&root),
        dotenv.display()
    ));
    let out = env.run(&["--format", "json"]);
    out.expect_code(2);
    let v = json(&out);
    let diagnosis = v["diagnosis"].as_array().unwrap();
    assert_eq!(diagnosis.len(), 3, "{diagnosis:#?}");
    assert!(
        diagnosis.iter().all(|d| d["linked"] == false),
        "{diagnosis:#?}"
    );
    // Each rests on its own check's finding, with that finding's subject and cause — a
    // path, an address and a variable have nothing to do with one another.
    let by_check = |id: &str| {
        diagnosis
            .iter()
            .find(|d| d["evidence"][0]["check"] == id)
            .unwrap_or_else(|| panic!("no entry for {id}: {diagnosis:#?}"))
    };
    let expect = [
        (
            "webroot",
            "permissions",
            serde_json::json!({"type": "path", "path": root.display().to_string()}),
        ),
        (
            "db",
            "dependency",
            serde_json::json!({"type": "address", "address": format!("127.0.0.1:{port}")}),
        ),
        (
            "app-env",
            "deploy",
            serde_json::json!({"type": "var", "name": "DB_HOST"}),
        ),
    ];
    for (id, cause, subject) in expect {
        let d = by_check(id);
        assert_eq!(d["evidence"].as_array().unwrap().len(), 1, "{d:#}");
        assert_eq!(
            (d["cause"].as_str(), &d["subject"]),
            (Some(cause), &subject),
            "{d:#}"
        );
        assert_eq!(d["rule"], "unlinked");
    }
    assert!(!out.stdout.contains("secret-value"));
}

#[test]
fn a_recent_change_alone_is_no_cause() {
    // Files changed where changes are expected: evidence for a link, never a cause by itself.
    let (env, root) = site(0o755);
    let env = env.config(&format!(
        "{}[[check]]\nid = \"changes\"\nkind = \"recent_changes\"\npath = \"{}\"\n",
        permissions(&root),
        root.display()
    ));
    let out = env.run(&["--format", "json"]);
    out.expect_code(0);
    let v = json(&out);
    assert_eq!(v["checks"][1]["findings"].as_array().unwrap().len(), 2);
    assert_eq!(v["diagnosis"], serde_json::json!([]));
}

#[test]
fn all_passing_is_an_empty_diagnosis() {
    let (env, root) = site(0o755);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dotenv = env.file("app.env", "APP_KEY=x\n");
    let env = env.config(&format!(
        "{}[[check]]\nid = \"db\"\nkind = \"tcp\"\naddress = \"{}\"\n\
         [[check]]\nid = \"app-env\"\nkind = \"env\"\nfrom_file = \"{}\"\nvars = [\"APP_KEY\"]\n",
        permissions(&root),
        listener.local_addr().unwrap(),
        dotenv.display()
    ));
    let out = env.run(&["--format", "json"]);
    out.expect_code(0);
    let v = json(&out);
    assert_eq!(v["diagnosis"], serde_json::json!([]), "{v:#}");
    for c in v["checks"].as_array().unwrap() {
        assert_eq!(c["findings"], serde_json::json!([]), "{c:#}");
    }
}
