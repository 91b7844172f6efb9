//! contrib/prometheus: the scrape configuration and the alerting rules, through promtool.

use std::path::Path;

use super::{assert_ok, contrib, run};
use crate::peer::program;
use crate::testenv::{TestEnv, selftest};

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
