//! disk, memory, load, fds and process against real and fake (`SITEDOCTOR_PROC`) hosts.

use crate::testenv::{TestEnv, json};

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
            "nginx-config",
            "apache-config",
            "php-fpm-config",
            "error-logs"
        ]
    );
    for c in v["checks"].as_array().unwrap() {
        assert_ne!(c["status"], "error", "{c}");
    }
}

#[test]
fn disk_warns_with_the_largest_directories_as_fix() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path().join("data/uploads")).unwrap();
    std::fs::write(env.path().join("data/uploads/big.bin"), vec![7u8; 3 << 20]).unwrap();
    let cfg = format!(
        "[[check]]\nid = \"d\"\nkind = \"disk\"\npaths = [\"{}\"]\nwarn = \"0.001%\"\n",
        env.path().display()
    );
    let env = env.config(&cfg);
    let out = env.run(&[]);
    out.expect_code(1);
    assert!(
        out.stdout.contains("largest directories under"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("/data/uploads"), "{}", out.stdout);
    assert!(
        out.stdout.contains("du -xh --max-depth=2"),
        "{}",
        out.stdout
    );
    let v = json(&env.run(&["--format", "json"]));
    let names: Vec<&str> = v["checks"][0]["metrics"]
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
