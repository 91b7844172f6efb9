//! `tcp`: a dependency's port accepts connections (database, cache, mail), in time, and with
//! `tls = true` its certificate is trusted and not about to expire.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use toml::Spanned;

use super::http::{CERT_FAIL_DAYS, CERT_WARN_DAYS, cert_days};
use super::judge::{judge_expiry, judge_latency, latency_order};
use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::finding::{Cause, Finding, Subject};
use crate::net::{redact, tls};
use crate::span::SpanError;
use crate::units::{Dur, fmt_duration};

pub static KIND: Kind = Kind {
    name: "tcp",
    summary: "a TCP port accepts connections in time (optionally: its TLS certificate)",
    why: "When the database, Redis, memcached or the mail server cannot be reached, the app \
          fails on its first query and answers 500.",
    looks_at: "A TCP connection to `address` through the system resolver, and how long it took; \
               with `tls = true`, a TLS handshake (implicit TLS, as on ports 443, 465, 636, 993, \
               995 — not STARTTLS) with the certificate verified and its days left.",
    fixes: "Refused: the service is down, start it. Timed out: a firewall or a dead host. An \
            untrusted or expiring certificate: renew it, or give the private CA with `ca_file`.",
    field_docs: &[
        FieldDoc {
            name: "address",
            ty: "\"host:port\"",
            default: "—",
            doc: "Where to connect (required); IPv6 as \"[::1]:5432\".",
        },
        FieldDoc {
            name: "warn_latency",
            ty: "duration",
            default: "none",
            doc: "Warn when connecting (and the handshake) takes longer.",
        },
        FieldDoc {
            name: "fail_latency",
            ty: "duration",
            default: "none",
            doc: "Fail when it takes longer.",
        },
        FieldDoc {
            name: "tls",
            ty: "bool",
            default: "false",
            doc: "Also do a TLS handshake and judge the certificate.",
        },
        FieldDoc {
            name: "ca_file",
            ty: "path",
            default: "none",
            doc: "Extra CAs to trust, for `tls`; a certificate in it that the server presents as it is is trusted too.",
        },
        CERT_WARN_DAYS,
        CERT_FAIL_DAYS,
    ],
    example: r#"[[check]]
id = "postgres"
kind = "tcp"
address = "127.0.0.1:5432"
timeout = "2s"
warn_latency = "100ms"
"#,
    fields: super::fields_of::<TcpSpec>,
    build: super::build::<TcpSpec>,
    hidden: false,
    default_timeout: Some(Duration::from_secs(5)),
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TcpSpec {
    address: Spanned<String>,
    warn_latency: Option<Spanned<Dur>>,
    fail_latency: Option<Spanned<Dur>>,
    #[serde(default)]
    tls: bool,
    ca_file: Option<PathBuf>,
    cert_warn_days: Option<Spanned<i64>>,
    cert_fail_days: Option<Spanned<i64>>,
}

/// Split `host:port`, `[v6]:port`.
pub fn split_address(s: &str) -> Option<(String, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() || host.contains(':') && !s.starts_with('[') {
        return None;
    }
    Some((host.to_string(), port))
}

impl Spec for TcpSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        let (host, port) = split_address(self.address.get_ref()).ok_or_else(|| {
            SpanError::new(
                self.address.span(),
                "address must be \"host:port\" (IPv6: \"[::1]:5432\")",
            )
        })?;
        latency_order(&self.warn_latency, &self.fail_latency)?;
        let (cert_warn, cert_fail) = cert_days(&self.cert_warn_days, &self.cert_fail_days)?;
        Ok(Arc::new(Tcp {
            shown: redact::url(self.address.get_ref()),
            host,
            port,
            warn_latency: self.warn_latency.map(|d| d.into_inner().0),
            fail_latency: self.fail_latency.map(|d| d.into_inner().0),
            tls: self.tls,
            ca_file: self.ca_file,
            cert_warn,
            cert_fail,
        }))
    }
}

#[derive(Debug)]
struct Tcp {
    shown: String,
    host: String,
    port: u16,
    warn_latency: Option<Duration>,
    fail_latency: Option<Duration>,
    tls: bool,
    ca_file: Option<PathBuf>,
    cert_warn: f64,
    cert_fail: f64,
}

impl Check for Tcp {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let t0 = Instant::now();
        let addrs = match crate::net::resolve(&self.host, self.port, ctx.op_timeout()) {
            Ok(a) => a,
            Err(why) => {
                return Ok(self.problem(
                    Outcome::pass(""),
                    Status::Fail,
                    why,
                    "check the host name, /etc/hosts and the resolver in /etc/resolv.conf (`getent hosts NAME`)",
                ));
            }
        };
        let stream = match crate::net::connect(&addrs, ctx.op_timeout()) {
            Ok(s) => s,
            Err(why) => {
                let fix = if why.contains("refused") {
                    "start the service (`systemctl status …`), or correct the address"
                } else {
                    "no answer: a firewall dropping packets, or the host is down"
                };
                return Ok(self.problem(Outcome::pass(""), Status::Fail, why, fix));
            }
        };
        let peer = stream
            .peer_addr()
            .map_or_else(|_| self.shown.clone(), |a| a.to_string());
        let mut out = Outcome::pass("");
        let mut cert_status = Status::Pass;
        let mut cert_note = String::new();
        if self.tls {
            match tls::probe(
                stream,
                &self.host,
                self.ca_file.as_deref(),
                true,
                ctx.op_timeout(),
            ) {
                Err(e) => {
                    return Ok(self.problem(
                        Outcome::pass(""),
                        Status::Fail,
                        format!("connected to {peer}, but {e:#}"),
                        "is this port TLS from the first byte? STARTTLS ports (25, 587, 5432) are not",
                    ));
                }
                Ok(p) => {
                    if let Some(c) = &p.cert {
                        let (s, metric) = judge_expiry(c, self.cert_warn, self.cert_fail);
                        out.metrics.push(metric);
                        out.details.push(format!(
                            "certificate: {}; issued by {}; {}",
                            c.subject,
                            c.issuer,
                            c.expiry_text()
                        ));
                        cert_status = s;
                        cert_note = format!("; certificate {}", c.expiry_text());
                    }
                    if let Some(problem) = p.problem {
                        let fix = problem.remedy.advice(self.ca_file.is_some());
                        return Ok(self.problem(
                            out,
                            Status::Fail,
                            format!("TLS failure on {peer}: {}{cert_note}", problem.text),
                            fix,
                        ));
                    }
                }
            }
        }
        let took = t0.elapsed();
        out.metrics.insert(
            0,
            Metric::new("latency_ms", took.as_millis() as f64, "ms").thresholds(
                self.warn_latency.map(|d| d.as_millis() as f64),
                self.fail_latency.map(|d| d.as_millis() as f64),
            ),
        );
        let lat = judge_latency(took, self.warn_latency, self.fail_latency);
        let what = if self.tls {
            "TLS handshake with"
        } else {
            "connected to"
        };
        let summary = format!("{what} {peer} in {}{cert_note}", fmt_duration(took));
        let status = lat.worse(cert_status);
        let summary = if lat == Status::Pass {
            summary
        } else {
            format!("slow: {summary}")
        };
        if cert_status != Status::Pass {
            return Ok(self.problem(
                out,
                status,
                summary,
                "renew the certificate before it expires (e.g. `certbot renew`)",
            ));
        }
        if lat != Status::Pass {
            let mut out = out.status_summary(status, summary.clone());
            // Slow, not down: a dependency the site waits on, the way to a timeout.
            out.findings.push(Finding::new(
                self.subject(),
                Cause::Timeout,
                status,
                summary,
            ));
            return Ok(out);
        }
        Ok(out.status_summary(status, summary))
    }
}

impl Tcp {
    fn subject(&self) -> Subject {
        Subject::Address {
            address: self.shown.clone(),
        }
    }

    /// A failure about this address: the summary, the fix, and the same as a finding (the
    /// summary already shows it, so no evidence line repeats it). A time-out is a slow
    /// dependency; anything else one that is down or misconfigured.
    fn problem(&self, out: Outcome, status: Status, why: String, fix: &str) -> Outcome {
        let cause = if why.contains("timed out") {
            Cause::Timeout
        } else {
            Cause::Dependency
        };
        let mut out = out.status_summary(status, why.clone()).fix(fix);
        out.findings
            .push(Finding::new(self.subject(), cause, status, why).fix(fix));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(address: &str) -> Tcp {
        let (host, port) = split_address(address).unwrap();
        Tcp {
            shown: address.into(),
            host,
            port,
            warn_latency: None,
            fail_latency: None,
            tls: false,
            ca_file: None,
            cert_warn: 14.0,
            cert_fail: 3.0,
        }
    }

    #[test]
    fn a_refused_port_is_a_dependency_finding_about_its_address() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let address = format!("127.0.0.1:{port}");
        let ctx = Ctx::new("db", Duration::from_secs(2), Duration::from_secs(2));
        let out = tcp(&address).run(&ctx).unwrap();
        assert_eq!(out.status, Status::Fail);
        assert!(out.details.is_empty(), "{:?}", out.details);
        let f = &out.findings[0];
        assert_eq!(f.subject, Subject::Address { address });
        assert_eq!((f.cause, f.status), (Cause::Dependency, Status::Fail));
        assert_eq!(f.text, out.summary);
        assert_eq!(f.fix, out.fix);
        assert_eq!(out.findings.len(), 1);
    }

    #[test]
    fn a_time_out_is_a_timeout_finding() {
        let out = tcp("[::1]:6379").problem(
            Outcome::pass(""),
            Status::Fail,
            "timed out after 5 s connecting to [::1]:6379".into(),
            "no answer",
        );
        assert_eq!(out.summary, "timed out after 5 s connecting to [::1]:6379");
        let f = &out.findings[0];
        assert_eq!(
            f.subject,
            Subject::Address {
                address: "[::1]:6379".into()
            }
        );
        assert_eq!(f.cause, Cause::Timeout);
    }

    #[test]
    fn a_listening_port_has_no_finding() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = l.local_addr().unwrap().to_string();
        let ctx = Ctx::new("db", Duration::from_secs(2), Duration::from_secs(2));
        let out = tcp(&address).run(&ctx).unwrap();
        assert_eq!(out.status, Status::Pass, "{}", out.summary);
        assert!(out.findings.is_empty());
    }

    #[test]
    fn addresses() {
        assert_eq!(split_address("db:5432"), Some(("db".into(), 5432)));
        assert_eq!(split_address("[::1]:6379"), Some(("::1".into(), 6379)));
        assert_eq!(split_address("::1:6379"), None);
        assert_eq!(split_address("db"), None);
        assert_eq!(split_address("db:0"), None);
        assert_eq!(split_address(":80"), None);
    }
}
