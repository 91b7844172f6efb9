//! A fatal error's file ↔ the same file changed recently: the deploy broke it.

use super::{Diagnosis, Found, Rule};
use crate::finding::{Cause, Subject};

pub static RULE: Rule = Rule {
    name: "fatal-in-changed-file",
    about: "a fatal error points into a file that changed recently",
    link,
};

/// Every fatal error a log check found, with the file and line it points into: what the
/// rules linking a fatal to its file's change start from.
pub(super) fn fatals<'a, 'b>(
    found: &'b [Found<'a>],
) -> impl Iterator<Item = (&'b Found<'a>, &'b String, &'b Option<u32>)> {
    found
        .iter()
        .filter(|f| f.kind() == "log" && f.finding.cause == Cause::Code && f.is_problem())
        .filter_map(|f| match &f.finding.subject {
            Subject::Path { path, line } => Some((f, path, line)),
            _ => None,
        })
}

fn link(found: &[Found<'_>]) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    for (fatal, path, line) in fatals(found) {
        let Some(change) = found.iter().find(|c| {
            c.finding.cause == Cause::Deploy
                && !std::ptr::eq(c.check, fatal.check)
                && c.finding.subject.file() == Some(path.as_str())
        }) else {
            continue;
        };
        let at = line.map_or(path.clone(), |l| format!("{path}:{l}"));
        // About the fatal's own file and line: the change is what explains it.
        let mut d = super::linked(
            &RULE,
            fatal,
            change,
            format!(
                "{at} raises a fatal error, and the file changed recently ({}): the change is the likely cause",
                change.finding.text
            ),
            120,
        );
        d.cause = Cause::Code;
        d.subject = Some(fatal.finding.subject.clone());
        d.also = Some(format!(
            "the file changed recently ({}): the change is the likely cause",
            change.finding.text
        ));
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::check::Status;

    #[test]
    fn links_a_fatal_to_the_change_of_its_file() {
        let checks = vec![
            result(
                "errors",
                "log",
                Status::Fail,
                vec![finding(
                    path("/srv/a.php", Some(9)),
                    Cause::Code,
                    Status::Fail,
                    "12× Call to undefined function f()",
                )],
            ),
            result(
                "changes",
                "recent_changes",
                Status::Warn,
                vec![
                    finding(
                        path("/srv/a.php", None),
                        Cause::Deploy,
                        Status::Warn,
                        "modified 4 min ago",
                    )
                    .fix("git -C /srv log -1 -- a.php"),
                ],
            ),
        ];
        let d = crate::diagnosis::diagnose(&checks);
        assert_eq!(d[0].rule, "fatal-in-changed-file");
        assert!(
            d[0].headline
                .starts_with("/srv/a.php:9 raises a fatal error"),
            "{}",
            d[0].headline
        );
        assert_eq!(d[0].fix.as_deref(), Some("git -C /srv log -1 -- a.php"));
        assert_eq!(d[0].evidence.len(), 2);
        assert!(d[0].linked);
    }

    #[test]
    fn another_file_changed_is_no_link() {
        let checks = vec![
            result(
                "errors",
                "log",
                Status::Fail,
                vec![finding(
                    path("/srv/a.php", Some(9)),
                    Cause::Code,
                    Status::Fail,
                    "fatal",
                )],
            ),
            result(
                "changes",
                "recent_changes",
                Status::Warn,
                vec![finding(
                    path("/srv/b.php", None),
                    Cause::Deploy,
                    Status::Warn,
                    "modified",
                )],
            ),
        ];
        let d = crate::diagnosis::diagnose(&checks);
        assert!(d.iter().all(|d| !d.linked), "{d:#?}");
    }
}
