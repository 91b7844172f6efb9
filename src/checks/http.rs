//! `http`: the app's own URL or a dependency's: status, latency, body and certificate
//! expiry, with the precise reason when it fails and no secret ever shown.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use toml::Spanned;

use super::judge::{judge_expiry, judge_latency, latency_order};
use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::finding::{Cause as FindingCause, Finding, Subject};
use crate::net::errors::{self, Cause, Phase};
use crate::net::{redact, tls};
use crate::span::SpanError;
use crate::units::{Dur, fmt_bytes, fmt_duration};

pub static KIND: Kind = Kind {
    name: "http",
    summary: "an HTTP(S) URL answers as expected, in time, with a valid certificate",
    why: "The site's own URL answering 500 is the symptom itself; a payment, mail or search API \
          that is down, slow or serving an expired certificate makes the app fail in turn.",
    looks_at: "One request (following up to 10 redirects unless told not to): the final status, \
               the time to the whole response, optionally the body, and for https the days left \
               on the server's certificate. Credentials in the URL, secret-looking query \
               parameters and header values are never shown.",
    fixes: "Depends on the reason given: a 500 points at the app's error log; refused means the \
            service is down (start it); a timeout in connecting means a firewall or a dead host, \
            in waiting means the app is overloaded; an expired or untrusted certificate needs \
            renewing (`certbot renew`) or `ca_file`.",
    field_docs: &[
        FieldDoc {
            name: "url",
            ty: "URL",
            default: "—",
            doc: "What to request (required).",
        },
        FieldDoc {
            name: "method",
            ty: "string",
            default: "\"GET\"",
            doc: "GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS.",
        },
        FieldDoc {
            name: "headers",
            ty: "table",
            default: "{}",
            doc: "Request headers; values are never shown.",
        },
        FieldDoc {
            name: "body",
            ty: "string",
            default: "none",
            doc: "Request body.",
        },
        FieldDoc {
            name: "expect_status",
            ty: "list of integers",
            default: "any 2xx or 3xx",
            doc: "Accepted final statuses, e.g. [200, 301].",
        },
        FieldDoc {
            name: "body_contains",
            ty: "string",
            default: "none",
            doc: "Fail unless the body (first MiB) contains this text.",
        },
        FieldDoc {
            name: "body_regex",
            ty: "regex",
            default: "none",
            doc: "Fail unless the body (first MiB) matches.",
        },
        FieldDoc {
            name: "warn_latency",
            ty: "duration",
            default: "none",
            doc: "Warn when the response takes longer.",
        },
        FieldDoc {
            name: "fail_latency",
            ty: "duration",
            default: "none",
            doc: "Fail when it takes longer.",
        },
        FieldDoc {
            name: "follow_redirects",
            ty: "bool",
            default: "true",
            doc: "Follow up to 10 redirects.",
        },
        FieldDoc {
            name: "ca_file",
            ty: "path",
            default: "none",
            doc: "A PEM file of extra CAs to trust (a private CA); a certificate in it that the server presents as it is (a self-signed one) is trusted too, its name and dates still checked.",
        },
        FieldDoc {
            name: "insecure",
            ty: "bool",
            default: "false",
            doc: "Do not verify the certificate (said in the summary); its expiry is still judged.",
        },
        CERT_WARN_DAYS,
        CERT_FAIL_DAYS,
        FieldDoc {
            name: "retries",
            ty: "integer",
            default: "0",
            doc: "Try again this many times after a failure; passing only on a retry is `warn`.",
        },
        FieldDoc {
            name: "retry_delay",
            ty: "duration",
            default: "\"1s\"",
            doc: "Wait between tries.",
        },
        FieldDoc {
            name: "only_if_listening",
            ty: "bool",
            default: "false",
            doc: "For a URL on loopback (`localhost`, `127.x.x.x`, `[::1]`): `skip` when nothing listens on that address and port, or on a wildcard address covering it.",
        },
    ],
    example: r#"[[check]]
id = "site"
kind = "http"
url = "https://www.example.com/health"
expect_status = [200]
body_contains = "ok"
warn_latency = "500ms"
fail_latency = "2s"
timeout = "5s"
cert_warn_days = 14
retries = 1
"#,
    fields: super::fields_of::<HttpSpec>,
    build: super::build::<HttpSpec>,
    hidden: false,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpSpec {
    url: Spanned<String>,
    method: Option<Spanned<String>>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    expect_status: Option<Vec<Spanned<i64>>>,
    body_contains: Option<String>,
    body_regex: Option<Spanned<String>>,
    warn_latency: Option<Spanned<Dur>>,
    fail_latency: Option<Spanned<Dur>>,
    follow_redirects: Option<bool>,
    ca_file: Option<PathBuf>,
    #[serde(default)]
    insecure: bool,
    cert_warn_days: Option<Spanned<i64>>,
    cert_fail_days: Option<Spanned<i64>>,
    retries: Option<Spanned<i64>>,
    retry_delay: Option<Dur>,
    #[serde(default)]
    only_if_listening: bool,
}

/// The certificate fields `http` and `tcp` share.
pub const CERT_WARN_DAYS: FieldDoc = FieldDoc {
    name: "cert_warn_days",
    ty: "integer",
    default: "14",
    doc: "Warn when the certificate has fewer days left.",
};
pub const CERT_FAIL_DAYS: FieldDoc = FieldDoc {
    name: "cert_fail_days",
    ty: "integer",
    default: "3",
    doc: "Fail when it has fewer days left.",
};

/// Days-left thresholds, validated the same way by `http` and `tcp`.
pub fn cert_days(
    warn: &Option<Spanned<i64>>,
    fail: &Option<Spanned<i64>>,
) -> Result<(f64, f64), SpanError> {
    for d in [warn, fail].into_iter().flatten() {
        if *d.get_ref() < 0 {
            return Err(SpanError::new(d.span(), "days must not be negative"));
        }
    }
    let w = warn.as_ref().map_or(14, |d| *d.get_ref());
    let f = fail.as_ref().map_or(3, |d| *d.get_ref());
    if w < f {
        let span = warn.as_ref().or(fail.as_ref()).map_or(0..0, |d| d.span());
        return Err(SpanError::new(
            span,
            format!(
                "cert_warn_days {w} is looser than cert_fail_days {f}: the warning must come first"
            ),
        ));
    }
    Ok((w as f64, f as f64))
}

impl Spec for HttpSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        let url = reqwest::Url::parse(self.url.get_ref())
            .map_err(|e| SpanError::new(self.url.span(), format!("invalid URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SpanError::new(
                self.url.span(),
                "the URL must start with http:// or https://",
            ));
        }
        let method = match &self.method {
            None => reqwest::Method::GET,
            Some(m) => {
                let up = m.get_ref().to_ascii_uppercase();
                if !["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
                    .contains(&up.as_str())
                {
                    return Err(SpanError::new(
                        m.span(),
                        "method must be GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS",
                    ));
                }
                reqwest::Method::from_bytes(up.as_bytes()).expect("a known method")
            }
        };
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &self.headers {
            let name =
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).map_err(|_| SpanError {
                    span: None,
                    message: format!("headers: {k:?} is not a valid header name"),
                })?;
            let value = reqwest::header::HeaderValue::from_str(v).map_err(|_| SpanError {
                span: None,
                message: format!("headers: the value of {k:?} is not a valid header value"),
            })?;
            headers.insert(name, value);
        }
        let expect = match self.expect_status {
            None => None,
            Some(list) => {
                let mut v = Vec::new();
                for s in list {
                    if !(100..=599).contains(s.get_ref()) {
                        return Err(SpanError::new(
                            s.span(),
                            "an HTTP status is between 100 and 599",
                        ));
                    }
                    v.push(*s.get_ref() as u16);
                }
                Some(v)
            }
        };
        let body_regex = match &self.body_regex {
            None => None,
            Some(r) => Some(
                regex::Regex::new(r.get_ref())
                    .map_err(|e| SpanError::new(r.span(), format!("invalid regex: {e}")))?,
            ),
        };
        latency_order(&self.warn_latency, &self.fail_latency)?;
        let (cert_warn, cert_fail) = cert_days(&self.cert_warn_days, &self.cert_fail_days)?;
        let retries = match &self.retries {
            Some(r) if !(0..=10).contains(r.get_ref()) => {
                return Err(SpanError::new(r.span(), "retries must be between 0 and 10"));
            }
            Some(r) => *r.get_ref() as u32,
            None => 0,
        };
        let secrets = redact::Secrets::for_request(
            &url,
            self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            self.body.as_deref(),
        );
        Ok(Arc::new(Http {
            raw_url: self.url.into_inner(),
            secrets,
            url,
            method,
            headers,
            body: self.body,
            expect,
            body_contains: self.body_contains,
            body_regex,
            warn_latency: self.warn_latency.map(|d| d.into_inner().0),
            fail_latency: self.fail_latency.map(|d| d.into_inner().0),
            follow_redirects: self.follow_redirects.unwrap_or(true),
            ca_file: self.ca_file,
            insecure: self.insecure,
            cert_warn,
            cert_fail,
            retries,
            retry_delay: self.retry_delay.map_or(Duration::from_secs(1), |d| d.0),
            only_if_listening: self.only_if_listening,
        }))
    }
}

#[derive(Debug)]
struct Http {
    raw_url: String,
    /// Everything secret the request carries, in every form it may be echoed back in.
    secrets: redact::Secrets,
    url: reqwest::Url,
    method: reqwest::Method,
    headers: reqwest::header::HeaderMap,
    body: Option<String>,
    expect: Option<Vec<u16>>,
    body_contains: Option<String>,
    body_regex: Option<regex::Regex>,
    warn_latency: Option<Duration>,
    fail_latency: Option<Duration>,
    follow_redirects: bool,
    ca_file: Option<PathBuf>,
    insecure: bool,
    cert_warn: f64,
    cert_fail: f64,
    retries: u32,
    retry_delay: Duration,
    only_if_listening: bool,
}

/// The body is read up to this much for matching and for the first line of an error page.
const BODY_CAP: u64 = 1 << 20;

/// The URLs one try was redirected to, in order, as the client followed them.
type Chain = Arc<Mutex<Vec<reqwest::Url>>>;

impl Http {
    /// A client for one try; each redirect it follows is written down in `chain`.
    fn client(
        &self,
        timeout: Duration,
        chain: &Chain,
    ) -> anyhow::Result<reqwest::blocking::Client> {
        let tls = tls::client_config(self.ca_file.as_deref(), self.insecure)?;
        let policy = if self.follow_redirects {
            let (limit, chain) = (reqwest::redirect::Policy::limited(10), Arc::clone(chain));
            reqwest::redirect::Policy::custom(move |attempt| {
                if let Ok(mut c) = chain.lock() {
                    c.push(attempt.url().clone());
                }
                limit.redirect(attempt)
            })
        } else {
            reqwest::redirect::Policy::none()
        };
        reqwest::blocking::Client::builder()
            .tls_backend_preconfigured(tls)
            .tls_info(true)
            .redirect(policy)
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("sitedoctor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                anyhow::anyhow!(
                    "the HTTP client could not be set up: {}",
                    errors::reason(&e)
                )
            })
    }

    /// The URL as the client sends it: credentials go in a header, the fragment nowhere.
    /// Comparing with it tells a redirect from a URL merely told apart.
    fn url_as_sent(&self) -> reqwest::Url {
        let mut u = self.url.clone();
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u.set_fragment(None);
        u
    }

    /// The request's own secrets and those of every URL it was redirected to (a `Location`
    /// may carry a token the server then echoes back).
    fn secrets_of(&self, chain: &Chain) -> redact::Secrets {
        let mut s = self.secrets.clone();
        if let Ok(c) = chain.lock() {
            c.iter().for_each(|u| s.add_url(u));
        }
        s
    }

    /// One try, judged, with the secrets of every URL it went through masked.
    fn attempt(&self, timeout: Duration) -> anyhow::Result<Outcome> {
        let chain = Chain::default();
        let client = self.client(timeout, &chain)?;
        let out = self.exchange(&client, timeout, &chain);
        let secrets = self.secrets_of(&chain);
        Ok(out.masked(|t| secrets.mask(t)))
    }

    /// One request, judged. The outcome's status is its verdict.
    fn exchange(
        &self,
        client: &reqwest::blocking::Client,
        timeout: Duration,
        chain: &Chain,
    ) -> Outcome {
        let mut req = client
            .request(self.method.clone(), self.url.clone())
            .headers(self.headers.clone());
        if let Some(b) = &self.body {
            req = req.body(b.clone());
        }
        let t0 = Instant::now();
        let began = crate::finding::now_secs();
        let resp = match req.send() {
            Ok(r) => r,
            Err(e) => return self.failed(&e, Phase::Request, timeout),
        };
        let status = resp.status();
        let final_url = resp.url().clone();
        let cert = resp
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|i| i.peer_certificate())
            .and_then(tls::PeerCert::parse);
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mut body = Vec::new();
        if let Err(e) = resp.take(BODY_CAP).read_to_end(&mut body) {
            if let Some(re) = e.get_ref().and_then(|i| i.downcast_ref::<reqwest::Error>()) {
                return self.failed(re, Phase::Body, timeout);
            }
            return Outcome::new(
                Status::Fail,
                format!("reading the response failed: {}", crate::sys::io_reason(&e)),
            );
        }
        let took = t0.elapsed();

        let mut out = Outcome::pass("")
            .metric(
                Metric::new("latency_ms", took.as_millis() as f64, "ms").thresholds(
                    self.warn_latency.map(|d| d.as_millis() as f64),
                    self.fail_latency.map(|d| d.as_millis() as f64),
                ),
            )
            .metric(Metric::new("status_code", status.as_u16() as f64, ""));
        let status_text = format!(
            "HTTP {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        );
        out.details.push(format!(
            "{} {} → {status_text} in {}, {}",
            self.method,
            redact::url(self.url.as_str()),
            fmt_duration(took),
            fmt_bytes(body.len() as u64)
        ));
        if final_url != self.url_as_sent() {
            out.details.push(format!(
                "final URL after redirects: {}",
                redact::url(final_url.as_str())
            ));
        }
        let ok_status = match &self.expect {
            Some(list) => list.contains(&status.as_u16()),
            None => status.is_success() || status.is_redirection(),
        };
        if !ok_status {
            // Debug pages echo the request: mask before cutting, so no secret is left
            // half-shown, and after decoding HTML, so no way of escaping it hides one.
            let text = redact::html_decode(&String::from_utf8_lossy(&body));
            let masked = self.secrets_of(chain).mask(&text);
            let first = first_line(masked.as_bytes(), &content_type);
            let expected = self.expect.as_ref().map_or("2xx or 3xx".to_string(), |l| {
                l.iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ")
            });
            let mut summary = format!("{status_text} (expected {expected})");
            if !first.is_empty() {
                summary.push_str(&format!(": {first}"));
            }
            let advice = status_advice(status.as_u16());
            out.findings.push(
                Finding::new(
                    self.subject(),
                    cause_of_status(status.as_u16()),
                    Status::Fail,
                    summary.clone(),
                )
                .fix(advice.clone())
                .during(began, crate::finding::now_secs()),
            );
            out = out.status_summary(Status::Fail, summary);
            out.fix = Some(crate::check::Fix {
                text: advice,
                automatic: false,
            });
            return out;
        }
        let text = String::from_utf8_lossy(&body);
        if let Some(needle) = &self.body_contains
            && !text.contains(needle.as_str())
        {
            return out.status_summary(
                Status::Fail,
                format!("{status_text}, but the body does not contain {needle:?}"),
            );
        }
        if let Some(re) = &self.body_regex
            && !re.is_match(&text)
        {
            return out.status_summary(
                Status::Fail,
                format!(
                    "{status_text}, but the body does not match /{}/",
                    re.as_str()
                ),
            );
        }
        let mut status_v = judge_latency(took, self.warn_latency, self.fail_latency);
        let mut summary = format!("{status_text} in {}", fmt_duration(took));
        if status_v != Status::Pass {
            let limit = if status_v == Status::Fail {
                self.fail_latency
            } else {
                self.warn_latency
            };
            summary = format!(
                "slow: {status_text} took {} (limit {})",
                fmt_duration(took),
                fmt_duration(limit.unwrap_or_default())
            );
        }
        if let Some(c) = &cert {
            let (cs, metric) = judge_expiry(c, self.cert_warn, self.cert_fail);
            out.metrics.push(metric);
            out.details.push(format!(
                "certificate: {}; issued by {}; {}",
                c.subject,
                c.issuer,
                c.expiry_text()
            ));
            if cs != Status::Pass {
                summary = format!("{summary}; the certificate {}", c.expiry_text());
            } else {
                summary = format!("{summary}; certificate {}", c.expiry_text());
            }
            status_v = status_v.worse(cs);
        }
        if self.insecure && self.url.scheme() == "https" {
            summary.push_str(" (certificate not verified: insecure = true)");
        }
        if status_v != Status::Pass {
            let slow = judge_latency(took, self.warn_latency, self.fail_latency) != Status::Pass;
            let cause = if slow {
                FindingCause::Timeout
            } else {
                FindingCause::Config
            };
            out.findings.push(
                Finding::new(self.subject(), cause, status_v, summary.clone())
                    .during(began, crate::finding::now_secs()),
            );
        }
        out.status_summary(status_v, summary)
    }

    /// What this check's findings are about: its URL, without secrets.
    fn subject(&self) -> Subject {
        Subject::Url {
            url: redact::url(self.url.as_str()),
        }
    }

    /// A request that did not get an answer; for TLS failures, look at the certificate.
    fn failed(&self, e: &reqwest::Error, phase: Phase, timeout: Duration) -> Outcome {
        let mut cause = errors::cause(e, phase);
        let mut summary = match &cause {
            Cause::Refused => format!(
                "connection to {}:{} refused (nothing listens there)",
                self.url.host_str().unwrap_or("?"),
                self.url.port_or_known_default().unwrap_or(0)
            ),
            c => c.text(timeout),
        };
        let mut out = Outcome::new(Status::Fail, "");
        if let (Cause::Tls(_), Some(host)) = (&cause, self.url.host_str()) {
            // Look at the certificate itself: our verifier says precisely why it is refused.
            let port = self.url.port_or_known_default().unwrap_or(443);
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let probe = crate::net::resolve(host, port, timeout)
                .and_then(|addrs| crate::net::connect(&addrs, timeout))
                .ok()
                .and_then(|stream| {
                    tls::probe(stream, host, self.ca_file.as_deref(), true, timeout).ok()
                });
            if let Some(problem) = probe.as_ref().and_then(|p| p.problem.as_ref()) {
                cause = Cause::Tls(problem.clone());
                summary = cause.text(timeout);
            }
            if let Some(c) = probe.and_then(|p| p.cert) {
                out.details.push(format!(
                    "certificate: {}; issued by {}; {}",
                    c.subject,
                    c.issuer,
                    c.expiry_text()
                ));
                let (_, metric) = judge_expiry(&c, self.cert_warn, self.cert_fail);
                out.metrics.push(metric);
                if c.days_left() < 0.0 {
                    summary = format!("{summary} ({})", c.expiry_text());
                }
            }
        }
        let advice = cause.advice(self.ca_file.is_some());
        let kind = match &cause {
            Cause::Timeout { .. } => FindingCause::Timeout,
            Cause::Tls(_) => FindingCause::Config,
            _ => FindingCause::Dependency,
        };
        out.findings
            .push(Finding::new(self.subject(), kind, Status::Fail, summary.clone()).fix(advice));
        out.summary = summary;
        out.fix(advice)
    }
}

/// Which cause of a 500 an unexpected status points to: a 5xx the app or its upstream
/// answered, a 502/503/504 from a proxy whose upstream failed, or a client error that the
/// configuration (a rule, a missing file) gives.
fn cause_of_status(code: u16) -> FindingCause {
    match code {
        502 | 503 => FindingCause::Dependency,
        504 => FindingCause::Timeout,
        500..=599 => FindingCause::Code,
        _ => FindingCause::Config,
    }
}

/// What to do about an unexpected status.
fn status_advice(code: u16) -> String {
    match code {
        500 => "the app failed: read its newest error-log lines (PHP: the FPM log; nginx: /var/log/nginx/error.log) for the fatal error and the file and line it names".into(),
        502 | 504 => "the web server got no (timely) answer from the app server: is it running (`systemctl status php*-fpm`), and is it overloaded?".into(),
        503 => "the service is unavailable: maintenance mode, or no free workers".into(),
        401 | 403 => "access is refused: check the credentials, and that the web server can read the files (`sitedoctor --only files`)".into(),
        404 => "the path does not exist: check the URL and the web root".into(),
        _ => "compare the status with what the service should answer; its error log says why".into(),
    }
}

/// The first informative line of a response body: an HTML page's <title>, else the first
/// non-blank line with tags removed; at most 200 characters.
pub fn first_line(body: &[u8], content_type: &str) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]);
    let html = content_type.contains("html") || text.trim_start().starts_with('<');
    if html {
        let lower = text.to_ascii_lowercase();
        if let (Some(a), Some(b)) = (lower.find("<title>"), lower.find("</title>"))
            && b > a + 7
        {
            // `lower` has `text`'s byte layout: these are character boundaries of both.
            return clip(text.get(a + 7..b).unwrap_or("").trim());
        }
    }
    for line in text.lines() {
        let stripped = if html {
            strip_tags(line)
        } else {
            line.to_string()
        };
        let t = stripped.trim();
        if !t.is_empty() {
            return clip(t);
        }
    }
    String::new()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// One line of at most 200 characters.
fn clip(s: &str) -> String {
    crate::units::clip(&s.split_whitespace().collect::<Vec<_>>().join(" "), 200)
}

impl Check for Http {
    fn budget(&self, timeout: Duration) -> Duration {
        // Durations are capped when parsed, but a product must never panic or wrap: it
        // saturates at the cap, which is still safe to add to a clock.
        let tries = timeout.checked_mul(self.retries + 1);
        let waits = self.retry_delay.checked_mul(self.retries);
        tries
            .zip(waits)
            .and_then(|(t, w)| t.checked_add(w))
            .and_then(|d| d.checked_add(Duration::from_millis(500)))
            .map_or(crate::units::MAX_DURATION, |d| {
                d.min(crate::units::MAX_DURATION)
            })
    }

    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        if self.only_if_listening
            && let Some(addrs) = self.url.host_str().and_then(crate::net::loopback_addrs)
        {
            let port = self.url.port_or_known_default().unwrap_or(80);
            if !crate::sys::procfs::tcp_listening_on(&addrs, port) {
                let at: Vec<String> = addrs
                    .iter()
                    .map(|a| std::net::SocketAddr::new(*a, port).to_string())
                    .collect();
                return Ok(Outcome::skip(format!(
                    "nothing listens on {} here",
                    at.join(" or ")
                )));
            }
        }
        let tries = self.retries + 1;
        let mut failures: Vec<String> = Vec::new();
        let mut used = 0;
        let mut out = Outcome::pass("");
        for attempt in 1..=tries {
            used = attempt;
            let per_try = ctx.timeout.min(ctx.op_timeout());
            out = self.attempt(per_try)?;
            if out.status != Status::Fail || attempt == tries {
                break;
            }
            failures.push(out.summary.clone());
            std::thread::sleep(self.retry_delay.min(ctx.remaining()));
        }
        if !failures.is_empty() {
            if out.status == Status::Fail {
                out.summary = format!("{} (all {tries} tries failed)", out.summary);
            } else {
                out.status = out.status.worse(Status::Warn);
                out.summary = format!("passed on try {used} of {tries}: {}", out.summary);
            }
            for (i, why) in failures.iter().enumerate() {
                out.details.push(format!("try {} failed: {why}", i + 1));
            }
        }
        // Nothing the library or the server said may carry a secret of the request.
        Ok(out.masked(|t| self.secrets.mask(&redact::scrub(t, &self.raw_url))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_page_first_lines() {
        let page = b"<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>";
        assert_eq!(first_line(page, "text/html"), "500 Internal Server Error");
        assert_eq!(
            first_line(b"\n\nPHP Fatal error: boom in /a.php:3\nmore", "text/plain"),
            "PHP Fatal error: boom in /a.php:3"
        );
        assert_eq!(
            first_line(b"<p>Database <b>down</b></p>", ""),
            "Database down"
        );
        assert_eq!(first_line(&[b'x'; 500], "").chars().count(), 201);
    }
}
