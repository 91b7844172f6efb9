//! disk, memory, load, fds and process against real and fake (`SITEDOCTOR_PROC`) hosts.

use crate::testenv::{Output, TestEnv, json, run_command};

#[test]
fn builtin_checklist_runs_here() {
    let out = TestEnv::new()
        .env("SITEDOCTOR_SELFTEST", "0")
        .run(&["--format", "json"]);
    let v = json(&out);
    let ids: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "disk",
            "memory",
            "load",
            "fds",
            "workers",
            "webroot-permissions",
            "webroot-world-writable",
            "local-http",
            "local-https",
            "app-dependencies",
            "deps-installed",
            "upstreams",
            "nginx-config",
            "apache-config",
            "php-fpm-config",
            "error-logs",
            "htaccess"
        ]
    );
    for c in v["checks"].as_array().unwrap() {
        assert_ne!(c["status"], "error", "{c}");
    }
}

/// `sitedoctor ARGS` run in a mount namespace of its own where a tmpfs of `size` is
/// mounted on `dir` and filled to the brim (a cache or session directory in RAM under the
/// web root, full): the mount vanishes with the namespace, whatever happens to the test.
fn with_full_tmpfs(env: &TestEnv, dir: &std::path::Path, size: &str, args: &[&str]) -> Output {
    std::fs::create_dir_all(dir).unwrap();
    let script = "mount -t tmpfs -o size=\"$1\" sitedoctor-test \"$2\" || exit 99; \
         mkdir -p \"$2/uploads/2026\" && head -c 8M /dev/zero > \"$2/uploads/2026/big.bin\" 2>/dev/null; \
         shift 2; exec \"$@\"";
    let c = env.command(args);
    let mut argv = vec![c.get_program().to_owned()];
    argv.extend(c.get_args().map(ToOwned::to_owned));
    let mut u = std::process::Command::new("unshare");
    u.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sh",
        size,
    ])
    .arg(dir)
    .args(argv)
    .current_dir(env.path());
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => u.env(k, v),
            None => u.env_remove(k),
        };
    }
    let out = run_command(u);
    assert_ne!(out.code, 99, "could not mount a tmpfs: {}", out.stderr);
    out
}

#[test]
fn disk_looks_inside_a_full_tmpfs_under_the_web_root_from_its_mount_point() {
    let env = TestEnv::new();
    let cache = env.path().join("www/html/cache");
    // The path measured lies on the mount; what fills it must be looked for from the mount.
    let cfg = format!(
        "[[check]]\nid = \"d\"\nkind = \"disk\"\npaths = [\"{}/uploads\"]\n",
        cache.display()
    );
    let env = env.config(&cfg);
    let out = with_full_tmpfs(&env, &cache, "1m", &[]);
    out.expect_code(2);
    let mount = cache.display().to_string();
    assert!(
        out.stdout
            .contains(&format!("largest directories under {mount}:")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("/uploads/2026"), "{}", out.stdout);
    let v = json(&with_full_tmpfs(&env, &cache, "1m", &["--format", "json"]));
    let c = &v["checks"][0];
    assert_eq!(
        c["findings"],
        serde_json::json!([{
            "subject": {"type": "mount", "mount": mount},
            "cause": "resources",
            "status": "fail",
            "text": c["findings"][0]["text"],
            "fix": {
                "text": format!("du -xh --max-depth=2 {mount} | sort -h | tail -20"),
                "automatic": false
            }
        }]),
        "{c}"
    );
    let text = c["findings"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("{mount}/uploads: 100% used"))
            && text.ends_with(&format!("(the filesystem mounted at {mount})")),
        "{text}"
    );
    let names: Vec<&str> = c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"used_percent") && names.contains(&"free_bytes"),
        "{names:?}"
    );
}

#[test]
fn disk_without_paths_checks_a_tmpfs_under_the_web_root() {
    let env = TestEnv::new().config("[[check]]\nid = \"d\"\nkind = \"disk\"\n");
    let cache = env.path().join("www/html/cache");
    let v = json(&with_full_tmpfs(&env, &cache, "1m", &["--format", "json"]));
    let mount = cache.display().to_string();
    let found = v["checks"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["subject"]["mount"] == mount.as_str() && f["status"] == "fail");
    assert!(found, "{}", v["checks"][0]);
}

#[test]
fn disk_size_threshold_means_free_space() {
    let env = TestEnv::new();
    let cfg = format!(
        "[[check]]\nid = \"d\"\nkind = \"disk\"\npaths = [\"{}\"]\nfail = \"1000000TiB\"\nwarn = \"2000000TiB\"\n",
        env.path().display()
    );
    let out = env.config(&cfg).run(&["--format", "json"]);
    out.expect_code(2);
}

#[test]
fn disk_missing_path_is_an_error_with_the_reason() {
    let env = TestEnv::new()
        .config("[[check]]\nid = \"d\"\nkind = \"disk\"\npaths = [\"/no/such/mount\"]\n");
    let out = env.run(&[]);
    out.expect_code(3);
    assert!(
        out.stdout
            .contains("cannot read /no/such/mount: No such file or directory"),
        "{}",
        out.stdout
    );
}

/// A fake /proc holding only the files the test writes.
fn fake_proc(files: &[(&str, &str)]) -> TestEnv {
    let env = TestEnv::new();
    for (name, text) in files {
        env.file(&format!("proc/{name}"), text);
    }
    let root = env.path().join("proc").display().to_string();
    env.env("SITEDOCTOR_PROC", &root)
}

#[test]
fn memory_fails_when_little_is_available() {
    let env = fake_proc(&[(
        "meminfo",
        "MemTotal: 1000000 kB\nMemAvailable: 30000 kB\nSwapTotal: 1000 kB\nSwapFree: 100 kB\n",
    )])
    .config("[[check]]\nid = \"m\"\nkind = \"memory\"\n");
    let out = env.run(&[]);
    out.expect_code(2);
    assert!(
        out.stdout
            .contains("29.3 MiB of 977 MiB memory available (3%)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("swap 90% used"), "{}", out.stdout);
    assert!(
        out.stdout.contains("largest:"),
        "evidence names processes: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains("fix: ps aux --sort=-rss"),
        "{}",
        out.stdout
    );
}

#[test]
fn unreadable_proc_is_an_error_with_the_reason() {
    let env = fake_proc(&[]).config("[[check]]\nid = \"m\"\nkind = \"memory\"\n[[check]]\nid = \"l\"\nkind = \"load\"\n[[check]]\nid = \"f\"\nkind = \"fds\"\n");
    let out = env.run(&["--format", "json"]);
    out.expect_code(3);
    let v = json(&out);
    for (i, file) in ["meminfo", "loadavg", "sys/fs/file-nr"].iter().enumerate() {
        let c = &v["checks"][i];
        assert_eq!(c["status"], "error");
        let s = c["summary"].as_str().unwrap();
        assert!(
            s.contains(file) && s.contains("No such file or directory"),
            "{s}"
        );
    }
    let env = fake_proc(&[("meminfo", "this is not meminfo\n")])
        .config("[[check]]\nid = \"m\"\nkind = \"memory\"\n");
    let out = env.run(&[]);
    out.expect_code(3);
    assert!(
        out.stdout.contains("unexpected format in"),
        "{}",
        out.stdout
    );
}

#[test]
fn load_per_core() {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let busy = format!("{0} {0} {0} 9/100 1234\n", cores as f64 * 5.0);
    let env = fake_proc(&[("loadavg", &busy)]).config("[[check]]\nid = \"l\"\nkind = \"load\"\n");
    let out = env.run(&["--format", "json"]);
    out.expect_code(2);
    let v = json(&out);
    let per_core = v["checks"][0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "load5_per_core")
        .unwrap();
    assert!(per_core["value"].as_f64().unwrap() > 3.0, "{per_core}");
    let calm = fake_proc(&[("loadavg", "0.01 0.01 0.01 1/10 5\n")])
        .config("[[check]]\nid = \"l\"\nkind = \"load\"\n");
    calm.run(&[]).expect_code(0);
}

#[test]
fn fds_system_and_process() {
    let env = fake_proc(&[("sys/fs/file-nr", "900 0 1000\n")])
        .config("[[check]]\nid = \"f\"\nkind = \"fds\"\n");
    let out = env.run(&[]);
    out.expect_code(1);
    assert!(
        out.stdout
            .contains("900 of 1000 system file handles in use (90.0%)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("sysctl -w fs.file-max=2000"),
        "{}",
        out.stdout
    );
    // Our own test process, on the real /proc.
    let me = std::fs::read_to_string("/proc/self/comm").unwrap();
    let cfg = format!(
        "[[check]]\nid = \"f\"\nkind = \"fds\"\nprocess = \"{}\"\n",
        me.trim()
    );
    let out = TestEnv::new().config(&cfg).run(&["--format", "json"]);
    let v = json(&out);
    let details = v["checks"][0]["details"].to_string();
    assert!(details.contains("descriptors open"), "{details}");
    let out = TestEnv::new()
        .config("[[check]]\nid = \"f\"\nkind = \"fds\"\nprocess = \"no-such-daemon\"\n")
        .run(&[]);
    out.expect_code(2);
    assert!(
        out.stdout.contains("no process named \"no-such-daemon\""),
        "{}",
        out.stdout
    );
}

#[test]
fn process_running_or_not() {
    let me = std::fs::read_to_string("/proc/self/comm").unwrap();
    let cfg = format!(
        "[[check]]\nid = \"p\"\nkind = \"process\"\nname = \"{}\"\n",
        me.trim()
    );
    TestEnv::new().config(&cfg).run(&[]).expect_code(0);
    let out = TestEnv::new()
        .config("[[check]]\nid = \"p\"\nkind = \"process\"\nname = \"gunicorn-nowhere\"\n")
        .run(&[]);
    out.expect_code(2);
    assert!(
        out.stdout
            .contains("no process gunicorn-nowhere is running"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("fix:"), "{}", out.stdout);
    let out = TestEnv::new()
        .config("[[check]]\nid = \"p\"\nkind = \"process\"\npattern = \"(unclosed\"\n")
        .run(&[]);
    out.expect_code(78);
    assert!(
        out.stderr.contains("sitedoctor.toml:4:11: invalid regex"),
        "{}",
        out.stderr
    );
    let out = TestEnv::new()
        .config("[[check]]\nid = \"p\"\nkind = \"process\"\n")
        .run(&[]);
    out.expect_code(78);
    assert!(
        out.stderr.contains("needs `name` or `pattern`"),
        "{}",
        out.stderr
    );
}

/// A child killed when the test ends, however it ends.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn fds_records_the_process_over_its_limit() {
    // A process called sd-fds-probe with 7 of the 8 descriptors its limit allows open (the
    // dynamic loader needs the eighth to start it).
    let child = std::process::Command::new("bash")
        .args([
            "-c",
            "ulimit -n 8; exec 3</dev/null 4</dev/null 5</dev/null 6</dev/null; exec -a sd-fds-probe sleep 300",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let child = Reaped(child);
    let pid = child.0.id();
    let started = std::time::Instant::now();
    while !std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| c.starts_with(b"sd-fds-probe"))
    {
        assert!(started.elapsed().as_secs() < 10, "the probe did not start");
        std::thread::yield_now();
    }
    let out = TestEnv::new()
        .config(
            "[[check]]\nid = \"f\"\nkind = \"fds\"\nprocess = \"sd-fds-probe\"\nfail = \"85%\"\n",
        )
        .run(&["--format", "json"]);
    out.expect_code(2);
    let c = &json(&out)["checks"][0];
    assert_eq!(
        c["findings"],
        serde_json::json!([{
            "subject": {"type": "process", "name": "sleep", "pid": pid},
            "cause": "resources",
            "status": "fail",
            "text": c["findings"][0]["text"],
            "fix": {
                "text": "systemctl edit sd-fds-probe    # add: [Service] LimitNOFILE=65536, then restart it",
                "automatic": false
            }
        }]),
        "{c}"
    );
    // At least the seven it opened (a test harness may hand it more).
    let text = c["findings"][0]["text"].as_str().unwrap();
    let open: u32 = text
        .strip_prefix(&format!("sleep (pid {pid}): "))
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        open >= 7 && text.contains(" of 8 descriptors open ("),
        "{text}"
    );
    drop(child);
}
