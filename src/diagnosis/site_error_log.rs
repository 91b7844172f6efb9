//! The site's own error answer ↔ the log entry written while that request ran (its start to
//! its end plus a second, every time in UTC seconds): the log line that explains the 500.

use super::{Diagnosis, Found, Rule};
use crate::finding::{Cause, Subject};

pub static RULE: Rule = Rule {
    name: "site-error-log",
    about: "the site answered an error, and a log entry was written while that request ran",
    link,
};

fn link(found: &[Found<'_>]) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    for answer in found.iter().filter(|f| {
        f.kind() == "http"
            && f.is_problem()
            && matches!(f.finding.subject, Subject::Url { .. })
            && matches!(
                f.finding.cause,
                Cause::Code | Cause::Dependency | Cause::Timeout
            )
    }) {
        let (Some(from), Some(to)) = (answer.finding.at, answer.finding.until) else {
            continue;
        };
        // The newest entry inside the request's time is the one that explains it.
        let Some(entry) = found
            .iter()
            .filter(|l| {
                l.kind() == "log"
                    && l.is_problem()
                    && l.finding.at.is_some_and(|t| t >= from && t <= to + 1)
            })
            .max_by_key(|l| (l.finding.status.rank(), l.finding.at))
        else {
            continue;
        };
        let Subject::Url { url } = &answer.finding.subject else {
            continue;
        };
        out.push(super::linked(
            &RULE,
            answer,
            entry,
            format!(
                "{url} answered {}; while that request ran, {} logged: {}",
                short_status(&answer.finding.text),
                entry.check.id,
                without_count(&entry.finding.text)
            ),
            125,
        ));
    }
    out
}

/// `12× PHP Fatal error: …` → `PHP Fatal error: …`: the request wrote one of them.
fn without_count(text: &str) -> &str {
    match text.split_once("× ") {
        Some((n, rest)) if n.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => text,
    }
}

/// `HTTP 500 Internal Server Error (expected …): …` → `HTTP 500 Internal Server Error`.
fn short_status(text: &str) -> &str {
    text.split(" (expected").next().unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::check::Status;
    use crate::finding::{Cause, Subject};

    fn site(at: i64, until: i64) -> crate::report::CheckResult {
        let url = Subject::Url {
            url: "http://127.0.0.1:8080/".into(),
        };
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
                .during(at, until),
            ],
        )
    }

    fn log(at: i64) -> crate::report::CheckResult {
        result(
            "errors",
            "log",
            Status::Fail,
            vec![
                finding(
                    path("/srv/app/index.php", Some(7)),
                    Cause::Code,
                    Status::Fail,
                    "1× PHP Fatal error: boom",
                )
                .fix("open /srv/app/index.php at line 7")
                .at(at),
            ],
        )
    }

    #[test]
    fn links_the_entry_written_during_the_request() {
        let d = crate::diagnosis::diagnose(&[site(1000, 1002), log(1003)]);
        assert_eq!(d[0].rule, "site-error-log");
        assert_eq!(
            d[0].headline,
            "http://127.0.0.1:8080/ answered HTTP 500 Internal Server Error; while that request ran, errors logged: PHP Fatal error: boom"
        );
        assert_eq!(
            d[0].fix.as_deref(),
            Some("open /srv/app/index.php at line 7")
        );
    }

    #[test]
    fn an_entry_from_another_time_is_no_link() {
        let d = crate::diagnosis::diagnose(&[site(1000, 1002), log(900)]);
        assert!(d.iter().all(|d| d.rule != "site-error-log"), "{d:#?}");
    }
}
