//! An upstream or dependency a log says it could not reach ↔ the check that probed that
//! address, process or unit: which one is down or slow.

use super::{Diagnosis, Found, Rule};
use crate::finding::{Cause, Subject};

pub static RULE: Rule = Rule {
    name: "unreachable-peer",
    about: "a log names an address it could not reach, and a check of that address fails",
    link,
};

fn link(found: &[Found<'_>]) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    for symptom in found.iter().filter(|f| {
        f.kind() == "log" && matches!(f.finding.cause, Cause::Dependency | Cause::Timeout)
    }) {
        let Subject::Address { address } = &symptom.finding.subject else {
            continue;
        };
        let Some(probe) = found.iter().find(|p| {
            p.kind() != "log"
                && p.is_problem()
                && matches!(&p.finding.subject, Subject::Address { address: a } if a == address)
        }) else {
            continue;
        };
        out.push(super::linked(
            &RULE,
            symptom,
            probe,
            format!("{address}: {}", probe.finding.text),
            110,
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
    fn names_the_dead_peer_not_php_fpm() {
        let a = |s: &str| Subject::Address { address: s.into() };
        let checks = vec![
            result(
                "errors",
                "log",
                Status::Fail,
                vec![finding(
                    a("127.0.0.1:8099"),
                    Cause::Timeout,
                    Status::Fail,
                    "upstream timed out",
                )],
            ),
            result("php-fpm", "process", Status::Pass, vec![]),
            result(
                "payments",
                "tcp",
                Status::Fail,
                vec![
                    finding(
                        a("127.0.0.1:8099"),
                        Cause::Timeout,
                        Status::Fail,
                        "accepts but does not answer within 5 s",
                    )
                    .fix("restart the payments API"),
                ],
            ),
        ];
        let d = crate::diagnosis::diagnose(&checks);
        assert_eq!(d[0].rule, "unreachable-peer");
        assert!(d[0].headline.starts_with("127.0.0.1:8099"));
        assert_eq!(d[0].fix.as_deref(), Some("restart the payments API"));
    }
}
