//! The real nginx, Apache and PHP-FPM (installed by .ci/run), each with its own
//! configuration in a temporary directory — never the system's.

use std::path::Path;

use crate::testenv::{TestEnv, json};

fn installed(bin: &str) -> bool {
    let found = ["/usr/sbin", "/usr/bin"]
        .iter()
        .any(|d| Path::new(d).join(bin).exists());
    if !found {
        eprintln!("skipped: {bin} is not installed (.ci/run installs it)");
    }
    found
}

fn configtest(env: &TestEnv, server: &str, config: &Path, args: &[String]) -> serde_json::Value {
    let args: Vec<String> = args.iter().map(|a| format!("\"{a}\"")).collect();
    let cfg = env.file(
        "checks.toml",
        &format!("[[check]]\nid = \"t\"\nkind = \"configtest\"\nserver = \"{server}\"\nconfig = \"{}\"\nargs = [{}]\n", config.display(), args.join(", ")),
    );
    let out = env.run(&["--format", "json", "--config", &cfg.display().to_string()]);
    json(&out)["checks"][0].clone()
}

#[test]
fn nginx_config_test_names_file_and_line() {
    if !installed("nginx") {
        return;
    }
    let env = TestEnv::new();
    let d = env.path().display().to_string();
    let head = format!(
        "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/tmp;\n"
    );
    let bad = env.file(
        "bad.conf",
        &format!("{head}  server {{\n    listen 127.0.0.1:8;\n    sever_name shop;\n  }}\n}}\n"),
    );
    let c = configtest(
        &env,
        "nginx",
        &bad,
        &["-p".into(), d.clone(), "-e".into(), "stderr".into()],
    );
    assert_eq!(c["status"], "fail", "{c}");
    let s = c["summary"].as_str().unwrap();
    assert!(
        s.contains("unknown directive \"sever_name\"")
            && s.contains(&format!("{}:9", bad.display())),
        "{s}"
    );
    assert!(
        c["fix"]["text"].as_str().unwrap().contains("nginx -t"),
        "{c}"
    );
    // The error is a finding about the directive where it is written, and the fix is
    // the line to edit.
    let b = bad.display().to_string();
    assert_config_finding(
        &c,
        serde_json::json!({"type": "directive", "directive": "sever_name", "path": b, "line": 9}),
        &format!("edit line 9 of {b} (`sever_name`), then run `"),
    );
    let good = env.file(
        "good.conf",
        &format!("{head}  server {{\n    listen 127.0.0.1:8;\n    server_name shop;\n  }}\n}}\n"),
    );
    let c = configtest(
        &env,
        "nginx",
        &good,
        &["-p".into(), d, "-e".into(), "stderr".into()],
    );
    assert_eq!(c["status"], "pass", "{c}");
    assert_eq!(c["findings"], serde_json::json!([]), "{c}");
}

/// The one finding of a failed config test: about `subject`, its text the summary, its fix
/// the check's and starting with `fix_start`.
fn assert_config_finding(c: &serde_json::Value, subject: serde_json::Value, fix_start: &str) {
    let f = &c["findings"];
    assert_eq!(f.as_array().map(Vec::len), Some(1), "{c}");
    assert_eq!(f[0]["subject"], subject, "{c}");
    assert_eq!(
        (f[0]["cause"].as_str(), f[0]["status"].as_str()),
        (Some("config"), Some("fail"))
    );
    assert_eq!(f[0]["text"], c["summary"]);
    assert_eq!(f[0]["fix"], c["fix"]);
    let fix = f[0]["fix"]["text"].as_str().unwrap();
    assert!(
        fix.starts_with(fix_start) && fix.ends_with("again before reloading"),
        "{fix}"
    );
}

#[test]
fn nginx_config_test_that_hangs_is_an_error_naming_its_limit() {
    if !installed("nginx") {
        return;
    }
    let env = TestEnv::new();
    // A configuration that is a FIFO nobody writes: nginx waits on it forever.
    let fifo = env.path().join("hang.conf");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let cfg = env.file(
        "checks.toml",
        &format!(
            "[[check]]\nid = \"t\"\nkind = \"configtest\"\nserver = \"nginx\"\nconfig = \"{}\"\ntimeout = \"1s\"\nargs = [\"-p\", \"{}\", \"-e\", \"stderr\"]\n",
            fifo.display(),
            env.path().display()
        ),
    );
    let out = env.run(&["--format", "json", "--config", &cfg.display().to_string()]);
    let c = &json(&out)["checks"][0];
    assert_eq!(c["status"], "error", "{c}");
    let s = c["summary"].as_str().unwrap();
    assert!(s.ends_with("` did not finish within 1 s"), "{s}");
    assert_eq!(c["findings"], serde_json::json!([]), "{c}");
}

#[test]
fn apache_config_test_names_file_and_line() {
    if !installed("apache2") {
        return;
    }
    let env = TestEnv::new();
    let d = env.path().display().to_string();
    let head = format!(
        "ServerRoot {d}\nLoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\nListen 127.0.0.1:8\nServerName localhost\nPidFile {d}/pid\nErrorLog {d}/error.log\nDocumentRoot {d}\nDefaultRuntimeDir {d}\n"
    );
    let bad = env.file("bad.conf", &format!("{head}RewriteEngine On\n"));
    let c = configtest(&env, "apache", &bad, &[]);
    assert_eq!(c["status"], "fail", "{c}");
    let s = c["summary"].as_str().unwrap();
    assert!(
        s.contains("Syntax error on line 9") && s.contains("Invalid command 'RewriteEngine'"),
        "{s}"
    );
    let b = bad.display().to_string();
    assert_config_finding(
        &c,
        serde_json::json!({"type": "directive", "directive": "RewriteEngine", "path": b, "line": 9}),
        &format!("edit line 9 of {b} (`RewriteEngine`), then run `"),
    );
    // An error in an included file is located in that file.
    let inc = env.file(
        "sites/shop.conf",
        "<VirtualHost *:8>\n  ServerName shop\n  Options Bogus\n</VirtualHost>\n",
    );
    let main = env.file("main.conf", &format!("{head}Include {}\n", inc.display()));
    let c = configtest(&env, "apache", &main, &[]);
    let i = inc.display().to_string();
    assert_config_finding(
        &c,
        serde_json::json!({"type": "path", "path": i, "line": 3}),
        &format!("edit line 3 of {i}, then run `"),
    );
    let good = env.file("good.conf", &head);
    let c = configtest(&env, "apache", &good, &[]);
    assert_eq!(c["status"], "pass", "{c}");
    assert_eq!(c["summary"], "Syntax OK");
}

#[test]
fn php_fpm_config_test() {
    let Some(fpm) = std::fs::read_dir("/usr/sbin").ok().and_then(|rd| {
        rd.flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.starts_with("php-fpm"))
    }) else {
        eprintln!("skipped: php-fpm is not installed (.ci/run installs it)");
        return;
    };
    let _ = fpm;
    let env = TestEnv::new();
    let d = env.path().display().to_string();
    let head = format!(
        "[global]\npid = {d}/fpm.pid\nerror_log = {d}/fpm.log\n[www]\nuser = nobody\nlisten = {d}/fpm.sock\n"
    );
    let bad = env.file("bad.conf", &format!("{head}pm = sometimes\n"));
    let c = configtest(&env, "php-fpm", &bad, &[]);
    assert_eq!(c["status"], "fail", "{c}");
    assert!(c["summary"].as_str().unwrap().contains("ERROR"), "{c}");
    let b = bad.display().to_string();
    assert_config_finding(
        &c,
        serde_json::json!({"type": "path", "path": b, "line": 7}),
        &format!("edit line 7 of {b}, then run `"),
    );
    let typo = env.file(
        "typo.conf",
        &format!("{head}pm = static\npm.max_childs = 1\n"),
    );
    let c = configtest(&env, "php-fpm", &typo, &[]);
    let t = typo.display().to_string();
    assert_config_finding(
        &c,
        serde_json::json!({"type": "directive", "directive": "pm.max_childs", "path": t, "line": 8}),
        &format!("edit line 8 of {t} (`pm.max_childs`), then run `"),
    );
    let good = env.file(
        "good.conf",
        &format!("{head}pm = static\npm.max_children = 1\n"),
    );
    let c = configtest(&env, "php-fpm", &good, &[]);
    assert_eq!(c["status"], "pass", "{c}");
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .contains("test is successful"),
        "{c}"
    );
}

#[test]
fn htaccess_lint_findings_with_file_and_line() {
    let env = TestEnv::new();
    let root = env.path().join("www");
    env.file("www/.htaccess", "<IfModule mod_rewrite.c>\nRewriteEngine On\nRewriteRule ^ index.php [L]\n</IfModule>\nphp_value upload_max_filesize 64M\n");
    env.file(
        "www/blog/.htaccess",
        "RewriteRule ^old$ /new [R=301,L]\n<Files wp-config.php>\nRequire all denied\n",
    );
    env.file("www/shop/.htaccess", "Optons -Indexes\n");
    let cfg = format!(
        "[[check]]\nid = \"ht\"\nkind = \"htaccess\"\npath = \"{}\"\nphp_handler = \"fpm\"\n",
        root.display()
    );
    let out = env.config(&cfg).run(&["--format", "json"]);
    out.expect_code(2);
    let c = &json(&out)["checks"][0];
    let d = c["details"].to_string();
    let r = root.display();
    for needle in [
        format!("{r}/.htaccess:5: `php_value` but PHP runs under PHP-FPM"),
        format!("{r}/blog/.htaccess:2: `<files>` is never closed"),
        format!("{r}/blog/.htaccess:1: `RewriteRule` with no `RewriteEngine On` before it"),
        format!("{r}/shop/.htaccess:1: `Optons` is a misspelling of `Options`"),
    ] {
        assert!(d.contains(&needle), "{needle:?} not in {d}");
    }
    assert!(
        d.contains("upload_max_filesize = 64M"),
        "the fix names the .user.ini line: {d}"
    );
}

/// Whether a process whose name (comm, cut to 15 bytes by the kernel) is `bin` runs now.
fn running(bin: &str) -> bool {
    let short: String = bin.chars().take(15).collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .any(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == short))
}

#[test]
fn init_writes_a_valid_configuration_for_the_detected_stack_and_never_overwrites() {
    let sys = tempfile::tempdir().unwrap();
    let r = sys.path();
    let w = |p: &str, t: &str| {
        let f = r.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, t).unwrap();
    };
    w("usr/sbin/nginx", "");
    w(
        "etc/nginx/nginx.conf",
        "user www-data;\nerror_log /var/log/nginx/error.log;\nhttp { include /etc/nginx/sites-enabled/*; }\n",
    );
    w(
        "etc/nginx/sites-enabled/shop",
        "server { root /srv/shop; }\n",
    );
    w("srv/shop/index.php", "<?php");
    w("usr/sbin/php-fpm8.2", "");
    w(
        "etc/php/8.2/fpm/php-fpm.conf",
        "[global]\nerror_log = /var/log/php8.2-fpm.log\n",
    );
    let env = TestEnv::new().env("SITEDOCTOR_SYSROOT", &r.display().to_string());
    // Other tests start and stop nginx and PHP-FPM: judge only a server whose state stayed
    // the same across the run of `init`.
    let before = ["nginx", "php-fpm8.2"].map(running);
    let out = env.run(&["init"]);
    out.expect_code(0);
    let steady = ["nginx", "php-fpm8.2"].map(running).map(Some);
    let steady: Vec<Option<bool>> = before
        .iter()
        .zip(steady)
        .map(|(b, a)| a.filter(|a| a == b))
        .collect();
    let text = std::fs::read_to_string(env.path().join("sitedoctor.toml")).unwrap();
    for needle in [
        "#   nginx (/usr/sbin/nginx)",
        "id = \"nginx-config\"",
        "paths = [\"/var/log/nginx/error.log\"]",
        "name = \"php-fpm8.2\"",
        "unit = \"php8.2-fpm\"",
        "path = \"/srv/shop\"",
        "readable_by = \"www-data\"",
    ] {
        assert!(text.contains(needle), "{needle:?} not in\n{text}");
    }
    // A server installed but not running gets no "is running" check that would fail on a
    // healthy host; one that runs does.
    for ((bin, id), state) in [("nginx", "nginx"), ("php-fpm8.2", "php8-2-fpm")]
        .into_iter()
        .zip(steady)
    {
        let active = format!("\nid = \"{id}-running\"");
        let commented = format!("# id = \"{id}-running\"");
        let Some(runs) = state else {
            continue; // started or stopped by another test meanwhile
        };
        if runs {
            assert!(text.contains(&active), "{bin} runs here:\n{text}");
        } else {
            assert!(
                text.contains(&commented) && !text.contains(&active),
                "{bin} does not run here:\n{text}"
            );
        }
    }
    let out = env.run(&["list"]);
    out.expect_code(0);
    assert!(
        out.stdout.contains("srv-shop-permissions"),
        "{}",
        out.stdout
    );
    let out = env.run(&["init"]);
    out.expect_code(64);
    assert!(
        out.stderr.contains("already exists: use --force"),
        "{}",
        out.stderr
    );
    env.run(&["init", "--force"]).expect_code(0);
}

#[test]
fn the_built_in_checklist_lints_the_htaccess_of_the_roots_apache_serves() {
    let sys = tempfile::tempdir().unwrap();
    let r = sys.path();
    let w = |p: &str, t: &str| {
        let f = r.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, t).unwrap();
    };
    w("usr/sbin/apache2", "");
    w(
        "etc/apache2/apache2.conf",
        "IncludeOptional sites-enabled/*.conf\n",
    );
    w(
        "etc/apache2/sites-enabled/shop.conf",
        "<VirtualHost *:80>\nDocumentRoot /srv/shop\n</VirtualHost>\n",
    );
    w("srv/shop/blog/.htaccess", "RewriteEngin On\n");
    let env = TestEnv::new().env("SITEDOCTOR_SYSROOT", &r.display().to_string());
    let out = env.run(&["--only", "htaccess", "--format", "json"]);
    out.expect_code(2);
    let c = &json(&out)["checks"][0];
    let shown = format!("{}/srv/shop/blog/.htaccess", r.display());
    assert!(
        c["details"][0].as_str().unwrap().starts_with(&format!(
            "{shown}:1: `RewriteEngin` is a misspelling of `RewriteEngine`"
        )),
        "{c:#}"
    );
    // Without Apache, nothing to lint: skip, never fail.
    let bare = tempfile::tempdir().unwrap();
    let env = TestEnv::new().env("SITEDOCTOR_SYSROOT", &bare.path().display().to_string());
    let out = env.run(&["--only", "htaccess", "--format", "json"]);
    out.expect_code(0);
    assert_eq!(json(&out)["checks"][0]["status"], "skip");
}
