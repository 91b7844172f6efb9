//! A path a log could not open ↔ the permissions finding on that path or a directory above it.

use super::{Diagnosis, Found, Rule, is_under};
use crate::finding::Cause;

pub static RULE: Rule = Rule {
    name: "denied-path-mode",
    about: "a log says permission denied on a path whose mode a permissions check flags",
    link,
};

fn link(found: &[Found<'_>]) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    for denied in found
        .iter()
        .filter(|f| f.kind() == "log" && f.finding.cause == Cause::Permissions)
    {
        let Some(path) = denied.finding.subject.file() else {
            continue;
        };
        // The deepest flagged path that is this one or a directory on the way to it.
        let Some(mode) = found
            .iter()
            .filter(|m| {
                m.kind() != "log"
                    && m.finding.cause == Cause::Permissions
                    && m.is_problem()
                    && m.finding.subject.file().is_some_and(|q| is_under(path, q))
            })
            .max_by_key(|m| m.finding.subject.file().map_or(0, str::len))
        else {
            continue;
        };
        out.push(super::linked(
            &RULE,
            denied,
            mode,
            format!(
                "{path} cannot be opened ({}): {}",
                denied.check.id, mode.finding.text
            ),
            115,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::check::Status;
    use crate::finding::Cause;

    #[test]
    fn links_denied_to_the_directory_mode() {
        let checks = vec![
            result(
                "errors",
                "log",
                Status::Fail,
                vec![finding(
                    path("/var/www/html/index.php", None),
                    Cause::Permissions,
                    Status::Fail,
                    "Unable to open primary script",
                )],
            ),
            result(
                "webroot",
                "permissions",
                Status::Fail,
                vec![
                    finding(
                        path("/var/www", None),
                        Cause::Permissions,
                        Status::Fail,
                        "www-data cannot enter /var/www (0700)",
                    )
                    .fix("chmod 755 /var/www"),
                    finding(
                        path("/var/www/htmlx", None),
                        Cause::Permissions,
                        Status::Fail,
                        "other",
                    )
                    .fix("chmod 755 /var/www/htmlx"),
                ],
            ),
        ];
        let d = crate::diagnosis::diagnose(&checks);
        assert_eq!(d[0].rule, "denied-path-mode");
        assert_eq!(d[0].fix.as_deref(), Some("chmod 755 /var/www"));
    }
}
