//! The site answered an error and no log entry explains it: say which logs were read and
//! how far back, and where to look next — never a cause the evidence does not show.

use super::{Diagnosis, Found};
use crate::finding::{Cause, Subject};
use crate::report::CheckResult;

pub const NAME: &str = "site-unexplained";

/// For each error answer of the site with no log entry from its time: what was read.
pub fn unexplained(checks: &[CheckResult], found: &[Found<'_>]) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    for answer in found.iter().filter(|f| {
        f.kind() == "http"
            && f.is_problem()
            && f.finding.cause == Cause::Code
            && matches!(f.finding.subject, Subject::Url { .. })
    }) {
        let explained = found.iter().any(|l| {
            l.kind() == "log"
                && l.is_problem()
                && match (answer.finding.at, answer.finding.until, l.finding.at) {
                    (Some(a), Some(u), Some(t)) => t >= a && t <= u + 1,
                    _ => false,
                }
        });
        let Subject::Url { url } = &answer.finding.subject else {
            continue;
        };
        if explained {
            continue;
        }
        // What the log checks say they read: their summaries name the files and the window.
        let read: Vec<String> = checks
            .iter()
            .filter(|c| c.kind == "log")
            .map(|c| format!("{}: {}", c.id, c.summary))
            .collect();
        let what_was_read = if read.is_empty() {
            "no log is read by this checklist".to_string()
        } else {
            format!("read: {}", read.join("; "))
        };
        out.push(Diagnosis {
            cause: Cause::Code,
            subject: Some(answer.finding.subject.clone()),
            headline: format!(
                "{url} answers {}, and no log read here has an entry from that request ({what_was_read})",
                answer.finding.text.split(" (expected").next().unwrap_or_default()
            ),
            evidence: vec![answer.evidence()],
            fix: Some(
                "the error is logged where this run does not look: the app server's own log or journal (`journalctl -u UNIT --since -5min`), or PHP's error_log (is `log_errors = On`, and where does the pool's `error_log` point?); add that file as a `log` check"
                    .into(),
            ),
            linked: false,
            rule: NAME,
            weight: 85,
            also: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::check::Status;
    use crate::finding::{Cause, Subject};

    #[test]
    fn says_what_was_read_when_nothing_explains_the_500() {
        let url = Subject::Url {
            url: "http://127.0.0.1/".into(),
        };
        let mut logs = result("error-logs", "log", Status::Pass, vec![]);
        logs.summary = "no errors in the last 1 h in 3 files (read 2.0 KiB)".into();
        let checks = vec![
            result(
                "site",
                "http",
                Status::Fail,
                vec![
                    finding(
                        url,
                        Cause::Code,
                        Status::Fail,
                        "HTTP 500 Internal Server Error (expected 2xx or 3xx)",
                    )
                    .during(100, 101),
                ],
            ),
            logs,
        ];
        let d = crate::diagnosis::diagnose(&checks);
        assert_eq!(d[0].rule, "site-unexplained", "{d:#?}");
        assert!(!d[0].linked);
        assert!(
            d[0].headline
                .contains("error-logs: no errors in the last 1 h in 3 files"),
            "{}",
            d[0].headline
        );
        assert_eq!(
            d.len(),
            1,
            "the http check itself is not a second cause: {d:#?}"
        );
    }
}
