//! A server's log says it ran out of file descriptors ↔ the fds finding for that server's
//! process (the log belongs to it: nginx's log, PHP-FPM's log).

use super::{Diagnosis, Found, Rule};
use crate::finding::{Cause, Subject};

pub static RULE: Rule = Rule {
    name: "fds-exhausted",
    about: "a server logged \"Too many open files\", and its process is at its descriptor limit",
    link,
};

/// `php-fpm8.2` → `php`, `nginx` → `nginx`: the stem a server's log path names.
fn stem(name: &str) -> &str {
    name.split(|c: char| c == '-' || c == '.' || c.is_ascii_digit())
        .next()
        .unwrap_or(name)
}

fn link(found: &[Found<'_>]) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    for symptom in found.iter().filter(|f| {
        f.kind() == "log"
            && f.finding.cause == Cause::Resources
            && f.finding.text.contains("Too many open files")
    }) {
        let log = symptom.finding.subject.file().unwrap_or_default();
        let Some(proc) = found.iter().find(|p| {
            p.kind() == "fds"
                && p.is_problem()
                && matches!(&p.finding.subject, Subject::Process { name, .. }
                    if stem(name).len() >= 3 && log.contains(stem(name)))
        }) else {
            continue;
        };
        out.push(super::linked(
            &RULE,
            symptom,
            proc,
            format!(
                "{} ran out of file descriptors ({} logged \"Too many open files\"): {}",
                proc.finding.subject.label(),
                symptom.check.id,
                proc.finding.text
            ),
            112,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::check::Status;
    use crate::finding::{Cause, Subject};

    #[test]
    fn links_the_log_to_its_servers_descriptors() {
        let p = |name: &str| Subject::Process {
            name: name.into(),
            pid: Some(7),
        };
        let checks = vec![
            result(
                "errors",
                "log",
                Status::Fail,
                vec![finding(
                    path("/var/log/nginx/error.log", None),
                    Cause::Resources,
                    Status::Fail,
                    "3× accept4() failed (24: Too many open files)",
                )],
            ),
            result(
                "fds",
                "fds",
                Status::Fail,
                vec![
                    finding(
                        p("php-fpm8.2"),
                        Cause::Resources,
                        Status::Fail,
                        "php-fpm8.2 (pid 7): 1000 of 1024 open",
                    )
                    .fix("raise php"),
                    finding(
                        p("nginx"),
                        Cause::Resources,
                        Status::Fail,
                        "nginx (pid 7): 1020 of 1024 open",
                    )
                    .fix("systemctl edit nginx"),
                ],
            ),
        ];
        let d = crate::diagnosis::diagnose(&checks);
        assert_eq!(d[0].rule, "fds-exhausted");
        assert_eq!(d[0].fix.as_deref(), Some("systemctl edit nginx"));
        assert_eq!(super::stem("php-fpm8.2"), "php");
    }
}
