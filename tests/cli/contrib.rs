//! The files under contrib/, each checked by the real engine that reads it: promtool for
//! the Prometheus configuration and alerting rules (with their unit tests), systemd-analyze
//! for the units, icinga2 and Nagios for the check commands, and a real NRPE daemon
//! answering check_nrpe with sitedoctor's result.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::peer::program;
use crate::testenv::{Output, TestEnv, bin, run_command, selftest};

fn contrib(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contrib")
        .join(path)
}

fn run(program: &Path, args: &[&str], dir: &Path) -> Output {
    let mut c = Command::new(program);
    c.args(args).current_dir(dir);
    run_command(c)
}

#[track_caller]
fn assert_ok(what: &str, out: &Output) {
    assert_eq!(
        out.code, 0,
        "{what} failed\n--- stdout\n{}\n--- stderr\n{}",
        out.stdout, out.stderr
    );
}

#[test]
fn prometheus_config_and_rules_pass_promtool_and_their_unit_tests() {
    let Some(promtool) = program("promtool") else {
        return;
    };
    let dir = contrib("prometheus");
    let out = run(&promtool, &["check", "config", "prometheus.yml"], &dir);
    assert_ok("promtool check config", &out);
    assert!(
        out.stdout.contains("SUCCESS: 1 rule files found"),
        "{}",
        out.stdout
    );
    // `check rules` lints too (duplicate rules fail it).
    let out = run(&promtool, &["check", "rules", "sitedoctor.rules.yml"], &dir);
    assert_ok("promtool check rules", &out);
    let out = run(
        &promtool,
        &["test", "rules", "sitedoctor.rules.test.yml"],
        &dir,
    );
    assert_ok("promtool test rules", &out);
    assert!(out.stdout.contains("SUCCESS"), "{}", out.stdout);
}

/// The rules watch metrics sitedoctor writes: every `sitedoctor_*` name and every
/// `name="…"` measurement they use appears in the Prometheus output or the source.
#[test]
fn alerting_rules_use_the_metrics_sitedoctor_writes() {
    let rules = std::fs::read_to_string(contrib("prometheus/sitedoctor.rules.yml")).unwrap();
    let env = TestEnv::new().config(&selftest("a", "result = \"fail\""));
    let out = env.run(&["--format", "prometheus"]);
    out.expect_code(2);
    let families = regex::Regex::new(r"sitedoctor_[a-z_]+").unwrap();
    let used: std::collections::BTreeSet<_> =
        families.find_iter(&rules).map(|m| m.as_str()).collect();
    assert!(used.len() >= 3, "{used:?}");
    for name in used {
        assert!(
            out.stdout.contains(&format!("\n{name}{{"))
                || out.stdout.contains(&format!("\n{name} ")),
            "the rules use {name}, which sitedoctor does not write:\n{}",
            out.stdout
        );
    }
    // The certificate's days left: its metric name as the checks record it.
    assert!(rules.contains(r#"name="cert_days_left""#));
    let judge =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/checks/judge.rs"))
            .unwrap();
    assert!(judge.contains(r#"Metric::new("cert_days_left""#));
}

#[test]
fn systemd_units_verify_without_a_warning() {
    let Some(analyze) = program("systemd-analyze") else {
        return;
    };
    let env = TestEnv::new();
    // The units name the installed binary; here it is the built one.
    let mut units = Vec::new();
    for unit in [
        "sitedoctor.service",
        "sitedoctor.timer",
        "sitedoctor-serve.service",
    ] {
        let text = std::fs::read_to_string(contrib("systemd").join(unit)).unwrap();
        assert!(
            !unit.ends_with(".service") || text.contains("ExecStart=/usr/local/bin/sitedoctor "),
            "{unit}"
        );
        let text = text.replace("/usr/local/bin/sitedoctor", &bin().display().to_string());
        units.push(env.file(unit, &text).display().to_string());
    }
    let mut args = vec!["verify"];
    args.extend(units.iter().map(String::as_str));
    let out = run(&analyze, &args, env.path());
    // It exits 0 on unknown keys and missing programs alike: what it prints is the verdict.
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", ""),
        "systemd-analyze verify"
    );
}

/// systemd-analyze itself reports what the test above relies on it to report.
#[test]
fn systemd_analyze_reports_an_unknown_key() {
    let Some(analyze) = program("systemd-analyze") else {
        return;
    };
    let env = TestEnv::new();
    let unit = env.file(
        "x.service",
        "[Service]\nExecStart=/bin/true\nProtectSystm=full\n",
    );
    let out = run(
        &analyze,
        &["verify", &unit.display().to_string()],
        env.path(),
    );
    assert!(
        out.stderr.contains("Unknown key 'ProtectSystm'"),
        "{}",
        out.stderr
    );
}

#[test]
fn icinga2_validates_the_check_commands() {
    let Some(icinga2) = program("icinga2") else {
        return;
    };
    let env = TestEnv::new();
    let conf = env.file(
        "icinga2.conf",
        &format!(
            r#"const PluginDir = "/usr/lib/nagios/plugins"
include <itl>
include <plugins>
include "{}"
object Host "web1" {{
  check_command = "dummy"
  address = "127.0.0.1"
}}
object Service "sitedoctor" {{
  host_name = "web1"
  check_command = "sitedoctor"
  vars.sitedoctor_only = [ "disk", "web" ]
  vars.sitedoctor_fail_on = "fail"
}}
object Service "sitedoctor-sudo" {{
  host_name = "web1"
  check_command = "sitedoctor-sudo"
}}
object Service "sitedoctor-nrpe" {{
  host_name = "web1"
  check_command = "nrpe"
  vars.nrpe_command = "check_sitedoctor"
}}
"#,
            contrib("nagios/sitedoctor.icinga2.conf").display()
        ),
    );
    // Its state, cache and run directories in the temporary directory; as root it would
    // switch to the nagios user, which cannot write there.
    let mut args = vec![
        "daemon".to_string(),
        "-C".into(),
        "-c".into(),
        conf.display().to_string(),
        "-DRunAsUser=root".into(),
        "-DRunAsGroup=root".into(),
    ];
    for (constant, dir) in [
        ("DataDir", "data"),
        ("LogDir", "log"),
        ("CacheDir", "cache"),
        ("SpoolDir", "spool"),
        ("InitRunDir", "run"),
    ] {
        let d = env.path().join(dir);
        std::fs::create_dir(&d).unwrap();
        args.push(format!("-D{constant}={}", d.display()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&icinga2, &args, env.path());
    assert_ok("icinga2 daemon -C", &out);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("Instantiated 3 Services."), "{all}");
    assert!(
        !all.contains("warning/") && !all.contains("critical/"),
        "icinga2 warned:\n{all}"
    );
}

#[test]
fn nagios_validates_the_command_definitions() {
    let Some(nagios) = program("nagios4") else {
        return;
    };
    let env = TestEnv::new();
    let d = env.path().display().to_string();
    std::fs::create_dir(env.path().join("spool")).unwrap();
    let cfg = env.file(
        "nagios.cfg",
        &format!(
            "cfg_file={}\ncfg_file={d}/objects.cfg\nlog_file={d}/nagios.log\n\
             status_file={d}/status.dat\nobject_cache_file={d}/objects.cache\n\
             precached_object_file={d}/objects.precache\ntemp_file={d}/nagios.tmp\n\
             temp_path={d}\nlock_file={d}/nagios.lock\nstate_retention_file={d}/retention.dat\n\
             command_file={d}/nagios.cmd\ncheck_result_path={d}/spool\n\
             nagios_user=root\nnagios_group=root\nillegal_macro_output_chars=`~$&|'\"<>\n",
            contrib("nagios/commands.cfg").display()
        ),
    );
    let service = |name: &str, command: &str| {
        format!(
            "define service {{\n host_name web1\n service_description {name}\n \
             check_command {command}\n max_check_attempts 1\n check_interval 5\n \
             retry_interval 1\n check_period 24x7\n contacts admin\n \
             notification_interval 0\n notification_period 24x7\n}}\n"
        )
    };
    env.file(
        "objects.cfg",
        &[
            "define timeperiod {\n timeperiod_name 24x7\n alias always\n monday 00:00-24:00\n}\n",
            "define contact {\n contact_name admin\n host_notifications_enabled 0\n \
             service_notifications_enabled 0\n host_notification_period 24x7\n \
             service_notification_period 24x7\n host_notification_options n\n \
             service_notification_options n\n host_notification_commands check_sitedoctor\n \
             service_notification_commands check_sitedoctor\n}\n",
            "define host {\n host_name web1\n address 127.0.0.1\n max_check_attempts 1\n \
             check_period 24x7\n contacts admin\n notification_interval 0\n \
             notification_period 24x7\n}\n",
            &service("sitedoctor", "check_sitedoctor!fail"),
            &service("sitedoctor-nrpe", "check_sitedoctor_nrpe"),
        ]
        .concat(),
    );
    let out = run(&nagios, &["-v", &cfg.display().to_string()], env.path());
    assert_ok("nagios4 -v", &out);
    assert!(out.stdout.contains("Checked 2 commands."), "{}", out.stdout);
    assert!(
        out.stdout.contains("Total Warnings: 0") && out.stdout.contains("Total Errors:   0"),
        "{}",
        out.stdout
    );
}

/// A free loopback port (the listener closes before the daemon binds it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The NRPE line as shipped, run by a real NRPE daemon on loopback and asked by check_nrpe:
/// the plugin result and the exit code arrive whole.
#[test]
fn nrpe_runs_the_command_line_for_check_nrpe() {
    let Some(nrpe) = program("nrpe") else { return };
    let Some(check_nrpe) = Path::new("/usr/lib/nagios/plugins/check_nrpe")
        .exists()
        .then(|| PathBuf::from("/usr/lib/nagios/plugins/check_nrpe"))
        .or_else(|| program("check_nrpe"))
    else {
        return;
    };
    // NRPE refuses to run as root: its user (nobody) must reach the binary and the config.
    let env = TestEnv::new();
    std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let sd = env.path().join("sitedoctor");
    std::fs::copy(bin(), &sd).unwrap();
    std::fs::set_permissions(&sd, std::fs::Permissions::from_mode(0o755)).unwrap();
    let checks = env.file(
        "checks.toml",
        &[
            selftest("site", "summary = \"answers 200\""),
            selftest("disk", "result = \"fail\"\nsummary = \"/var is 97% full\""),
        ]
        .concat(),
    );
    std::fs::set_permissions(&checks, std::fs::Permissions::from_mode(0o644)).unwrap();

    let shipped = std::fs::read_to_string(contrib("nagios/nrpe.cfg")).unwrap();
    let line = shipped
        .lines()
        .find(|l| l.starts_with("command[check_sitedoctor]="))
        .expect("an uncommented command line");
    let line = line.replace(
        "/usr/local/bin/sitedoctor",
        &format!(
            "/usr/bin/env SITEDOCTOR_SELFTEST=1 {} --config {}",
            sd.display(),
            checks.display()
        ),
    );
    let port = free_port();
    let cfg = env.file(
        "nrpe.cfg",
        &format!(
            "server_address=127.0.0.1\nserver_port={port}\nnrpe_user=nobody\nnrpe_group=nogroup\n\
             allowed_hosts=127.0.0.1\npid_file={}/nrpe.pid\ncommand_timeout=60\n{line}\n",
            env.path().display()
        ),
    );
    let mut daemon = Command::new(nrpe)
        .args(["-c", &cfg.display().to_string(), "-f", "-n"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let ask = |args: &[&str]| {
        let mut c = Command::new(&check_nrpe);
        c.args(["-n", "-H", "127.0.0.1", "-p", &port.to_string()])
            .args(args);
        run_command(c)
    };
    // Wait until it answers its version query.
    let deadline = Instant::now() + Duration::from_secs(10);
    while ask(&[]).code != 0 {
        if Instant::now() > deadline || daemon.try_wait().unwrap().is_some() {
            let _ = daemon.kill();
            panic!("nrpe did not start on port {port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = ask(&["-t", "60", "-c", "check_sitedoctor"]);
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout,
        "SITEDOCTOR CRITICAL - 1 of 2 checks need attention; disk: /var is 97% full \
         | 'site_answer'=42;50;60 'disk_answer'=42;50;60\nFAIL disk: /var is 97% full\n"
    );
}

/// `ansible-playbook` against this machine (the local connection) as two hosts, each
/// installing under its own temporary prefix: one with a passing configuration, one with a
/// failing one. Never /usr/local/bin or /etc/sitedoctor.
#[test]
fn ansible_playbook_collects_reports_and_fails_on_the_failing_host() {
    let Some(playbook) = program("ansible-playbook") else {
        return;
    };
    let env = TestEnv::new();
    let pass = env.file("pass.toml", &selftest("site", "summary = \"answers 200\""));
    let fail = env.file(
        "fail.toml",
        &[
            selftest("site", "summary = \"answers 200\""),
            selftest(
                "disk-var",
                r#"result = "fail"
summary = "/var is 97% full: \"q\" # {{ 7*7 }} it's""#,
            ),
        ]
        .concat(),
    );
    let d = env.path();
    let host = |name: &str, config: &Path| {
        serde_json::json!({
            "ansible_connection": "local",
            "ansible_python_interpreter": "/usr/bin/python3",
            "sitedoctor_install_dir": d.join(name).join("bin"),
            "sitedoctor_config_dir": d.join(name).join("etc"),
            "sitedoctor_report_path": d.join(name).join("report.json"),
            "sitedoctor_config_files": [config],
        })
    };
    // JSON is YAML: the inventory plugin reads it.
    let inventory = serde_json::json!({"all": {"hosts": {
        "web1": host("web1", &pass),
        "web2": host("web2", &fail),
    }}});
    env.file("inventory.json", &inventory.to_string());
    let vars = serde_json::json!({
        "sitedoctor_binary": bin(),
        "sitedoctor_reports_dir": d.join("reports"),
        "sitedoctor_become": false,
        "sitedoctor_environment": {"SITEDOCTOR_SELFTEST": "1"},
    });
    env.file("vars.json", &vars.to_string());
    // No ansible.cfg of the machine's or the user's.
    env.file("ansible.cfg", "[defaults]\n");
    let play = |extra: &[&str]| {
        let mut c = Command::new(&playbook);
        c.args(["-i", "inventory.json", "-e", "@vars.json"])
            .args(extra)
            .arg(contrib("ansible/sitedoctor.yml"))
            .current_dir(d)
            .env("ANSIBLE_HOME", d.join(".ansible"))
            .env("ANSIBLE_LOCAL_TEMP", d.join(".ansible/tmp"))
            .env("ANSIBLE_REMOTE_TEMP", d.join(".ansible/remote"))
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
            .env("ANSIBLE_CONFIG", d.join("ansible.cfg"))
            .env_remove("SITEDOCTOR_SELFTEST");
        run_command(c)
    };

    let out = play(&[]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    let summary = "    \"msg\": [\n        \"web1: ok (1 checks)\",\n        \"web2: 1 failing\",\n        \
                   \"  disk-var FAIL: /var is 97% full: \\\"q\\\" # {{ 7*7 }} it's\"\n    ]";
    assert!(out.stdout.contains(summary), "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "fatal: [web2]: FAILED! => {\"changed\": false, \"msg\": \"sitedoctor: disk-var FAIL: \
             /var is 97% full: \\\"q\\\" # {{ 7*7 }} it's\"}"
        ),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("fatal: [web1]"), "{}", out.stdout);
    for name in ["web1", "web2"] {
        assert!(d.join(name).join("bin/sitedoctor").is_file());
        let report =
            std::fs::read_to_string(d.join("reports").join(format!("{name}.json"))).unwrap();
        let report: serde_json::Value = serde_json::from_str(&report).unwrap();
        assert_eq!(report["schema"], 1, "{report}");
    }
    assert!(d.join("web2/etc/checks.d/fail.toml").is_file());

    // The passing host alone: the play passes.
    let out = play(&["--limit", "web1"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("    \"msg\": [\n        \"web1: ok (1 checks)\"\n    ]"),
        "{}",
        out.stdout
    );
}

/// Every contrib/ path the README names exists.
#[test]
fn readme_names_only_contrib_files_that_exist() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let paths = regex::Regex::new(r"contrib/[A-Za-z0-9_./-]*[A-Za-z0-9_]/?").unwrap();
    let mut seen = 0;
    // Reports the playbook writes are not shipped.
    for m in paths
        .find_iter(&readme)
        .filter(|m| !m.as_str().contains("/reports/"))
    {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(m.as_str());
        assert!(
            p.exists(),
            "the README names {}, which does not exist",
            m.as_str()
        );
        seen += 1;
    }
    assert!(seen >= 10, "{seen}");
}
