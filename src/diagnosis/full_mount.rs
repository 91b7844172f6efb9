//! A path a write failed on for lack of space ↔ the full mount that holds it.

use super::{Diagnosis, Found, Rule, is_under};
use crate::finding::{Cause, Subject};

pub static RULE: Rule = Rule {
    name: "no-space-mount",
    about: "a write failed for lack of space on a path whose mount a disk check flags",
    link,
};

fn link(found: &[Found<'_>]) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    for write in found.iter().filter(|f| {
        f.finding.cause == Cause::Resources && matches!(f.finding.subject, Subject::Path { .. })
    }) {
        let Some(path) = write.finding.subject.file() else {
            continue;
        };
        let Some((mount, full)) = found
            .iter()
            .filter(|m| m.is_problem())
            .filter_map(|m| match &m.finding.subject {
                Subject::Mount { mount } if is_under(path, mount) => Some((mount, m)),
                _ => None,
            })
            .max_by_key(|(mount, _)| mount.len())
        else {
            continue;
        };
        out.push(super::linked(
            &RULE,
            write,
            full,
            format!(
                "{mount} is full, and writing {path} failed for lack of space: {}",
                full.finding.text
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
    use crate::finding::{Cause, Subject};

    #[test]
    fn links_the_innermost_mount() {
        let m = |p: &str| Subject::Mount { mount: p.into() };
        let checks = vec![
            result(
                "errors",
                "log",
                Status::Fail,
                vec![finding(
                    path("/var/www/cache/x", None),
                    Cause::Resources,
                    Status::Fail,
                    "No space left on device",
                )],
            ),
            result(
                "disk",
                "disk",
                Status::Fail,
                vec![
                    finding(m("/"), Cause::Resources, Status::Fail, "/ is 99% full")
                        .fix("du -xh / | sort -h"),
                    finding(
                        m("/var/www/cache"),
                        Cause::Resources,
                        Status::Fail,
                        "/var/www/cache is 100% full",
                    )
                    .fix("du -xh /var/www/cache | sort -h"),
                ],
            ),
        ];
        let d = crate::diagnosis::diagnose(&checks);
        assert_eq!(d[0].rule, "no-space-mount");
        assert_eq!(d[0].fix.as_deref(), Some("du -xh /var/www/cache | sort -h"));
    }
}
