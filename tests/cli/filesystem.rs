//! permissions, world_writable, recent_changes and `fix`, on trees the tests build.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use crate::testenv::{TestEnv, json};

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// A web root with one problem of each kind, beside a clean file.
fn broken_site(env: &TestEnv) -> PathBuf {
    let root = env.path().join("www");
    std::fs::create_dir_all(root.join("uploads")).unwrap();
    std::fs::create_dir_all(root.join("lib")).unwrap();
    for (name, m) in [
        ("index.php", 0o600),
        ("ok.php", 0o644),
        ("config.php", 0o666),
        ("tool", 0o4755),
        ("run.sh", 0o755),
    ] {
        std::fs::write(root.join(name), "<?php\n").unwrap();
        chmod(&root.join(name), m);
    }
    chmod(&root.join("uploads"), 0o777);
    chmod(&root, 0o755);
    chmod(env.path(), 0o755);
    root
}

fn perm_check(root: &Path, extra: &str) -> String {
    format!(
        "[[check]]\nid = \"webroot\"\nkind = \"permissions\"\npath = \"{}\"\nreadable_by = \"nobody\"\n{extra}\n",
        root.display()
    )
}

#[test]
fn permissions_findings_each_with_its_chmod() {
    let env = TestEnv::new();
    let root = broken_site(&env);
    let env = env.config(&perm_check(&root, ""));
    let out = env.run(&["--color", "never"]);
    out.expect_code(2);
    let r = root.display();
    for line in [
        format!("{r}/index.php: nobody cannot read it (0600 (rw-------)"),
        format!("→ chmod 644 {r}/index.php"),
        format!("{r}/config.php: 0666 (rw-rw-rw-) file, policy 644 → chmod 644 {r}/config.php"),
        format!("{r}/uploads: 0777 (rwxrwxrwx) directory, policy 755 → chmod 755 {r}/uploads"),
        format!("{r}/tool: 4755 (rwsr-xr-x) file, policy 644 → chmod 644 {r}/tool"),
        format!("{r}/run.sh: 0755 (rwxr-xr-x) file, policy 644 → chmod 644 {r}/run.sh"),
    ] {
        assert!(
            out.stdout.contains(&line),
            "missing {line:?} in\n{}",
            out.stdout
        );
    }
    assert!(!out.stdout.contains("ok.php"), "a clean file is no finding");
    let v = json(&env.run(&["--format", "json"]));
    let c = &v["checks"][0];
    assert_eq!(c["status"], "fail");
    assert!(c["summary"].as_str().unwrap().starts_with("1 setuid/setgid, 1 unreadable by the web server, 2 world-writable, 1 looser than the policy"), "{}", c["summary"]);
    assert_eq!(c["fix"]["automatic"], true);
}

#[test]
fn a_locked_directory_above_the_root_is_reported_not_fixed() {
    let env = TestEnv::new();
    let home = env.path().join("home");
    let root = home.join("site");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("index.html"), "hi").unwrap();
    chmod(&root.join("index.html"), 0o644);
    chmod(&root, 0o755);
    chmod(&home, 0o700);
    chmod(env.path(), 0o755);
    let env = env.config(&perm_check(&root, ""));
    let out = env.run(&[]);
    out.expect_code(2);
    assert!(
        out.stdout.contains("1 locked out above the root"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("chmod o+x {}", home.display())),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("index.html"),
        "below a locked directory, files are not reported one by one"
    );
    let out = env.run(&["fix", "--apply"]);
    out.expect_code(0);
    assert_eq!(mode(&home), 0o700, "outside the root: never applied");
}

#[test]
fn fix_shows_then_applies_then_has_nothing_left() {
    let env = TestEnv::new();
    let root = broken_site(&env);
    let outside = env.path().join("outside.txt");
    std::fs::write(&outside, "secret").unwrap();
    chmod(&outside, 0o666);
    symlink(&outside, root.join("link.txt")).unwrap();
    symlink(env.path(), root.join("lib/up")).unwrap();
    let env = env.config(&perm_check(&root, ""));

    let out = env.run(&["fix"]);
    out.expect_code(0);
    assert!(
        out.stdout
            .contains(&format!("chmod 644 {}/config.php", root.display())),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("5 change(s) would be made; nothing was changed"),
        "{}",
        out.stdout
    );
    assert_eq!(
        mode(&root.join("config.php")),
        0o666,
        "a dry run changes nothing"
    );

    let out = env.run(&["fix", "--apply"]);
    out.expect_code(0);
    assert!(
        out.stdout.contains("5 change(s) made, 0 not made"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("The affected checks now:") && out.stdout.contains("ok    webroot"),
        "{}",
        out.stdout
    );
    assert_eq!(mode(&root.join("index.php")), 0o644);
    assert_eq!(mode(&root.join("config.php")), 0o644);
    assert_eq!(mode(&root.join("tool")), 0o644);
    assert_eq!(mode(&root.join("uploads")), 0o755);
    assert_eq!(mode(&outside), 0o666, "never through a symlink");

    let out = env.run(&["fix", "--apply"]);
    out.expect_code(0);
    assert!(out.stdout.contains("nothing to fix"), "{}", out.stdout);
    env.run(&[]).expect_code(0);
}

#[test]
fn findings_are_capped_but_counted() {
    let env = TestEnv::new();
    let root = env.path().join("www");
    std::fs::create_dir(&root).unwrap();
    for i in 0..300 {
        let p = root.join(format!("f{i:03}.php"));
        std::fs::write(&p, "").unwrap();
        chmod(&p, 0o664);
    }
    let out = env
        .config(&perm_check(&root, "max_details = 10"))
        .run(&["--format", "json"]);
    out.expect_code(1);
    let c = &json(&out)["checks"][0];
    assert_eq!(
        c["summary"],
        format!("300 looser than the policy under {}", root.display())
    );
    let details: Vec<&str> = c["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(details.len(), 11, "{details:?}");
    assert!(
        details[0].contains("f000.php") && details[9].contains("f009.php"),
        "the first by path: {details:?}"
    );
    assert_eq!(
        details[10],
        "… 290 more looser than the policy not shown (max_details = 10)"
    );
    assert!(
        c["fix"]["text"]
            .as_str()
            .unwrap()
            .starts_with("sitedoctor fix --apply --only webroot    # applies all 300")
    );
}

#[test]
fn missing_root_or_a_file_is_an_error() {
    let env = TestEnv::new();
    let out = env.run(&[
        "--config",
        &env.file("a.toml", &perm_check(Path::new("/no/such/www"), ""))
            .display()
            .to_string(),
    ]);
    out.expect_code(3);
    assert!(
        out.stdout
            .contains("cannot read /no/such/www: No such file or directory"),
        "{}",
        out.stdout
    );
    let file = env.file("plain.txt", "x");
    let out = env.run(&[
        "--config",
        &env.file("b.toml", &perm_check(&file, ""))
            .display()
            .to_string(),
    ]);
    out.expect_code(3);
    assert!(out.stdout.contains("is not a directory"), "{}", out.stdout);
    let out = env.run(&[
        "--config",
        &env.file(
            "c.toml",
            &perm_check(Path::new("/no/such/www"), "missing_ok = true"),
        )
        .display()
        .to_string(),
    ]);
    out.expect_code(0);
    assert!(out.stdout.contains("skip"), "{}", out.stdout);
}

#[test]
fn odd_names_are_escaped_for_people_and_lossless_in_json() {
    use std::os::unix::ffi::OsStrExt;
    let env = TestEnv::new();
    let root = env.path().join("www");
    std::fs::create_dir(&root).unwrap();
    let names: [&[u8]; 3] = [b"caf\xe9.php", b"new\nline.php", b"esc\x1b[2Jape.php"];
    for n in names {
        let p = root.join(std::ffi::OsStr::from_bytes(n));
        std::fs::write(&p, "").unwrap();
        chmod(&p, 0o666);
    }
    let env = env.config(&perm_check(&root, ""));
    let out = env.run(&["--color", "never"]);
    out.expect_code(2);
    assert!(
        !out.stdout.contains('\x1b') && !out.stdout.contains("new\nline"),
        "{:?}",
        out.stdout
    );
    assert!(
        out.stdout.contains("caf\\xe9.php")
            && out.stdout.contains("new\\x0aline.php")
            && out.stdout.contains("esc\\x1b[2Jape.php"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("chmod 644 $'{}/caf\\xe9.php'", root.display())),
        "{}",
        out.stdout
    );
    let v = json(&env.run(&["--format", "json"]));
    let text = v["checks"][0]["details"].to_string();
    assert!(text.contains(r"caf\\xe9.php"), "{text}");
    // The fix printed for a person works in a shell, byte for byte.
    let out = env.run(&["fix"]);
    let cmd = out
        .stdout
        .lines()
        .find(|l| l.contains("caf"))
        .unwrap()
        .split("    #")
        .next()
        .unwrap()
        .to_string();
    let status = std::process::Command::new("bash")
        .arg("-c")
        .arg(&cmd)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        mode(&root.join(std::ffi::OsStr::from_bytes(b"caf\xe9.php"))),
        0o644
    );
}

#[test]
fn symlink_loops_and_a_very_deep_tree() {
    let env = TestEnv::new();
    let root = env.path().join("www");
    std::fs::create_dir(&root).unwrap();
    symlink(&root, root.join("loop")).unwrap();
    symlink("b", root.join("a")).unwrap();
    symlink("a", root.join("b")).unwrap();
    // 10,000 nested directories, built through handles (the path is far beyond PATH_MAX).
    let mut fd = rustix::fs::open(
        &root,
        rustix::fs::OFlags::DIRECTORY,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    for _ in 0..10_000 {
        rustix::fs::mkdirat(&fd, "d", rustix::fs::Mode::from_raw_mode(0o755)).unwrap();
        fd = rustix::fs::openat(
            &fd,
            "d",
            rustix::fs::OFlags::DIRECTORY,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
    }
    rustix::fs::openat(
        &fd,
        "deep.php",
        rustix::fs::OFlags::CREATE | rustix::fs::OFlags::WRONLY,
        rustix::fs::Mode::from_raw_mode(0o666),
    )
    .unwrap();
    rustix::fs::chmodat(
        &fd,
        "deep.php",
        rustix::fs::Mode::from_raw_mode(0o666),
        rustix::fs::AtFlags::empty(),
    )
    .unwrap();
    drop(fd);
    let out = env
        .config(&perm_check(&root, "timeout = \"60s\""))
        .run(&["--format", "json"]);
    let c = &json(&out)["checks"][0];
    assert_eq!(c["status"], "fail", "{c}");
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .starts_with("1 world-writable"),
        "{c}"
    );
    assert!(
        c["details"][0]
            .as_str()
            .unwrap()
            .contains("/deep.php: 0666"),
        "{c}"
    );
    let entries = c["metrics"][0]["value"].as_f64().unwrap();
    assert_eq!(
        entries, 10_005.0,
        "root, 3 symlinks, 10,000 directories and the file"
    );
    // std's remove_dir_all recurses; rm -rf does not mind the depth.
    assert!(
        std::process::Command::new("rm")
            .arg("-rf")
            .arg(&root)
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn files_vanishing_during_the_scan_are_no_error() {
    let env = TestEnv::new();
    let root = env.path().join("www");
    std::fs::create_dir(&root).unwrap();
    let env = env.config(&perm_check(&root, ""));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let (root, stop) = (root.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut rounds = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && rounds < 10_000 {
                let d = root.join(format!("d{}", rounds % 7));
                let _ = std::fs::create_dir(&d);
                for i in 0..20 {
                    let _ = std::fs::write(d.join(format!("f{i}")), "");
                }
                let _ = std::fs::remove_dir_all(&d);
                rounds += 1;
            }
        })
    };
    for _ in 0..20 {
        let out = env.run(&["--format", "json"]);
        let c = &json(&out)["checks"][0];
        assert_eq!(c["status"], "pass", "{c}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    churn.join().unwrap();
}

#[test]
fn unreadable_directories_as_an_unprivileged_user_are_findings_and_the_scan_goes_on() {
    if !nix::unistd::geteuid().is_root() || !Path::new("/usr/bin/setpriv").exists() {
        eprintln!("skipped: needs root (to drop to nobody) and setpriv");
        return;
    }
    let env = TestEnv::new();
    let root = env.path().join("www");
    std::fs::create_dir_all(root.join("private")).unwrap();
    std::fs::create_dir_all(root.join("public")).unwrap();
    std::fs::write(root.join("public/bad.php"), "").unwrap();
    chmod(&root.join("public/bad.php"), 0o666);
    chmod(&root.join("private"), 0o700);
    chmod(&root.join("public"), 0o755);
    chmod(&root, 0o755);
    chmod(env.path(), 0o755);
    let cfg = env.file("c.toml", &perm_check(&root, ""));
    chmod(&cfg, 0o644);
    let mut c = crate::testenv::as_nobody();
    c.args(["--format", "json", "--config"]).arg(&cfg);
    let out = crate::testenv::run_command(c);
    let v = json(&out);
    let text = v["checks"][0].to_string();
    assert!(
        text.contains("private: cannot read")
            && text.contains("permission denied (run as root to check below it)"),
        "{text}"
    );
    assert!(
        text.contains("public/bad.php: 0666"),
        "the scan went on: {text}"
    );
    assert_eq!(v["checks"][0]["status"], "fail");
}

#[test]
fn world_writable_files_and_unsticky_directories() {
    let env = TestEnv::new();
    let root = env.path().join("srv");
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    std::fs::create_dir_all(root.join("drop")).unwrap();
    std::fs::write(root.join("app.conf"), "").unwrap();
    std::fs::write(root.join("fine.conf"), "").unwrap();
    chmod(&root.join("app.conf"), 0o646);
    chmod(&root.join("fine.conf"), 0o664);
    chmod(&root.join("tmp"), 0o1777);
    chmod(&root.join("drop"), 0o777);
    let cfg = format!(
        "[[check]]\nid = \"ww\"\nkind = \"world_writable\"\npaths = [\"{}\"]\n",
        root.display()
    );
    let env = env.config(&cfg);
    let out = env.run(&["--format", "json"]);
    out.expect_code(2);
    let c = &json(&out)["checks"][0];
    assert_eq!(
        c["summary"],
        format!("2 world-writable under {}", root.display())
    );
    let d = c["details"].to_string();
    assert!(
        d.contains("app.conf: 0646")
            && d.contains("drop: 0777 (rwxrwxrwx) directory without the sticky bit"),
        "{d}"
    );
    assert!(!d.contains("srv/tmp") && !d.contains("fine.conf"), "{d}");
    env.run(&["fix", "--apply"]).expect_code(0);
    assert_eq!(mode(&root.join("app.conf")), 0o644);
    assert_eq!(mode(&root.join("drop")), 0o775, "only o+w is removed");
    assert_eq!(mode(&root.join("tmp")), 0o1777);
}

#[test]
fn recent_changes_newest_first() {
    let env = TestEnv::new();
    let root = env.path().join("www");
    std::fs::create_dir_all(root.join("cache")).unwrap();
    std::fs::write(root.join("old.php"), "").unwrap();
    std::fs::write(root.join("new.php"), "12345").unwrap();
    std::fs::write(root.join("newer.php"), "").unwrap();
    std::fs::write(root.join("cache/x"), "").unwrap();
    let now = std::time::SystemTime::now();
    let set = |p: &str, ago: u64| {
        let f = std::fs::File::options()
            .write(true)
            .open(root.join(p))
            .unwrap();
        f.set_modified(now - std::time::Duration::from_secs(ago))
            .unwrap();
    };
    set("old.php", 3 * 86400);
    set("new.php", 3600);
    set("newer.php", 60);
    let cfg = format!(
        "[[check]]\nid = \"changes\"\nkind = \"recent_changes\"\npath = \"{}\"\nexclude = [\"cache\"]\n",
        root.display()
    );
    let env = env.config(&cfg);
    let out = env.run(&["--format", "json"]);
    out.expect_code(0);
    let c = &json(&out)["checks"][0];
    assert_eq!(
        c["summary"],
        format!(
            "2 file(s) under {} changed in the last 1 day",
            root.display()
        )
    );
    let d: Vec<&str> = c["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert_eq!(d.len(), 2, "{d:?}");
    let shown = root.display();
    assert!(
        d[0].starts_with(&format!("{shown}/newer.php modified 1 min ago (")),
        "{d:?}"
    );
    assert!(
        d[1].starts_with(&format!("{shown}/new.php modified 1 h ago ("))
            && d[1].ends_with("), 5 B"),
        "{d:?}"
    );
    // Each change is a finding about its file: not a problem where changes are expected,
    // and outside a git checkout there is no commit to name.
    let f = &c["findings"][0];
    assert_eq!(
        f["subject"],
        serde_json::json!({"type": "path", "path": format!("{shown}/newer.php")})
    );
    assert_eq!(
        (f["cause"].as_str(), f["status"].as_str()),
        (Some("deploy"), Some("pass"))
    );
    assert_eq!(f["text"], d[0]);
    assert!(f["fix"].is_null(), "{f}");
    let cfg = format!(
        "[[check]]\nid = \"changes\"\nkind = \"recent_changes\"\npath = \"{}\"\nwindow = \"2h\"\nwarn_if_changed = true\n",
        root.display()
    );
    let out = TestEnv::new().config(&cfg).run(&[]);
    out.expect_code(1);
}

#[test]
fn recent_changes_in_a_checkout_name_the_git_commands_without_running_git() {
    let env = TestEnv::new();
    let app = env.path().join("app");
    std::fs::create_dir_all(app.join(".git")).unwrap();
    // A repository configuration that would run a program if anything ran git in it.
    let marker = env.path().join("git-ran");
    std::fs::write(
        app.join(".git/config"),
        format!("[core]\n\tfsmonitor = touch {}\n", marker.display()),
    )
    .unwrap();
    env.file("app/public/index.php", "<?php echo 1;");
    let cfg = format!(
        "[[check]]\nid = \"changes\"\nkind = \"recent_changes\"\npath = \"{}/public\"\nwarn_if_changed = true\n",
        app.display()
    );
    let out = env.config(&cfg).run(&["--format", "json"]);
    out.expect_code(1);
    let c = &json(&out)["checks"][0];
    let f = &c["findings"][0];
    assert_eq!(
        (f["cause"].as_str(), f["status"].as_str()),
        (Some("deploy"), Some("warn"))
    );
    let a = app.display();
    assert_eq!(
        f["fix"]["text"],
        format!(
            "git -C {a} log -1 --format='%h %an %ar %s' -- public/index.php    # the last commit that changed it\n\
             git -C {a} checkout HEAD~1 -- public/index.php    # to take it back to the commit before"
        )
    );
    // The commands are shown, not run.
    assert!(!marker.exists());
    // The evidence line is the sentence; the commands are the finding's fix.
    assert_eq!(c["details"][0], f["text"]);
}

#[test]
fn owner_and_group_expectations() {
    let env = TestEnv::new();
    let root = env.path().join("www");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("a.php"), "").unwrap();
    chmod(&root.join("a.php"), 0o644);
    chmod(&root, 0o755);
    let me = nix::unistd::getuid().as_raw();
    let other = if me == 0 { "nobody" } else { "root" };
    let cfg = format!(
        "[[check]]\nid = \"own\"\nkind = \"permissions\"\npath = \"{}\"\nowner = \"{other}\"\n",
        root.display()
    );
    let out = env.config(&cfg).run(&["--format", "json"]);
    out.expect_code(1);
    let c = &json(&out)["checks"][0];
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .starts_with("2 with another owner or group"),
        "{c}"
    );
    assert!(
        c["details"]
            .to_string()
            .contains(&format!("chown {other} {}/a.php", root.display())),
        "{c}"
    );
    assert_eq!(c["fix"]["automatic"], false, "ownership is changed by hand");
    let cfg = format!(
        "[[check]]\nid = \"own\"\nkind = \"permissions\"\npath = \"{}\"\nowner = \"no-such-user-xyz\"\n",
        root.display()
    );
    let out = TestEnv::new().config(&cfg).run(&[]);
    out.expect_code(3);
    assert!(
        out.stdout
            .contains("owner: no user \"no-such-user-xyz\" on this host"),
        "{}",
        out.stdout
    );
}
