//! contrib/systemd: the units, through systemd-analyze verify.

use super::{contrib, run};
use crate::peer::program;
use crate::testenv::{TestEnv, bin};

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
            !unit.ends_with(".service") || text.contains("ExecStart=/usr/bin/sitedoctor "),
            "{unit}"
        );
        let text = text.replace("/usr/bin/sitedoctor", &bin().display().to_string());
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
