//! `tcp`: a dependency's port accepts connections (database, cache, mail), in time, and with
//! `tls = true` its certificate is trusted and not about to expire.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use toml::Spanned;

use super::http::{CERT_FAIL_DAYS, CERT_WARN_DAYS, cert_days};
use super::{FieldDoc, Kind, Spec};
use crate::check::{Check, Ctx, Fix, Metric, Outcome, Status};
use crate::config::SpanError;
use crate::net::{judge_latency, latency_order, redact, tls};
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
                return Ok(Outcome::new(Status::Fail, why)
                    .fix("check the host name, /etc/hosts and the resolver in /etc/resolv.conf (`getent hosts NAME`)"));
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
                return Ok(Outcome::new(Status::Fail, why).fix(fix));
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
                    return Ok(Outcome::new(Status::Fail, format!("connected to {peer}, but {e:#}"))
                        .fix("is this port TLS from the first byte? STARTTLS ports (25, 587, 5432) are not"));
                }
                Ok(p) => {
                    if let Some(c) = &p.cert {
                        let (s, metric) = tls::judge_expiry(c, self.cert_warn, self.cert_fail);
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
                        return Ok(out
                            .status_summary(
                                Status::Fail,
                                format!("TLS failure on {peer}: {}{cert_note}", problem.text),
                            )
                            .fix(fix));
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
        if status != Status::Pass && cert_status != Status::Pass {
            out.fix = Some(Fix {
                text: "renew the certificate before it expires (e.g. `certbot renew`)".into(),
                automatic: false,
            });
        }
        Ok(out.status_summary(
            status,
            if lat == Status::Pass {
                summary
            } else {
                format!("slow: {summary}")
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::split_address;

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
