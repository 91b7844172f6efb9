//! The diagnosis end to end: real log lines as PHP, nginx and Apache write them, files on
//! disk, loopback servers — the headline must name the right subject and the right fix,
//! and invent nothing when the evidence does not link.

use std::io::Write;

use chrono::Utc;

use crate::servers::{Reply, http};
use crate::testenv::{TestEnv, json};

const PHP_UTC: &str = "[%d-%b-%Y %H:%M:%S UTC]";
const NGINX: &str = "%Y/%m/%d %H:%M:%S";

fn utc(fmt: &str, minutes_ago: i64) -> String {
    (Utc::now() - chrono::Duration::minutes(minutes_ago))
        .format(fmt)
        .to_string()
}

fn append(path: &std::path::Path, line: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    writeln!(f, "{line}").unwrap();
}

#[test]
fn the_sites_500_is_explained_by_the_entry_its_request_wrote() {
    let env = TestEnv::new();
    let log = env.file("php.log", "");
    let writer = log.clone();
    // The app logs its fatal error while it answers the request, as PHP-FPM does.
    let port = http(4, move |_, _| {
        append(
            &writer,
            &format!(
                "{} PHP Fatal error:  Uncaught Error: Call to undefined function wc_get_product() in /srv/shop/functions.php:88",
                utc(PHP_UTC, 0)
            ),
        );
        Reply::new(500, "<h1>Internal Server Error</h1>")
    });
    let cfg = format!(
        "[[check]]\nid = \"site\"\nkind = \"http\"\nurl = \"http://127.0.0.1:{port}/\"\n\n\
         [[check]]\nid = \"errors\"\nkind = \"log\"\npaths = [\"{}\"]\n",
        log.display()
    );
    let env = env.config(&cfg);
    let out = env.run(&["--format", "json"]);
    out.expect_code(2);
    let v = json(&out);
    let d = &v["diagnosis"][0];
    assert_eq!(d["rule"], "site-error-log", "{:#}", v["diagnosis"]);
    assert_eq!(
        d["fix"],
        "open /srv/shop/functions.php at line 88: that is where the newest fatal error points"
    );
    assert!(
        d["headline"]
            .as_str()
            .unwrap()
            .starts_with(&format!("http://127.0.0.1:{port}/ answered HTTP 500")),
        "{d:#}"
    );
    assert_eq!(d["evidence"][0]["check"], "site");
    assert_eq!(d["evidence"][1]["check"], "errors");

    // On a terminal's first screen: the headline and its fix.
    let human = env.run(&["--color", "never"]);
    let first: Vec<&str> = human.stdout.lines().take(25).collect();
    assert!(first[0].starts_with("Diagnosis"), "{}", human.stdout);
    assert!(
        first
            .iter()
            .any(|l| l.contains("fix: open /srv/shop/functions.php at line 88")),
        "{}",
        human.stdout
    );
}

#[test]
fn an_old_entry_is_not_the_cause_of_a_500_now() {
    let env = TestEnv::new();
    let log = env.file(
        "php.log",
        &format!(
            "{} PHP Fatal error:  Uncaught Error: boom in /srv/shop/a.php:3\n",
            utc(PHP_UTC, 30)
        ),
    );
    let port = http(4, |_, _| Reply::new(500, "oops"));
    let env = env.config(&format!(
        "[[check]]\nid = \"site\"\nkind = \"http\"\nurl = \"http://127.0.0.1:{port}/\"\n\n\
         [[check]]\nid = \"errors\"\nkind = \"log\"\npaths = [\"{}\"]\n",
        log.display()
    ));
    let v = json(&env.run(&["--format", "json"]));
    let list = v["diagnosis"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:#?}");
    assert!(
        list.iter().all(|d| d["linked"] == false),
        "nothing links an entry 30 minutes old to a request made now: {list:#?}"
    );
    // It says what was read instead, and where to look next.
    let site = &list[0];
    assert_eq!(site["rule"], "site-unexplained", "{list:#?}");
    assert!(
        site["headline"].as_str().unwrap().contains(
            "no log read here has an entry from that request (read: errors: 1 fatal error(s)"
        ),
        "{site:#}"
    );
}

#[test]
fn a_fatal_alone_is_reported_unlinked_with_its_own_fix() {
    let env = TestEnv::new();
    let log = env.file(
        "php.log",
        &format!(
            "{} PHP Fatal error:  Uncaught Error: boom in /srv/shop/a.php:3\n",
            utc(PHP_UTC, 1)
        ),
    );
    let env = env.config(&format!(
        "[[check]]\nid = \"errors\"\nkind = \"log\"\npaths = [\"{}\"]\n",
        log.display()
    ));
    let v = json(&env.run(&["--format", "json"]));
    let list = v["diagnosis"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0]["linked"], false);
    assert_eq!(list[0]["cause"], "code");
    assert_eq!(
        list[0]["subject"],
        serde_json::json!({"type": "path", "path": "/srv/shop/a.php", "line": 3})
    );
}

#[test]
fn an_upstream_that_is_not_php_fpm_is_never_blamed_on_php_fpm() {
    let env = TestEnv::new();
    let log = env.file(
        "error.log",
        &format!(
            "{} [error] 12#12: *41 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, server: _, request: \"POST /checkout HTTP/1.1\", upstream: \"http://127.0.0.1:8099/pay\", host: \"shop\"\n",
            utc(NGINX, 1)
        ),
    );
    let env = env.config(&format!(
        "[[check]]\nid = \"nginx-errors\"\nkind = \"log\"\npaths = [\"{}\"]\n",
        log.display()
    ));
    let out = env.run(&["--format", "json"]);
    let v = json(&out);
    let check = &v["checks"][0];
    let fix = check["fix"]["text"].as_str().unwrap();
    assert!(!fix.contains("php"), "{fix}");
    assert!(
        fix.contains("127.0.0.1:8099") && fix.contains("POST /checkout"),
        "{fix}"
    );
    assert_eq!(check["findings"][0]["cause"], "timeout");
    assert_eq!(
        check["findings"][0]["subject"],
        serde_json::json!({"type": "address", "address": "127.0.0.1:8099"})
    );
}

#[test]
fn a_misspelled_directive_gets_its_right_spelling() {
    let env = TestEnv::new();
    let log = env.file(
        "apache.log",
        &format!(
            "{} [core:alert] [pid 7:tid 7] [client 127.0.0.1:5000] /var/www/html/.htaccess: Invalid command 'RewriteEngin', perhaps misspelled or defined by a module not included in the server configuration\n",
            (Utc::now() - chrono::Duration::minutes(1))
                .with_timezone(&chrono::Local)
                .format("[%a %b %d %H:%M:%S%.6f %Y]")
        ),
    );
    let env = env.config(&format!(
        "[[check]]\nid = \"apache-errors\"\nkind = \"log\"\npaths = [\"{}\"]\n",
        log.display()
    ));
    let v = json(&env.run(&["--format", "json"]));
    assert_eq!(
        v["diagnosis"][0]["fix"],
        "/var/www/html/.htaccess: `RewriteEngin` → `RewriteEngine` (a misspelled directive)"
    );
    assert_eq!(v["diagnosis"][0]["cause"], "config");
}

#[test]
fn notices_and_deny_rules_are_not_alarms() {
    let env = TestEnv::new();
    let t = (Utc::now() - chrono::Duration::minutes(1)).with_timezone(&chrono::Local);
    let apache = env.file(
        "apache.log",
        &format!(
            "{a} [mpm_event:notice] [pid 77:tid 77] AH00489: Apache/2.4.62 (Debian) configured -- resuming normal operations\n\
             {a} [core:notice] [pid 77:tid 77] AH00094: Command line: '/usr/sbin/apache2'\n\
             {a} [mpm_event:notice] [pid 77:tid 77] AH00492: caught SIGWINCH, shutting down gracefully\n",
            a = t.format("[%a %b %d %H:%M:%S%.6f %Y]")
        ),
    );
    let nginx = env.file(
        "nginx.log",
        &format!(
            "{n} [error] 13#13: *7 access forbidden by rule, client: 127.0.0.1, server: _, request: \"GET /.git/config HTTP/1.1\", host: \"x\"\n\
             {n} [notice] 12#12: signal process started\n",
            n = t.format(NGINX)
        ),
    );
    let env = env.config(&format!(
        "[[check]]\nid = \"logs\"\nkind = \"log\"\npaths = [\"{}\", \"{}\"]\n",
        apache.display(),
        nginx.display()
    ));
    let out = env.run(&["--format", "json"]);
    out.expect_code(0);
    assert_eq!(json(&out)["diagnosis"], serde_json::json!([]));
}

#[test]
fn apaches_error_links_to_the_htaccess_line_that_causes_it() {
    let env = TestEnv::new();
    let root = env.path().join("www");
    env.file(
        "www/.htaccess",
        "<IfModule mod_rewrite.c>\nRewriteEngin On\nRewriteRule ^x$ /y [L]\n</IfModule>\n",
    );
    let log = env.file(
        "apache.log",
        &format!(
            "{} [core:alert] [pid 7:tid 7] [client 127.0.0.1:5000] {}/.htaccess: Invalid command 'RewriteEngin', perhaps misspelled or defined by a module not included in the server configuration\n",
            (Utc::now() - chrono::Duration::minutes(1))
                .with_timezone(&chrono::Local)
                .format("[%a %b %d %H:%M:%S%.6f %Y]"),
            root.display()
        ),
    );
    let env = env.config(&format!(
        "[[check]]\nid = \"apache-errors\"\nkind = \"log\"\npaths = [\"{}\"]\n\n\
         [[check]]\nid = \"htaccess\"\nkind = \"htaccess\"\npath = \"{}\"\nphp_handler = \"fpm\"\n",
        log.display(),
        root.display()
    ));
    let v = json(&env.run(&["--format", "json"]));
    let d = &v["diagnosis"][0];
    assert_eq!(d["rule"], "config-line", "{:#}", v["diagnosis"]);
    assert_eq!(d["fix"], "line 2: `RewriteEngin` → `RewriteEngine`");
    assert_eq!(
        d["subject"],
        serde_json::json!({"type": "directive", "directive": "RewriteEngin",
            "path": format!("{}/.htaccess", root.display()), "line": 2})
    );
    assert_eq!(d["evidence"][0]["check"], "apache-errors");
    assert_eq!(d["evidence"][1]["check"], "htaccess");
}
