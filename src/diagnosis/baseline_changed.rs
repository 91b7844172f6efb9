//! A fatal error's file ↔ that file's change since the last good snapshot: the site worked
//! with the old content, so the change is what broke it.

use super::{Diagnosis, Found, Rule};
use crate::finding::Cause;
use crate::units::fmt_age;

pub static RULE: Rule = Rule {
    name: "fatal-in-file-changed-since-snapshot",
    about: "a fatal error points into a file that changed since the last good snapshot",
    link,
};

/// How long ago the snapshot a baseline change is measured from was taken: " (2 h ago)", or
/// nothing when the finding does not say.
pub(super) fn snapshot_age(change: &Found<'_>) -> String {
    change
        .finding
        .at
        .map(|t| format!(" ({})", fmt_age(crate::finding::now_secs() - t)))
        .unwrap_or_default()
}

fn link(found: &[Found<'_>]) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    for (fatal, path, line) in super::fatal_changed::fatals(found) {
        let Some(change) = found.iter().find(|c| {
            c.kind() == "baseline"
                && c.finding.cause == Cause::Deploy
                && c.finding.subject.file() == Some(path.as_str())
        }) else {
            continue;
        };
        let name = path.rsplit('/').next().unwrap_or(path);
        let when = snapshot_age(change);
        let fails = line.map_or("now fails".to_string(), |l| {
            format!("now fails at line {l}")
        });
        let mut d = super::linked(
            &RULE,
            fatal,
            change,
            format!(
                "{name} changed since the last good snapshot{when} and {fails}: {}",
                change.finding.text
            ),
            // Above a change seen only by its mtime: this one is known to have worked before.
            125,
        );
        d.cause = Cause::Code;
        d.subject = Some(fatal.finding.subject.clone());
        d.also = Some(format!("it changed since the last good snapshot{when}"));
        // Nothing to run: reverting the change is the deploy's own business.
        d.fix = d.fix.or_else(|| {
            Some("compare it with the release that worked (`sitedoctor diff`), revert the change, or fix the line".into())
        });
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::check::Status;

    fn fatal(p: &str) -> crate::report::CheckResult {
        result(
            "errors",
            "log",
            Status::Fail,
            vec![finding(
                path(p, Some(88)),
                Cause::Code,
                Status::Fail,
                "PHP Parse error: syntax error",
            )],
        )
    }

    fn changed(p: &str) -> crate::report::CheckResult {
        result(
            "since-good",
            "baseline",
            Status::Warn,
            vec![
                finding(
                    path(p, None),
                    Cause::Deploy,
                    Status::Warn,
                    &format!("{p} changed: content changed, lines 86-90"),
                )
                .at(crate::finding::now_secs() - 7200),
            ],
        )
    }

    #[test]
    fn links_a_fatal_to_its_file_changed_since_the_snapshot() {
        let d = crate::diagnosis::diagnose(&[fatal("/srv/cart.php"), changed("/srv/cart.php")]);
        assert_eq!(d[0].rule, "fatal-in-file-changed-since-snapshot");
        assert!(
            d[0].headline.starts_with(
                "cart.php changed since the last good snapshot (2 h ago) and now fails at line 88"
            ),
            "{}",
            d[0].headline
        );
        assert_eq!(d[0].evidence.len(), 2);
        assert!(d[0].linked);
    }

    #[test]
    fn another_file_changed_is_no_link() {
        let d = crate::diagnosis::diagnose(&[fatal("/srv/cart.php"), changed("/srv/other.php")]);
        assert!(
            d.iter()
                .all(|d| d.rule != "fatal-in-file-changed-since-snapshot"),
            "{d:#?}"
        );
    }
}
