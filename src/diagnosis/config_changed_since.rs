//! A configuration error's file ↔ that file's change since the last good snapshot: the
//! configuration passed its test then (or the site worked with it), so the change broke it.
//! The error comes from a `configtest` or `.htaccess` check, or from the `baseline` check
//! itself (a config test that passed at the snapshot and fails now).

use super::{Diagnosis, Found, Rule};
use crate::check::Status;
use crate::finding::{Cause, Subject};

pub static RULE: Rule = Rule {
    name: "config-error-in-file-changed-since-snapshot",
    about: "a configuration test or lint fails in a file that changed since the last good snapshot",
    link,
};

/// A configuration that fails now: any check's problem about a configuration file; from the
/// baseline, only what fails (its changes are warnings; a config test that broke is a fail).
fn fails(f: &Found<'_>) -> bool {
    f.finding.cause == Cause::Config
        && f.is_problem()
        && (f.kind() != "baseline" || f.finding.status == Status::Fail)
}

fn link(found: &[Found<'_>]) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    for broken in found.iter().filter(|f| fails(f)) {
        let Some(path) = broken.finding.subject.file() else {
            continue;
        };
        let Some(change) = found.iter().find(|c| {
            c.kind() == "baseline"
                && c.finding.status == Status::Warn
                && c.finding.subject.file() == Some(path)
        }) else {
            continue;
        };
        let name = path.rsplit('/').next().unwrap_or(path);
        let when = super::baseline_changed::snapshot_age(change);
        let at = match &broken.finding.subject {
            Subject::Path { line: Some(l), .. } | Subject::Directive { line: Some(l), .. } => {
                format!("now fails at line {l}")
            }
            _ => "now fails".to_string(),
        };
        // The baseline says "nginx -t changed: passed at the snapshot, fails now: VERDICT".
        let text = &broken.finding.text;
        let said = text
            .split_once("fails now: ")
            .map_or(text.as_str(), |(_, v)| v);
        let mut d = super::linked(
            &RULE,
            broken,
            change,
            format!("{name} changed since the last good snapshot{when} and {at}: {said}"),
            // Below a fatal in a changed file (the 500 itself), above a lone config error.
            122,
        );
        d.cause = Cause::Config;
        d.subject = Some(broken.finding.subject.clone());
        d.also = Some(format!("it changed since the last good snapshot{when}"));
        // The error's fix (the file and line to edit) before the change's.
        d.fix = broken.fix().or_else(|| change.fix());
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const VERDICT: &str =
        "nginx: [emerg] unknown directive \"sever_name\" in /etc/nginx/sites-enabled/shop:3";

    fn at_line_3() -> Subject {
        Subject::Directive {
            directive: "sever_name".into(),
            path: Some("/etc/nginx/sites-enabled/shop".into()),
            line: Some(3),
        }
    }

    fn configtest() -> crate::report::CheckResult {
        result(
            "nginx-config",
            "configtest",
            Status::Fail,
            vec![
                finding(at_line_3(), Cause::Config, Status::Fail, VERDICT)
                    .fix("edit /etc/nginx/sites-enabled/shop:3, then run `nginx -t` again"),
            ],
        )
    }

    fn changed(p: &str, test_too: bool) -> crate::report::CheckResult {
        let ago = crate::finding::now_secs() - 7200;
        let mut f = vec![];
        if test_too {
            f.push(
                finding(
                    at_line_3(),
                    Cause::Config,
                    Status::Fail,
                    &format!("nginx -t changed: passed at the snapshot, fails now: {VERDICT}"),
                )
                .at(ago),
            );
        }
        f.push(
            finding(
                path(p, None),
                Cause::Config,
                Status::Warn,
                &format!("{p} changed: nginx configuration changed"),
            )
            .at(ago),
        );
        f.push(
            finding(
                path("/srv/a.php", None),
                Cause::Deploy,
                Status::Warn,
                "a.php changed",
            )
            .at(ago),
        );
        result("since-good", "baseline", Status::Warn, f)
    }

    #[test]
    fn links_a_config_test_to_its_file_changed_since_the_snapshot() {
        let d = crate::diagnosis::diagnose(&[
            configtest(),
            changed("/etc/nginx/sites-enabled/shop", true),
        ]);
        assert_eq!(d[0].rule, "config-error-in-file-changed-since-snapshot");
        assert_eq!(
            d[0].headline,
            format!(
                "shop changed since the last good snapshot (2 h ago) and now fails at line 3: {VERDICT}"
            )
        );
        assert_eq!(d[0].cause, Cause::Config);
        assert!(d[0].linked);
        // The configtest's error, the file's change and the baseline's own test: one cause.
        let evidence: Vec<(&str, Option<usize>)> = d[0]
            .evidence
            .iter()
            .map(|e| (e.check.as_str(), e.finding))
            .collect();
        assert_eq!(
            evidence,
            [
                ("nginx-config", Some(0)),
                ("since-good", Some(1)),
                ("since-good", Some(0))
            ]
        );
        assert_eq!(
            d[0].fix.as_deref(),
            Some("edit /etc/nginx/sites-enabled/shop:3, then run `nginx -t` again")
        );
        assert!(d.iter().skip(1).all(|d| d.cause != Cause::Config), "{d:#?}");
    }

    #[test]
    fn the_baseline_alone_links_its_failing_test_to_the_changed_file() {
        let d = crate::diagnosis::diagnose(&[changed("/etc/nginx/sites-enabled/shop", true)]);
        assert_eq!(d[0].rule, "config-error-in-file-changed-since-snapshot");
        assert!(
            d[0].headline
                .ends_with(&format!("now fails at line 3: {VERDICT}"))
        );
    }

    #[test]
    fn another_file_changed_is_no_link() {
        let d =
            crate::diagnosis::diagnose(&[configtest(), changed("/etc/nginx/nginx.conf", false)]);
        assert!(
            d.iter()
                .all(|d| d.rule != "config-error-in-file-changed-since-snapshot"),
            "{d:#?}"
        );
        // A change is not an error: the baseline's changes alone link nothing.
        let d = crate::diagnosis::diagnose(&[changed("/etc/nginx/sites-enabled/shop", false)]);
        assert!(d.iter().all(|d| !d.linked), "{d:#?}");
    }
}
