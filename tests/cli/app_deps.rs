//! The app's environment end to end: the addresses its `.env` names probed on loopback
//! (one listening, one refused), secrets in them never shown, and log lines that name no
//! address or a missing variable explained from the same sources.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::testenv::{TestEnv, json};

const SECRET: &str = "Sup3rS3cretPw";

/// A port where something listens (kept open while the listener lives).
fn listening() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// A port where nothing listens: bound, then let go.
fn refused() -> u16 {
    listening().1
}

/// A fixture host under `root` with one PHP-FPM pool that sets no variables.
fn sysroot_with_pool(env: &TestEnv) -> PathBuf {
    env.file(
        "root/etc/php/8.2/fpm/pool.d/www.conf",
        "[www]\nlisten = /run/php/php8.2-fpm.sock\n;env[DATABASE_URL] = commented out\n",
    );
    env.path().join("root")
}

fn php_line(text: &str) -> String {
    format!("{} {text}", Utc::now().format("[%d-%b-%Y %H:%M:%S UTC]"))
}

fn deps_check(app: &Path) -> String {
    format!(
        "[[check]]\nid = \"deps\"\nkind = \"app_deps\"\npaths = [\"{}\"]\n",
        app.display()
    )
}

#[test]
fn every_address_the_env_names_is_probed_and_no_secret_is_shown() {
    let (_db, up) = listening();
    let down = refused();
    let env = TestEnv::new();
    let root = env.path().join("empty-root");
    std::fs::create_dir_all(&root).unwrap();
    env.file(
        "app/.env",
        &format!(
            "APP_URL=https://shop.example\nDATABASE_URL=\"mysql://shop:{SECRET}@127.0.0.1:{down}/shop\"\n\
             export REDIS_URL=redis://:{SECRET}@127.0.0.1:{up}\nMAIL_MAILER=log\nMAIL_HOST=127.0.0.1\nMAIL_PORT={down}\n"
        ),
    );
    let cfg = deps_check(&env.path().join("app"));
    let env = env
        .env("SITEDOCTOR_SYSROOT", &root.display().to_string())
        .config(&cfg);
    let out = env.run(&["--format", "json"]);
    out.expect_code(2);
    let v = json(&out);
    let c = &v["checks"][0];
    assert_eq!(c["status"], "fail", "{c:#}");
    let dotenv = env.path().join("app/.env").display().to_string();
    let findings: Vec<(String, String, String)> = c["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["subject"]["address"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
                f["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        findings.len(),
        2,
        "APP_URL and an unused mailer are not probed: {c:#}"
    );
    assert_eq!(
        findings[0],
        (
            format!("127.0.0.1:{down}"),
            "fail".into(),
            format!("the database (DATABASE_URL in {dotenv}) refuses connections")
        )
    );
    assert_eq!(findings[1].0, format!("127.0.0.1:{up}"));
    assert_eq!(findings[1].1, "pass");
    assert!(
        findings[1].2.starts_with(&format!(
            "the cache (REDIS_URL in {dotenv}) accepts connections"
        )),
        "{c:#}"
    );
    assert_eq!(
        c["fix"]["text"],
        format!("start the database (systemctl status …), or correct DATABASE_URL in {dotenv}")
    );
    for format in [
        "human",
        "json",
        "junit",
        "tap",
        "nagios",
        "prometheus",
        "github",
    ] {
        let out = env.run(&["--format", format]);
        for shown in [&out.stdout, &out.stderr] {
            assert!(!shown.contains(SECRET), "{format}: {shown}");
            assert!(!shown.contains("shop:"), "{format}: {shown}");
        }
    }
}

#[test]
fn a_connection_refused_without_address_is_the_database_the_env_names() {
    let down = refused();
    let env = TestEnv::new();
    let root = sysroot_with_pool(&env);
    let app = env.path().join("app");
    env.file(
        "app/.env",
        &format!("DB_CONNECTION=mysql\nDB_HOST=127.0.0.1\nDB_PORT={down}\nDB_PASSWORD={SECRET}\n"),
    );
    let log = env.file(
        "php.log",
        &format!(
            "{}\n",
            php_line(&format!(
                "PHP Fatal error:  Uncaught PDOException: SQLSTATE[HY000] [2002] Connection refused in {}/db.php:10",
                app.display()
            ))
        ),
    );
    let errors = format!(
        "[[check]]\nid = \"errors\"\nkind = \"log\"\npaths = [\"{}\"]\n",
        log.display()
    );
    let env = env
        .env("SITEDOCTOR_SYSROOT", &root.display().to_string())
        .config(&format!("{errors}\n{}", deps_check(&app)));
    let out = env.run(&["--format", "json"]);
    out.expect_code(2);
    let v = json(&out);
    let dotenv = app.join(".env").display().to_string();
    let address = format!("127.0.0.1:{down}");

    // The log's own finding names the address from the .env and what it does now.
    let logged = &v["checks"][0]["findings"][0];
    assert_eq!(logged["subject"]["address"], address.as_str(), "{logged:#}");
    assert_eq!(
        logged["fix"]["text"],
        format!(
            "the database at {address} (DB_HOST and DB_PORT in {dotenv}) refuses connections: start it, or point the app at the right host and port"
        )
    );

    // The diagnosis links it to the probe of the same address.
    let d = &v["diagnosis"][0];
    assert_eq!(d["rule"], "unreachable-peer", "{:#}", v["diagnosis"]);
    assert_eq!(
        d["headline"],
        format!("{address}: the database (DB_HOST and DB_PORT in {dotenv}) refuses connections")
    );
    assert_eq!(d["evidence"][0]["check"], "errors");
    assert_eq!(d["evidence"][1]["check"], "deps");
    assert!(!out.stdout.contains(SECRET));
}

#[test]
fn a_missing_variable_is_named_where_it_is_missing_or_empty() {
    let env = TestEnv::new();
    let root = sysroot_with_pool(&env);
    let app = env.path().join("app");
    env.file(
        "app/.env",
        &format!("APP_SECRET=\nDATABASE_URL=mysql://u:{SECRET}@db/x\n"),
    );
    let vendor = app.join("vendor/symfony/dependency-injection/EnvVarProcessor.php");
    let log = env.file(
        "php.log",
        &format!(
            "{}\n{}\n",
            php_line(&format!(
                "PHP Fatal error:  Uncaught Symfony\\Component\\DependencyInjection\\Exception\\EnvNotFoundException: Environment variable not found: \"MAILER_DSN\". in {}:187",
                vendor.display()
            )),
            php_line(&format!(
                "PHP Fatal error:  Uncaught RuntimeException: Environment variable not found: \"APP_SECRET\" in {}/index.php:5",
                app.display()
            )),
        ),
    );
    let env = env
        .env("SITEDOCTOR_SYSROOT", &root.display().to_string())
        .config(&format!(
            "[[check]]\nid = \"errors\"\nkind = \"log\"\npaths = [\"{}\"]\n",
            log.display()
        ));
    let out = env.run(&["--format", "json"]);
    out.expect_code(2);
    let v = json(&out);
    let dotenv = app.join(".env").display().to_string();
    let fixes: Vec<(String, String)> = v["checks"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["subject"]["name"].as_str().unwrap().to_string(),
                f["fix"]["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let fix_of = |var: &str| {
        fixes
            .iter()
            .find(|(n, _)| n == var)
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| panic!("no finding for {var}: {fixes:?}"))
    };
    assert_eq!(
        fix_of("MAILER_DSN"),
        format!(
            "MAILER_DSN is not set in {dotenv} nor in PHP-FPM pool www (env[MAILER_DSN]); add it to {dotenv} and reload php8.2-fpm"
        )
    );
    assert_eq!(
        fix_of("APP_SECRET"),
        format!(
            "APP_SECRET is set but empty in {dotenv}: give it its value there and reload php8.2-fpm"
        )
    );
    assert!(!out.stdout.contains(SECRET));
}

#[test]
fn the_built_in_checklist_skips_it_where_no_app_env_is_found() {
    let env = TestEnv::new();
    let root = env.path().join("empty-root");
    std::fs::create_dir_all(&root).unwrap();
    let out = env
        .env("SITEDOCTOR_SELFTEST", "0")
        .env("SITEDOCTOR_SYSROOT", &root.display().to_string())
        .run(&["--format", "json", "--only", "app-dependencies"]);
    let v = json(&out);
    let c = &v["checks"][0];
    assert_eq!(c["id"], "app-dependencies");
    assert_eq!(c["status"], "skip", "{c:#}");
    assert_eq!(
        c["summary"],
        "no app environment found: no .env file in the web roots or `paths`, no PHP-FPM pool, no Environment= in the web stack's units"
    );
}

#[test]
fn a_healthy_app_passes() {
    let (_db, up) = listening();
    let (_cache, up2) = listening();
    let env = TestEnv::new();
    let root = env.path().join("empty-root");
    std::fs::create_dir_all(&root).unwrap();
    env.file(
        "app/.env",
        &format!("DB_HOST=127.0.0.1\nDB_PORT={up}\nCACHE_STORE=redis\nREDIS_HOST=localhost\nREDIS_PORT={up2}\n"),
    );
    std::fs::create_dir_all(env.path().join("app/public")).unwrap();
    let cfg = deps_check(&env.path().join("app/public"));
    let env = env
        .env("SITEDOCTOR_SYSROOT", &root.display().to_string())
        .config(&cfg);
    let out = env.run(&["--format", "json"]);
    out.expect_code(0);
    let c = &json(&out)["checks"][0];
    assert_eq!(
        c["summary"],
        format!(
            "2 dependencies the app's environment names accept connections: 127.0.0.1:{up}, localhost:{up2}"
        )
    );
}

/// Passwords with unescaped `@`, `#`, `/`: the host is what follows the LAST `@`, and no
/// part of a password reaches any format nor a DNS query.
#[test]
fn a_password_with_at_hash_or_slash_is_never_taken_for_a_host() {
    let (_db, db) = listening();
    let (_cache, cache) = listening();
    let env = TestEnv::new();
    let db_pw = "Tr0ub4dor@HorseBatteryStaple#2";
    let cache_pw = "Pa55@word/with/slash";
    let dotenv = |db_pw: &str, cache_pw: &str| {
        format!(
            "DATABASE_URL=mysql://shop:{db_pw}@127.0.0.1:{db}/shop\nREDIS_URL=redis://:{cache_pw}@127.0.0.1:{cache}\n"
        )
    };
    env.file("app/.env", &dotenv(db_pw, cache_pw));
    let cfg = format!(
        "[[check]]\nid = \"deps\"\nkind = \"app_deps\"\npaths = [\"{}\"]\nfrom_web_stack = false\n",
        env.path().join("app").display()
    );
    let env = env.config(&cfg);
    let out = env.run(&["--format", "json"]);
    out.expect_code(0);
    let c = &json(&out)["checks"][0];
    let probed: Vec<&str> = c["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["subject"]["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        probed,
        vec![format!("127.0.0.1:{db}"), format!("127.0.0.1:{cache}")],
        "{c:#}"
    );
    assert_eq!(c["status"], "pass", "{c:#}");
    // Each format's words ("with" in a Prometheus HELP line) are counted in a run whose
    // passwords are plain: the hostile run may show no run of 4 characters more often.
    let formats = [
        "human",
        "json",
        "junit",
        "tap",
        "nagios",
        "prometheus",
        "github",
    ];
    let shown = |format: &str| {
        let out = env.run(&["--format", format]);
        format!("{}{}", out.stdout, out.stderr)
    };
    env.file("app/.env", &dotenv("x", "y"));
    let plain: Vec<String> = formats.iter().map(|f| shown(f)).collect();
    env.file("app/.env", &dotenv(db_pw, cache_pw));
    for (format, plain) in formats.iter().zip(&plain) {
        let hostile = shown(format);
        for pw in [db_pw, cache_pw] {
            let pw: Vec<char> = pw.chars().collect();
            for part in pw.windows(4) {
                let part: String = part.iter().collect();
                assert!(
                    hostile.matches(&part).count() <= plain.matches(&part).count(),
                    "{format}: {part:?} in {hostile}"
                );
            }
        }
    }
}
