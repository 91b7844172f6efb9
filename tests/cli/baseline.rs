//! `snapshot` and `diff`: every kind of change is found (a content change with its mtime set
//! back, modes, owners, added and removed files, the changed lines), a damaged or unknown
//! snapshot is refused and left alone, and no secret reaches an output or the snapshot.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::testenv::{Output, TestEnv, json};

/// A site under `www/` with a permissions check on it, snapshots under `state/`.
fn site() -> (TestEnv, PathBuf) {
    let env = TestEnv::new();
    let www = env.path().join("www");
    let state = env.path().join("state");
    let env = env.env("SITEDOCTOR_STATE_DIR", state.to_str().unwrap());
    // The host's listeners come from a /proc of the test's own, with none: other tests start
    // and stop servers on this machine, which must not show as changes here.
    let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
    env.file("proc/net/tcp", header);
    env.file("proc/net/tcp6", header);
    let proc = env.path().join("proc");
    let env = env.env("SITEDOCTOR_PROC", proc.to_str().unwrap());
    let toml = format!(
        "[[check]]\nid = \"webroot\"\nkind = \"permissions\"\npath = \"{}\"\n",
        www.display()
    );
    let env = env.config(&toml);
    env.file("www/index.php", "<?php\nrequire 'cart.php';\n");
    env.file(
        "www/cart.php",
        "<?php\n$a = 1;\n$b = 2;\n$c = 3;\n$d = 4;\n$e = 5;\n$f = 6;\n$g = 7;\n",
    );
    env.file("www/css/site.css", "body {}\n");
    (env, www)
}

fn snapshot(env: &TestEnv) {
    env.run(&["snapshot"]).expect_code(0);
}

fn state(env: &TestEnv) -> PathBuf {
    env.path().join("state")
}

/// The only snapshot file.
fn snapshot_file(env: &TestEnv) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(state(env))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "snapshot"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.pop().unwrap()
}

/// The findings' texts of a `diff --format json`.
fn changes(out: &Output) -> Vec<String> {
    json(out)["checks"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap().to_string())
        .collect()
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn nothing_changed_exits_0_and_the_snapshot_is_private() {
    let (env, _) = site();
    snapshot(&env);
    let out = env.run(&["diff"]);
    out.expect_code(0);
    assert!(
        out.stdout.contains("nothing changed since snapshot"),
        "{}",
        out.stdout
    );
    let meta = std::fs::metadata(snapshot_file(&env)).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let key = std::fs::metadata(state(&env).join("key")).unwrap();
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_content_change_with_its_mtime_set_back_is_found_with_its_lines() {
    let (env, www) = site();
    snapshot(&env);
    let cart = www.join("cart.php");
    let mtime = std::fs::metadata(&cart).unwrap().modified().unwrap();
    // Same size, same mtime: only the content (and the ctime nobody can set back) differ.
    std::fs::write(
        &cart,
        "<?php\n$a = 1;\n$B = 2;\n$C = 3;\n$d = 4;\n$e = 5;\n$f = 6;\n$G = 7;\n",
    )
    .unwrap();
    std::fs::File::options()
        .write(true)
        .open(&cart)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(std::fs::metadata(&cart).unwrap().modified().unwrap(), mtime);
    let out = env.run(&["diff", "--format", "json"]);
    out.expect_code(1);
    let got = changes(&out);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0],
        format!(
            "{} changed: content changed, lines 3-4, 8 (its modification time was set back: only the hash and the inode's change time show it)",
            cart.display()
        )
    );
    let finding = &json(&out)["checks"][0]["findings"][0];
    assert_eq!(finding["subject"]["type"], "path");
    assert_eq!(finding["subject"]["path"], cart.display().to_string());
}

#[test]
fn a_mode_change_comes_with_the_chmod_that_restores_it() {
    let (env, www) = site();
    snapshot(&env);
    chmod(&www.join("index.php"), 0o600);
    let out = env.run(&["diff"]);
    out.expect_code(1);
    let index = www.join("index.php").display().to_string();
    assert!(
        out.stdout.contains(&format!(
            "{index} changed: mode 0644 → 0600 → chmod 644 {index}"
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn an_owner_change_comes_with_the_chown_that_restores_it() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: changing an owner needs root");
        return;
    }
    let (env, www) = site();
    snapshot(&env);
    let css = www.join("css/site.css");
    std::os::unix::fs::chown(&css, Some(4242), Some(4343)).unwrap();
    let out = env.run(&["diff", "--format", "json"]);
    out.expect_code(1);
    let f = &json(&out)["checks"][0]["findings"][0];
    assert_eq!(
        f["text"],
        format!("{} changed: owner 0:0 → 4242:4343", css.display())
    );
    assert_eq!(f["fix"]["text"], format!("chown 0:0 {}", css.display()));
    assert_eq!(f["cause"], "permissions");
}

#[test]
fn added_and_removed_files_and_trees_ranked_code_first() {
    let (env, www) = site();
    env.file("www/lib/old.php", "<?php\n");
    env.file("www/lib/old2.php", "<?php\n");
    snapshot(&env);
    std::fs::remove_dir_all(www.join("lib")).unwrap();
    std::fs::remove_file(www.join("css/site.css")).unwrap();
    env.file("www/new.php", "<?php\n");
    env.file("www/logo.svg", "<svg/>");
    let out = env.run(&["diff", "--format", "json"]);
    out.expect_code(1);
    let w = www.display();
    assert_eq!(
        changes(&out),
        [
            format!(
                "{w}/new.php: added since the snapshot (file, mode 0644, owner {}:{})",
                uid(),
                gid()
            ),
            format!("{w}/lib: removed since the snapshot (directory with 2 entries)"),
            format!(
                "{w}/logo.svg: added since the snapshot (file, mode 0644, owner {}:{})",
                uid(),
                gid()
            ),
            format!("{w}/css/site.css: removed since the snapshot (file)"),
        ]
    );
}

fn uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

fn gid() -> u32 {
    nix::unistd::getegid().as_raw()
}

#[test]
fn a_corrupted_or_truncated_snapshot_is_refused_and_left_alone() {
    let (env, _) = site();
    snapshot(&env);
    let file = snapshot_file(&env);
    let good = std::fs::read(&file).unwrap();
    let mut flipped = good.clone();
    // In the records (the line hashes follow them, apart: see the next test).
    let i = good.len() - extras_len(&good) - 40;
    flipped[i] ^= 0x55;
    for (bytes, why) in [
        (flipped, "truncated or corrupted"),
        (good[..good.len() - 10].to_vec(), "truncated or corrupted"),
        (good[..25].to_vec(), "truncated: the header is incomplete"),
    ] {
        std::fs::write(&file, &bytes).unwrap();
        let out = env.run(&["diff"]);
        out.expect_code(78);
        assert!(
            out.stderr.contains(&file.display().to_string()),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains(why), "{}", out.stderr);
        assert_eq!(std::fs::read(&file).unwrap(), bytes, "the file was changed");
    }
}

/// The length of a snapshot's extras (its line hashes), from its header.
fn extras_len(snapshot: &[u8]) -> usize {
    let header = snapshot.split(|&b| b == b'\n').nth(1).unwrap();
    let header: serde_json::Value = serde_json::from_slice(header).unwrap();
    header["extras"]["len"].as_u64().unwrap() as usize
}

#[test]
fn damaged_line_hashes_lose_only_the_changed_lines_and_say_so() {
    let (env, www) = site();
    snapshot(&env);
    let file = snapshot_file(&env);
    let mut bytes = std::fs::read(&file).unwrap();
    assert!(extras_len(&bytes) > 0);
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&file, &bytes).unwrap();
    // Not needed when nothing changed, nor for a mode or a removal: not read.
    env.run(&["diff"]).expect_code(0);
    std::fs::set_permissions(
        www.join("index.php"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    std::fs::remove_file(www.join("css/site.css")).unwrap();
    let out = env.run(&["diff"]);
    out.expect_code(1);
    assert!(!out.stdout.contains("line hashes"), "{}", out.stdout);
    // Needed for a content change: it is shown without its lines, and that is said.
    std::fs::write(www.join("cart.php"), "<?php\n$a = 2;\n").unwrap();
    let out = env.run(&["diff"]);
    out.expect_code(3);
    assert!(
        out.stdout.contains("cart.php changed: content changed"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("line 2"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("line hashes could not be read (their hash does not match the header's)"),
        "{}",
        out.stdout
    );
    assert_eq!(std::fs::read(&file).unwrap(), bytes, "the file was changed");
}

#[test]
fn a_snapshot_of_an_unknown_version_is_named_as_such() {
    let (env, _) = site();
    std::fs::create_dir_all(state(&env)).unwrap();
    let file = state(&env).join("20990101T000000Z.snapshot");
    std::fs::write(
        &file,
        "sitedoctor-baseline\n{\"version\":99,\"name\":\"x\"}\nrest",
    )
    .unwrap();
    let out = env.run(&["diff"]);
    out.expect_code(78);
    assert!(
        out.stderr.contains(
            "format version 99, which this sitedoctor does not know (it reads versions 1 to 2)"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn no_snapshot_is_a_configuration_error() {
    let (env, _) = site();
    let out = env.run(&["diff"]);
    out.expect_code(78);
    assert!(out.stderr.contains("no snapshot in"), "{}", out.stderr);
}

#[test]
fn list_prune_and_since_choose_among_several() {
    let (env, www) = site();
    snapshot(&env);
    env.file("www/second.php", "<?php\n");
    snapshot(&env);
    env.file("www/third.php", "<?php\n");
    snapshot(&env);
    let list = env.run(&["snapshot", "--list", "--format", "json"]);
    list.expect_code(0);
    let names: Vec<String> = json(&list)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    // Against the first: both later files are new; against the newest: nothing.
    let first = env.run(&["diff", "--since", &names[0], "--format", "json"]);
    first.expect_code(1);
    assert_eq!(changes(&first).len(), 2, "{:?}", changes(&first));
    env.run(&["diff"]).expect_code(0);
    // A time: the newest at or before it; none before 2000.
    env.run(&["diff", "--since", "2099-01-01"]).expect_code(0);
    let before = env.run(&["diff", "--since", "2000-01-01"]);
    before.expect_code(78);
    assert!(
        before
            .stderr
            .contains("no snapshot was taken at or before 2000-01-01"),
        "{}",
        before.stderr
    );
    let bad = env.run(&["diff", "--since", "yesterday-ish"]);
    bad.expect_code(78);
    assert!(bad.stderr.contains(&names[0]), "{}", bad.stderr);
    let pruned = env.run(&["snapshot", "--prune", "1"]);
    pruned.expect_code(0);
    assert!(
        pruned
            .stdout
            .contains(&format!("removed {}, {}", names[0], names[1])),
        "{}",
        pruned.stdout
    );
    let text = env.run(&["snapshot", "--list"]);
    assert_eq!(text.stdout.lines().count(), 1, "{}", text.stdout);
    assert!(text.stdout.starts_with(&names[2]), "{}", text.stdout);
    let _ = www;
}

#[test]
fn a_failing_state_is_not_recorded_without_force() {
    let (env, www) = site();
    chmod(&www.join("index.php"), 0o666);
    let out = env.run(&["snapshot"]);
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("not recording a snapshot: 1 check is failing (webroot)"),
        "{}",
        out.stderr
    );
    assert!(
        !state(&env).join("key").exists() || std::fs::read_dir(state(&env)).unwrap().count() == 1
    );
    let forced = env.run(&["snapshot", "--force"]);
    forced.expect_code(0);
    let diff = env.run(&["diff"]);
    diff.expect_code(0);
    assert!(
        diff.stdout
            .contains("recorded with --force while checks failed"),
        "{}",
        diff.stdout
    );
}

#[test]
fn no_secret_value_reaches_an_output_or_the_snapshot() {
    let (env, www) = site();
    let secret = "s3cr3t-Value-9f8e7d";
    let newer = "n3wer-Secret-1a2b3c";
    env.file("www/.env", &format!("APP_ENV=prod\nDB_PASSWORD={secret}\n"));
    env.run(&["snapshot", "--keep-content"]).expect_code(0);
    let bytes = std::fs::read(snapshot_file(&env)).unwrap();
    assert!(
        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the snapshot holds the secret"
    );
    std::fs::write(
        www.join(".env"),
        format!("APP_ENV=prod\nDB_PASSWORD={newer}\n"),
    )
    .unwrap();
    for format in sitedoctor::render::names() {
        let out = env.run(&["diff", "--format", format]);
        out.expect_code(1);
        for s in [secret, newer] {
            assert!(
                !out.stdout.contains(s) && !out.stderr.contains(s),
                "{format}: {}",
                out.stdout
            );
        }
        assert!(out.stdout.contains(".env"), "{format}: {}", out.stdout);
    }
    let out = env.run(&["diff", "--format", "json"]);
    assert_eq!(
        changes(&out),
        [format!(
            "{}/.env changed: content changed, line 2",
            www.display()
        )]
    );
}

#[test]
fn keep_content_shows_the_old_lines() {
    let (env, www) = site();
    env.run(&["snapshot", "--keep-content"]).expect_code(0);
    std::fs::write(www.join("index.php"), "<?php\nrequire 'kart.php';\n").unwrap();
    let out = env.run(&["diff"]);
    out.expect_code(1);
    assert!(
        out.stdout.contains("line 2 was: require 'cart.php';"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_baseline_kind_skips_without_a_snapshot_and_reports_changes_with_one() {
    let (env, www) = site();
    let toml = format!(
        "[[check]]\nid = \"webroot\"\nkind = \"permissions\"\npath = \"{}\"\n\n[[check]]\nid = \"since-good\"\nkind = \"baseline\"\nbaseline = \"{}\"\n",
        www.display(),
        state(&env).display()
    );
    let env = env.config(&toml);
    let out = env.run(&["--only", "since-good", "--format", "json"]);
    out.expect_code(0);
    assert_eq!(json(&out)["checks"][0]["status"], "skip");
    snapshot(&env);
    env.run(&["--only", "since-good"]).expect_code(0);
    std::fs::write(www.join("cart.php"), "<?php\nbroken(\n").unwrap();
    let out = env.run(&["--only", "since-good", "--format", "json"]);
    out.expect_code(1);
    let check = &json(&out)["checks"][0];
    assert_eq!(check["status"], "warn");
    assert_eq!(
        check["findings"][0]["subject"]["path"],
        www.join("cart.php").display().to_string()
    );
    assert_eq!(check["findings"][0]["cause"], "deploy");
}

#[test]
fn a_fatal_in_a_file_changed_since_the_snapshot_is_linked_to_that_change() {
    let (env, www) = site();
    snapshot(&env);
    let cart = www.join("cart.php");
    std::fs::write(
        &cart,
        "<?php\n$a = 1;\n$b = 2;\n$c = 3;\n$d = (;\n$e = 5;\n$f = 6;\n$g = 7;\n",
    )
    .unwrap();
    let now = chrono::Local::now().format("[%d-%b-%Y %H:%M:%S]");
    let log = env.file(
        "php8.2-fpm.log",
        &format!(
            "{now} WARNING: [pool www] child 12 said into stderr: \"PHP Parse error:  syntax error, unexpected token \";\" in {} on line 5\"\n",
            cart.display()
        ),
    );
    let toml = format!(
        "[[check]]\nid = \"errors\"\nkind = \"log\"\npaths = [\"{}\"]\n\n[[check]]\nid = \"since-good\"\nkind = \"baseline\"\nbaseline = \"{}\"\n",
        log.display(),
        state(&env).display()
    );
    let env = env.config(&toml);
    let v = json(&env.run(&["--format", "json"]));
    let first = &v["diagnosis"][0];
    assert_eq!(
        first["rule"], "fatal-in-file-changed-since-snapshot",
        "{v:#}"
    );
    assert_eq!(first["linked"], true);
    assert!(
        first["headline"]
            .as_str()
            .unwrap()
            .starts_with("cart.php changed since the last good snapshot ("),
        "{first:#}"
    );
    assert!(
        first["headline"]
            .as_str()
            .unwrap()
            .contains(") and now fails at line 5: "),
        "{first:#}"
    );
    let checks: Vec<&str> = first["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["errors", "since-good"]);
}

#[test]
fn a_name_that_is_not_utf8_is_recorded_and_shown_losslessly() {
    use std::os::unix::ffi::OsStrExt;
    let (env, www) = site();
    let odd = www.join(std::ffi::OsStr::from_bytes(b"caf\xe9.php"));
    std::fs::write(&odd, "<?php\n").unwrap();
    snapshot(&env);
    env.run(&["diff"]).expect_code(0);
    chmod(&odd, 0o640);
    let out = env.run(&["diff", "--format", "json"]);
    out.expect_code(1);
    let f = &json(&out)["checks"][0]["findings"][0];
    assert_eq!(
        f["subject"]["path"],
        format!("{}/caf\\xe9.php", www.display())
    );
    assert_eq!(
        f["fix"]["text"],
        format!("chmod 644 $'{}/caf\\xe9.php'", www.display())
    );
}

/// An executable at `p`, installed by a child process: this test process never holds it open
/// for writing, so a fork by another test's thread cannot make running it fail with "text
/// file busy".
fn executable(p: &Path, body: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let src = p.with_extension("src");
    std::fs::write(&src, body).unwrap();
    let ok = std::process::Command::new("install")
        .args(["-m", "755"])
        .arg(&src)
        .arg(p)
        .status()
        .unwrap();
    assert!(ok.success());
    std::fs::remove_file(src).unwrap();
}

/// The site with a host beside it: the real nginx testing a configuration under a sysroot
/// (through a wrapper that names its files as the host does, without the sysroot), an app
/// dotenv outside the web root read by an `env` check, a Composer app in the web root with
/// vendor/ installed as locked, and a `baseline` check. None when nginx is not installed.
struct Host {
    env: TestEnv,
    www: PathBuf,
    sysroot: PathBuf,
    dotenv: PathBuf,
}

const OLD_SECRET: &str = "base64:0ld-S3cret-q7w8e9";
const NEW_SECRET: &str = "base64:n3w-S3cret-z1x2c3";
const DB_SECRET: &str = "hunter2-Db-Pa55";

fn host_site(configtest: bool) -> Option<Host> {
    if !Path::new("/usr/sbin/nginx").exists() {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v != "true"),
            "nginx is not installed (.ci/run installs it)"
        );
        eprintln!("skipped: no nginx here");
        return None;
    }
    let (env, www) = site();
    let sysroot = env.path().join("sysroot");
    let prefix = env.path().join("nginx");
    std::fs::create_dir_all(prefix.join("tmp")).unwrap();
    let p = prefix.display();
    env.file(
        "sysroot/etc/nginx/nginx.conf",
        &format!(
            "pid {p}/nginx.pid;\nerror_log {p}/error.log;\nevents {{ worker_connections 16; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {p}/tmp;\n  proxy_temp_path {p}/tmp;\n  fastcgi_temp_path {p}/tmp;\n  uwsgi_temp_path {p}/tmp;\n  scgi_temp_path {p}/tmp;\n  include sites-enabled/*;\n}}\n"
        ),
    );
    env.file(
        "sysroot/etc/nginx/sites-enabled/shop",
        "server {\n  listen 127.0.0.1:8089;\n  server_name shop;\n}\n",
    );
    let s = sysroot.display();
    executable(
        &sysroot.join("usr/sbin/nginx"),
        &format!(
            "#!/bin/sh\nout=$(/usr/sbin/nginx -p {p}/ -e {p}/error.log -c {s}/etc/nginx/nginx.conf \"$@\" 2>&1); code=$?\nprintf '%s\\n' \"$out\" | sed 's|{s}||g' >&2\nexit $code\n"
        ),
    );
    let dotenv = env.file(
        "app/.env",
        &format!("APP_KEY={OLD_SECRET}\nDB_PASSWORD={DB_SECRET}\nMAIL_HOST=mail\n"),
    );
    env.file(
        "www/composer.json",
        "{\"require\": {\"monolog/monolog\": \"^3\"}}\n",
    );
    env.file("www/composer.lock", &composer_lock("3.5.0"));
    env.file(
        "www/vendor/composer/installed.json",
        &composer_lock("3.5.0"),
    );
    env.file("www/vendor/monolog/monolog/README.md", "monolog\n");
    let nginx_check = if configtest {
        "[[check]]\nid = \"nginx-config\"\nkind = \"configtest\"\nserver = \"nginx\"\n\n"
    } else {
        ""
    };
    let toml = format!(
        "[[check]]\nid = \"webroot\"\nkind = \"permissions\"\npath = \"{}\"\n\n[[check]]\nid = \"app-env\"\nkind = \"env\"\nvars = [\"APP_KEY\"]\nfrom_file = \"{}\"\n\n{nginx_check}[[check]]\nid = \"since-good\"\nkind = \"baseline\"\nbaseline = \"{}\"\n",
        www.display(),
        dotenv.display(),
        state(&env).display()
    );
    let env = env
        .env("SITEDOCTOR_SYSROOT", sysroot.to_str().unwrap())
        .config(&toml);
    Some(Host {
        env,
        www,
        sysroot,
        dotenv,
    })
}

fn composer_lock(version: &str) -> String {
    format!(
        "{{\"packages\": [{{\"name\": \"monolog/monolog\", \"version\": \"{version}\", \"type\": \"library\"}}]}}\n"
    )
}

impl Host {
    /// The deploy that broke it: an env var lost, another's value changed, a typo in the
    /// nginx site, a lockfile bumped without `composer install`.
    fn break_it(&self) {
        std::fs::write(
            &self.dotenv,
            format!("APP_KEY={NEW_SECRET}\nMAIL_HOST=mail\n"),
        )
        .unwrap();
        std::fs::write(
            self.sysroot.join("etc/nginx/sites-enabled/shop"),
            "server {\n  listen 127.0.0.1:8089;\n  sever_name shop;\n}\n",
        )
        .unwrap();
        std::fs::write(self.www.join("composer.lock"), composer_lock("3.6.0")).unwrap();
    }

    /// The `baseline` check of a checklist run, as JSON.
    fn check(&self, out: &Output) -> serde_json::Value {
        json(out)["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "since-good")
            .unwrap_or_else(|| panic!("no baseline check: {}", out.stdout))
            .clone()
    }
}

fn texts(check: &serde_json::Value) -> Vec<String> {
    check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_baseline_kind_finds_the_host_changes_diff_finds() {
    let Some(h) = host_site(false) else { return };
    snapshot(&h.env);
    let calm = h.env.run(&["--only", "since-good", "--format", "json"]);
    calm.expect_code(0);
    assert_eq!(h.check(&calm)["status"], "pass", "{}", calm.stdout);
    h.break_it();

    let diff = h.env.run(&["diff", "--format", "json"]);
    diff.expect_code(1);
    let kind = h.env.run(&["--only", "since-good", "--format", "json"]);
    kind.expect_code(1);
    let check = h.check(&kind);
    assert_eq!(check["status"], "warn");
    let found = texts(&check);
    assert_eq!(found, changes(&diff), "the kind says what diff says");
    let dotenv = h.dotenv.display();
    let lock = h.www.join("composer.lock").display().to_string();
    assert_eq!(
        found,
        [
            "nginx -t changed: passed at the snapshot, fails now: nginx: [emerg] unknown directive \"sever_name\" in /etc/nginx/sites-enabled/shop:3".to_string(),
            format!("DB_PASSWORD removed: no longer set in {dotenv}"),
            format!("APP_KEY changed: value changed in {dotenv}"),
            format!("{lock} changed: composer.lock changed but vendor/ did not follow (run: composer install --no-dev)"),
            "/etc/nginx/sites-enabled/shop changed: nginx configuration changed".to_string(),
            format!("{lock} changed: content changed, line 1"),
        ]
    );
    // The failing test is located at its file and line, a failure among the changes.
    let test = &check["findings"][0];
    assert_eq!(test["status"], "fail");
    assert_eq!(test["cause"], "config");
    assert_eq!(test["subject"]["path"], "/etc/nginx/sites-enabled/shop");
    assert_eq!(test["subject"]["line"], 3);

    // No value, old or new, in any output of either.
    for format in sitedoctor::render::names() {
        for out in [
            h.env.run(&["diff", "--format", format]),
            h.env.run(&["--only", "since-good", "--format", format]),
        ] {
            for s in [OLD_SECRET, NEW_SECRET, DB_SECRET] {
                assert!(
                    !out.stdout.contains(s) && !out.stderr.contains(s),
                    "{format}: {}",
                    out.stdout
                );
            }
        }
    }
    let bytes = std::fs::read(snapshot_file(&h.env)).unwrap();
    for s in [OLD_SECRET, DB_SECRET] {
        assert!(!bytes.windows(s.len()).any(|w| w == s.as_bytes()));
    }
}

#[test]
fn what_the_kind_cannot_read_again_makes_it_an_error_as_diff_exits_3() {
    let Some(h) = host_site(false) else { return };
    snapshot(&h.env);
    // The dotenv is a directory now: its variables cannot be compared.
    std::fs::remove_file(&h.dotenv).unwrap();
    std::fs::create_dir(&h.dotenv).unwrap();
    std::fs::write(h.www.join("cart.php"), "<?php\nbroken(\n").unwrap();
    let diff = h.env.run(&["diff", "--format", "json"]);
    diff.expect_code(3);
    let kind = h.env.run(&["--only", "since-good", "--format", "json"]);
    kind.expect_code(3);
    let check = h.check(&kind);
    assert_eq!(check["status"], "error");
    assert_eq!(json(&diff)["checks"][0]["status"], "error");
    let summary = check["summary"].as_str().unwrap();
    assert!(
        summary.contains("only part could be compared (1 part)"),
        "{summary}"
    );
    // What could be compared still is; what could not is said, not "all removed".
    let found = texts(&check);
    assert_eq!(found, changes(&diff));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("cart.php changed"), "{found:?}");
    let details = check["details"].to_string();
    assert!(
        details.contains(&format!(
            "cannot read {}: not a regular file",
            h.dotenv.display()
        )),
        "{details}"
    );
}

#[test]
fn a_config_test_broken_since_the_snapshot_leads_the_diagnosis() {
    let Some(h) = host_site(true) else { return };
    snapshot(&h.env);
    h.break_it();
    let out = h.env.run(&["--format", "json"]);
    out.expect_code(2);
    let v = json(&out);
    let first = &v["diagnosis"][0];
    assert_eq!(
        first["rule"], "config-error-in-file-changed-since-snapshot",
        "{v:#}"
    );
    assert_eq!(first["cause"], "config");
    assert_eq!(first["linked"], true);
    let headline = first["headline"].as_str().unwrap();
    assert!(
        headline.starts_with("shop changed since the last good snapshot ("),
        "{headline}"
    );
    assert!(
        headline.ends_with(") and now fails at line 3: nginx: [emerg] unknown directive \"sever_name\" in /etc/nginx/sites-enabled/shop:3"),
        "{headline}"
    );
    let checks: Vec<&str> = first["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["nginx-config", "since-good", "since-good"]);
}

#[test]
fn a_directory_unreadable_now_is_not_compared_rather_than_all_removed() {
    if !nix::unistd::geteuid().is_root() || !Path::new("/usr/bin/setpriv").exists() {
        eprintln!("skipped: needs root (to drop to nobody) and setpriv");
        return;
    }
    let env = TestEnv::new();
    let www = env.path().join("www");
    let state = env.path().join("state");
    std::fs::create_dir_all(www.join("lib/deep")).unwrap();
    std::fs::write(www.join("index.php"), "<?php\n").unwrap();
    std::fs::write(www.join("lib/a.php"), "<?php\n").unwrap();
    std::fs::write(www.join("lib/deep/b.php"), "<?php\n").unwrap();
    std::fs::create_dir(&state).unwrap();
    nix::unistd::chown(&state, Some(65534.into()), Some(65534.into())).unwrap();
    for d in [env.path(), &www, &www.join("lib"), &www.join("lib/deep")] {
        chmod(d, 0o755);
    }
    let cfg = env.file(
        "c.toml",
        &format!(
            "[[check]]\nid = \"webroot\"\nkind = \"permissions\"\npath = \"{}\"\n",
            www.display()
        ),
    );
    chmod(&cfg, 0o644);
    let nobody = |args: &[&str]| {
        let mut c = crate::testenv::as_nobody();
        c.args(args)
            .arg("--config")
            .arg(&cfg)
            .arg("--baseline")
            .arg(&state);
        crate::testenv::run_command(c)
    };
    nobody(&["snapshot", "--force", "--quiet"]).expect_code(0);
    chmod(&www.join("lib"), 0o700);
    // Files only: other tests start and stop servers on this machine (listeners).
    let out = nobody(&["diff", "--files-only", "--format", "json"]);
    chmod(&www.join("lib"), 0o755);
    out.expect_code(3);
    let found = changes(&out);
    // lib's own mode is a change; what is below it could not be read, so it is not "removed".
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("mode 0755 → 0700"), "{found:?}");
    let check = json(&out)["checks"][0].to_string();
    assert!(check.contains("only part could be compared"), "{check}");
    assert!(check.contains("lib: permission denied"), "{check}");
}

#[test]
fn files_only_runs_no_program_and_compares_only_the_web_roots() {
    let Some(h) = host_site(false) else { return };
    snapshot(&h.env);
    // A host change (a variable's value) and a file change; any program run leaves a mark.
    std::fs::write(
        &h.dotenv,
        format!("APP_KEY={NEW_SECRET}\nDB_PASSWORD={DB_SECRET}\nMAIL_HOST=mail\n"),
    )
    .unwrap();
    std::fs::write(h.www.join("cart.php"), "<?php\n$a = 2;\n").unwrap();
    let mark = h.env.path().join("ran");
    executable(
        &h.sysroot.join("usr/sbin/nginx"),
        &format!("#!/bin/sh\ntouch {}\nexit 1\n", mark.display()),
    );
    let out = h.env.run(&["diff", "--files-only", "--format", "json"]);
    out.expect_code(1);
    let found = changes(&out);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("cart.php changed"), "{found:?}");
    let summary = json(&out)["checks"][0]["summary"].to_string();
    assert!(
        summary.contains("changed in the files since snapshot"),
        "{summary}"
    );
    assert!(!mark.exists(), "a program ran");
    // Without it, the same diff reads the host: the variable and the config test.
    let all = changes(&h.env.run(&["diff", "--format", "json"]));
    assert!(all.iter().any(|c| c.starts_with("APP_KEY")), "{all:?}");
    assert!(mark.exists(), "the config test ran");
}
