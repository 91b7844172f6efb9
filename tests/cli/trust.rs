//! Configuration someone else can write is not trusted: programs are refused from it (78,
//! naming the path and the chmod/chown that fixes it), anything else runs with a warning
//! inside the report — never on stderr.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use crate::testenv::{Output, TestEnv, json, run_command, selftest};

const NOBODY: u32 = 65534;

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(p: &Path, uid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), None).unwrap();
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

const COMMAND: &str = "[[check]]\nid = \"c\"\nkind = \"command\"\ncommand = [\"true\"]\n";

fn refused(out: &Output, needles: &[&str]) {
    out.expect_code(78);
    assert!(out.stdout.is_empty(), "nothing may run: {}", out.stdout);
    for n in needles {
        assert!(out.stderr.contains(n), "missing {n:?} in:\n{}", out.stderr);
    }
}

#[test]
fn a_group_writable_file_may_not_run_programs() {
    let env = TestEnv::new();
    let cfg = env.file("c.toml", COMMAND);
    chmod(&cfg, 0o664);
    let out = env.run(&["--config", "c.toml"]);
    let why = format!("{} is writable by group (mode 0664)", cfg.display());
    let fix = format!("Make it trusted with: chmod go-w {}", cfg.display());
    refused(
        &out,
        &[
            "refusing to run programs",
            "check \"c\" (kind command",
            &why,
            &fix,
        ],
    );
    chmod(&cfg, 0o644);
    env.run(&["--config", "c.toml"]).expect_code(0);
}

#[test]
fn a_directory_others_can_write_is_named() {
    let env = TestEnv::new();
    let cfg = env.file(
        "conf/c.toml",
        "[[check]]\nid = \"t\"\nkind = \"configtest\"\nserver = \"nginx\"\n",
    );
    let dir = env.path().join("conf");
    chmod(&dir, 0o777);
    let out = env.run(&["--config", "conf"]);
    let why = format!(
        "{} is writable by group and others (mode 0777)",
        dir.display()
    );
    refused(
        &out,
        &[
            &why,
            &format!("chmod go-w {}", dir.display()),
            "(or move it to a directory only root can change)",
        ],
    );
    assert!(!out.stderr.contains(&format!("{} is", cfg.display())));
}

#[test]
fn a_file_another_user_owns_in_a_sticky_directory_is_not_trusted() {
    if !is_root() {
        eprintln!("skipped: needs root (to give a file to nobody)");
        return;
    }
    let env = TestEnv::new();
    let tmp = env.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    chmod(&tmp, 0o1777);
    let cfg = tmp.join("c.toml");
    std::fs::write(&cfg, COMMAND).unwrap();
    chmod(&cfg, 0o644);
    chown(&cfg, NOBODY);
    let out = env.run(&["--config", "tmp/c.toml"]);
    let why = format!("{} is owned by nobody (uid 65534), not root", cfg.display());
    refused(&out, &[&why, &format!("chown root:root {}", cfg.display())]);
}

#[test]
fn a_symlink_another_user_owns_is_not_trusted_though_its_target_is() {
    if !is_root() {
        eprintln!("skipped: needs root (to give a symlink to nobody)");
        return;
    }
    let env = TestEnv::new();
    let real = env.file("real.toml", COMMAND);
    let tmp = env.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    chmod(&tmp, 0o1777);
    let link = tmp.join("c.toml");
    symlink(&real, &link).unwrap();
    chown(&link, NOBODY);
    let out = env.run(&["--config", "tmp/c.toml"]);
    let why = format!("{} is a symlink owned by nobody", link.display());
    refused(
        &out,
        &[&why, &format!("chown -h root:root {}", link.display())],
    );
    // The same target through a link root owns is fine.
    std::fs::remove_file(&link).unwrap();
    symlink(&real, &link).unwrap();
    env.run(&["--config", "tmp/c.toml"]).expect_code(0);
}

#[test]
fn a_root_owned_directory_under_sticky_tmp_is_trusted() {
    // TestEnv's directory is root's own 0700 directory under /tmp (1777): programs run.
    let env = TestEnv::new().config(COMMAND);
    let out = env.run(&["--format", "json"]);
    out.expect_code(0);
    assert_eq!(json(&out)["summary"]["total"], 1, "no config-trust warning");
}

#[test]
fn without_programs_the_run_goes_on_with_a_warning_in_every_format() {
    let env = TestEnv::new();
    let cfg = env.file("c.toml", &selftest("a", ""));
    chmod(&cfg, 0o666);
    let out = env.run(&["--config", "c.toml", "--quiet"]);
    out.expect_code(1);
    assert_eq!(out.stderr, "", "cron mails stderr: nothing may go there");
    assert!(out.stdout.contains("config-trust"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains(&format!("fix: chmod go-w {}", cfg.display())),
        "{}",
        out.stdout
    );
    let v = json(&env.run(&["--config", "c.toml", "--format", "json"]));
    assert_eq!(v["checks"][0]["id"], "config-trust");
    assert_eq!(v["checks"][0]["status"], "warn");
    assert_eq!(
        v["checks"][0]["details"][0],
        format!(
            "{} is writable by group and others (mode 0666)",
            cfg.display()
        )
    );
    assert_eq!(v["summary"]["warn"], 1);
    assert_eq!(v["summary"]["total"], 2);
    assert_eq!(v["worst"], "warn");
    for format in ["human", "junit", "tap", "nagios", "prometheus", "github"] {
        let out = env.run(&["--config", "c.toml", "--format", format]);
        out.expect_code(1);
        assert!(
            out.stdout.contains("config-trust"),
            "{format}: {}",
            out.stdout
        );
        assert_eq!(out.stderr, "", "{format}");
    }
    // --fail-on fail lets it through, as any warning.
    env.run(&["--config", "c.toml", "--fail-on", "fail"])
        .expect_code(0);
}

#[test]
fn fix_apply_is_refused_from_a_file_others_can_change() {
    let env = TestEnv::new();
    let root = env.path().join("www");
    std::fs::create_dir(&root).unwrap();
    let file = root.join("a.php");
    std::fs::write(&file, "").unwrap();
    chmod(&file, 0o666);
    let cfg = env.file(
        "c.toml",
        &format!(
            "[[check]]\nid = \"w\"\nkind = \"permissions\"\npath = \"{}\"\n",
            root.display()
        ),
    );
    chmod(&cfg, 0o646);
    let out = env.run(&["fix", "--apply", "--config", "c.toml"]);
    refused(
        &out,
        &["refusing `fix --apply`", "writable by others (mode 0646)"],
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o666, "nothing was changed");
}

#[test]
fn a_plugin_dir_others_can_write_is_refused() {
    let env = TestEnv::new();
    let plugin = env.file("plugins/check_thing", "#!/bin/sh\necho OK\n");
    chmod(&plugin, 0o755);
    let dir = env.path().join("plugins");
    chmod(&dir, 0o775);
    let env = env.config(&format!(
        "[[check]]\nid = \"p\"\nkind = \"plugin\"\nplugin = \"check_thing\"\nplugin_dir = \"{}\"\n",
        dir.display()
    ));
    let out = env.run(&[]);
    let why = format!("{} is writable by group (mode 0775)", dir.display());
    refused(
        &out,
        &[
            "sitedoctor.toml:4:10",
            "refusing to run plugin",
            &why,
            &format!("chmod go-w {}", dir.display()),
        ],
    );
    chmod(&dir, 0o755);
    chmod(&plugin, 0o757);
    refused(&env.run(&[]), &["writable by others (mode 0757)"]);
    chmod(&plugin, 0o755);
    env.run(&[]).expect_code(0);
}

#[test]
fn as_another_user_a_file_root_let_others_write_is_not_trusted_either() {
    if !is_root() || !Path::new("/usr/bin/setpriv").exists() {
        eprintln!("skipped: needs root (to drop to nobody) and setpriv");
        return;
    }
    let env = TestEnv::new();
    chmod(env.path(), 0o755);
    let cfg = env.file("c.toml", COMMAND);
    chmod(&cfg, 0o664);
    let mut c = crate::testenv::as_nobody();
    c.env("SITEDOCTOR_SELFTEST", "1").arg("--config").arg(&cfg);
    refused(&run_command(c), &["writable by group (mode 0664)"]);
    // Root's own files, not writable by others, are trusted by every user.
    chmod(&cfg, 0o644);
    let mut c = crate::testenv::as_nobody();
    c.arg("--config").arg(&cfg);
    run_command(c).expect_code(0);
}

/// A directory and `sitedoctor.toml` owned by nobody (a deploy user), holding `toml`.
fn nobodys_checklist(env: &TestEnv, toml: &str) -> std::path::PathBuf {
    let dir = env.path().join("nd");
    std::fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o755);
    let cfg = dir.join("sitedoctor.toml");
    std::fs::write(&cfg, toml).unwrap();
    chmod(&cfg, 0o644);
    chown(&dir, NOBODY);
    chown(&cfg, NOBODY);
    dir
}

#[test]
fn a_file_another_user_owns_may_not_copy_root_only_files_into_the_report() {
    if !is_root() {
        eprintln!("skipped: needs root (to give a file to nobody)");
        return;
    }
    let env = TestEnv::new();
    let secret = env.file(
        "shadowlike",
        "2024-05-01T10:00:00Z error DB_PASSWORD=hunter2secret\n",
    );
    chmod(&secret, 0o600);
    let toml = format!(
        "[[check]]\nid = \"l\"\nkind = \"log\"\npaths = [\"{}\"]\n",
        secret.display()
    );
    let dir = nobodys_checklist(&env, &toml);
    let mut c = env.command(&["-f", "json", "-o", "out.json"]);
    c.current_dir(&dir);
    let out = run_command(c);
    let cfg = dir.join("sitedoctor.toml");
    refused(
        &out,
        &[
            "sitedoctor.toml: refusing to read files from a file other users can change",
            "check \"l\" (kind log, at sitedoctor.toml:1)",
            "would copy what the files it reads hold into the report",
            "checks that reveal what files hold (log, htaccess, app_deps, env with `from_file`)",
            &format!("{} is owned by nobody (uid 65534), not root", cfg.display()),
            &format!("chown root:root {}", cfg.display()),
        ],
    );
    assert!(!dir.join("out.json").exists(), "no report was written");
}

#[test]
fn every_kind_that_reveals_what_files_hold_is_refused_and_the_rest_warn() {
    if !is_root() {
        eprintln!("skipped: needs root (to give a file to nobody)");
        return;
    }
    let env = TestEnv::new();
    let www = env.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let w = www.display();
    for (kind, fields) in [
        ("htaccess", format!("path = \"{w}\"")),
        (
            "app_deps",
            format!("paths = [\"{w}/.env\"]\nfrom_web_stack = false"),
        ),
        (
            "env",
            format!("vars = [\"DB_PASSWORD\"]\nfrom_file = \"{w}/.env\""),
        ),
    ] {
        let env = TestEnv::new();
        // Another check before it: the whole file is refused, not just that check.
        let toml = format!(
            "{}[[check]]\nid = \"x\"\nkind = \"{kind}\"\n{fields}\n",
            selftest("a", "result = \"pass\"")
        );
        let dir = nobodys_checklist(&env, &toml);
        let mut c = env.command(&[]);
        c.current_dir(&dir);
        refused(
            &run_command(c),
            &[
                "refusing to read files",
                &format!("check \"x\" (kind {kind}, at sitedoctor.toml:5)"),
            ],
        );
    }
    // `env` without `from_file` reads only sitedoctor's own environment: a warning, and it runs.
    let toml = format!(
        "[[check]]\nid = \"e\"\nkind = \"env\"\nvars = [\"PATH\"]\n{}",
        selftest("a", "result = \"pass\"")
    );
    let dir = nobodys_checklist(&env, &toml);
    let mut c = env.command(&["--format", "json"]);
    c.current_dir(&dir);
    let out = run_command(c);
    out.expect_code(1);
    let v = json(&out);
    assert_eq!(v["checks"][0]["id"], "config-trust");
    assert!(
        v["checks"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("checks that run programs or read files are refused"),
        "{v}"
    );
    assert_eq!(v["summary"]["total"], 3);
}

#[test]
fn programs_are_named_first_whatever_the_order() {
    let env = TestEnv::new();
    let cfg = env.file(
        "c.toml",
        &format!(
            "[[check]]\nid = \"l\"\nkind = \"log\"\npaths = [\"/nonexistent.log\"]\n{COMMAND}"
        ),
    );
    chmod(&cfg, 0o666);
    refused(
        &env.run(&["--config", "c.toml"]),
        &[
            "refusing to run programs",
            "check \"c\" (kind command",
            "checks that run programs (command, plugin, configtest)",
        ],
    );
}
