//! `dns`: a name resolves the way the app resolves it (the system resolver, so /etc/hosts
//! counts), in time, and to the expected addresses.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use serde::Deserialize;
use toml::Spanned;

use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::finding::{Cause, Finding, Subject};
use crate::span::SpanError;
use crate::units::fmt_duration;

pub static KIND: Kind = Kind {
    name: "dns",
    summary: "a host name resolves (through the system resolver) to the expected addresses",
    why: "When the database or an API host name stops resolving, or points at the old server \
          after a migration, every request that needs it fails.",
    looks_at: "getaddrinfo(), as the app does, so /etc/hosts and nsswitch.conf count; the time \
               it took, always bounded by the check's timeout.",
    fixes: "Fix the record at the DNS provider, or /etc/hosts; check /etc/resolv.conf points at a \
            working resolver.",
    field_docs: &[
        FieldDoc {
            name: "name",
            ty: "host name",
            default: "—",
            doc: "The name to resolve (required).",
        },
        FieldDoc {
            name: "expect",
            ty: "list of addresses",
            default: "none",
            doc: "Addresses that must all be among the answers.",
        },
    ],
    example: r#"[[check]]
id = "db-name"
kind = "dns"
name = "db.internal"
expect = ["10.0.0.5"]
timeout = "2s"
"#,
    fields: super::fields_of::<DnsSpec>,
    build: super::build::<DnsSpec>,
    hidden: false,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DnsSpec {
    name: Spanned<String>,
    #[serde(default)]
    expect: Vec<Spanned<String>>,
}

impl Spec for DnsSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        let name = self.name.get_ref().trim().trim_end_matches('.').to_string();
        if name.is_empty() || name.contains(char::is_whitespace) || name.contains('/') {
            return Err(SpanError::new(self.name.span(), "not a host name"));
        }
        let mut expect = Vec::new();
        for e in &self.expect {
            expect.push(e.get_ref().parse::<IpAddr>().map_err(|_| {
                SpanError::new(e.span(), format!("{:?} is not an IP address", e.get_ref()))
            })?);
        }
        Ok(Arc::new(Dns { name, expect }))
    }
}

#[derive(Debug)]
struct Dns {
    name: String,
    expect: Vec<IpAddr>,
}

impl Dns {
    /// A failure, and the same as a finding about the name (the summary already shows it,
    /// so no evidence line repeats it).
    fn problem(&self, out: Outcome, why: String, fix: String) -> Outcome {
        let finding = Finding::new(
            Subject::Address {
                address: self.name.clone(),
            },
            Cause::Dependency,
            Status::Fail,
            why.clone(),
        )
        .fix(fix.clone());
        let mut out = out.status_summary(Status::Fail, why).fix(fix);
        out.findings.push(finding);
        out
    }
}

impl Check for Dns {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let t0 = Instant::now();
        let addrs = match crate::net::resolve(&self.name, 0, ctx.op_timeout()) {
            Ok(a) => a,
            Err(why) => {
                return Ok(self.problem(
                    Outcome::pass(""),
                    why,
                    format!("getent hosts {}    # see what this host resolves; then fix the record, /etc/hosts or /etc/resolv.conf", self.name),
                ));
            }
        };
        let took = t0.elapsed();
        let mut ips: Vec<IpAddr> = addrs.iter().map(|a| a.ip()).collect();
        ips.sort();
        ips.dedup();
        let shown: Vec<String> = ips.iter().map(IpAddr::to_string).collect();
        let out = Outcome::pass("")
            .metric(Metric::new("latency_ms", took.as_millis() as f64, "ms"))
            .metric(Metric::new("answers", ips.len() as f64, ""))
            .detail(format!("answers: {}", shown.join(", ")));
        let missing: Vec<String> = self
            .expect
            .iter()
            .filter(|e| !ips.contains(e))
            .map(IpAddr::to_string)
            .collect();
        if !missing.is_empty() {
            return Ok(self.problem(
                out,
                format!("{} resolves to {}, not to {}", self.name, shown.join(", "), missing.join(", ")),
                "update the DNS record (or /etc/hosts) to the expected address; mind the record's TTL".into(),
            ));
        }
        Ok(out.status_summary(
            Status::Pass,
            format!(
                "{} resolves to {} in {}",
                self.name,
                shown.join(", "),
                fmt_duration(took)
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_wrong_answer_is_a_finding_about_the_name() {
        let d = Dns {
            name: "localhost".into(),
            expect: vec!["192.0.2.1".parse().unwrap()],
        };
        let ctx = Ctx::new("dns", Duration::from_secs(5), Duration::from_secs(5));
        let out = d.run(&ctx).unwrap();
        assert_eq!(out.status, Status::Fail, "{}", out.summary);
        assert_eq!(out.findings.len(), 1);
        let f = &out.findings[0];
        assert_eq!(
            f.subject,
            Subject::Address {
                address: "localhost".into()
            }
        );
        assert_eq!((f.cause, f.status), (Cause::Dependency, Status::Fail));
        assert!(f.text.ends_with("not to 192.0.2.1"), "{}", f.text);
        assert_eq!(f.fix, out.fix);
        // Shown once, as the summary; the evidence lines keep only the answers.
        assert!(out.details.iter().all(|d| d.starts_with("answers: ")));
    }
}
