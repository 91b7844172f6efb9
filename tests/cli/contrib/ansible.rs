//! contrib/ansible: the playbook and its role, through ansible-playbook.

use std::path::Path;
use std::process::Command;

use super::contrib;
use crate::peer::program;
use crate::testenv::{TestEnv, bin, run_command, selftest};

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
