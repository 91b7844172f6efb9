//! One precise sentence for a failed request: refused, not resolved, TLS and why, timed out
//! and in which phase, too many redirects. Built from the error chain, never from the
//! library's own text (which would repeat the URL, secrets included).

use std::error::Error as StdError;

/// The phase a request was in when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before response headers arrived.
    Request,
    /// Reading the body.
    Body,
}

/// Why a request got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    Redirects,
    /// A TLS failure, with rustls' reason when it could be read.
    Tls(String),
    Refused,
    Reset,
    Dns,
    /// Timed out in this phase; `true` while connecting (TCP or TLS handshake).
    Timeout {
        connecting: bool,
        phase: Phase,
    },
    Connect(String),
    Other(String),
}

impl Cause {
    /// One sentence, with the timeout that ran out.
    pub fn text(&self, timeout: std::time::Duration) -> String {
        let t = crate::units::fmt_duration(timeout);
        match self {
            Cause::Redirects => "too many redirects (more than 10: a redirect loop?)".into(),
            Cause::Tls(why) => format!("TLS failure: {why}"),
            Cause::Refused => "connection refused (nothing listens on that port)".into(),
            Cause::Reset => "the connection was reset by the server".into(),
            Cause::Dns => "the host name could not be resolved".into(),
            Cause::Timeout {
                connecting: true, ..
            } => {
                format!("timed out after {t} while connecting (TCP or TLS handshake)")
            }
            Cause::Timeout {
                phase: Phase::Request,
                ..
            } => {
                format!("timed out after {t} waiting for the response (connected, but no answer)")
            }
            Cause::Timeout {
                phase: Phase::Body, ..
            } => format!("timed out after {t} while reading the response body"),
            Cause::Connect(why) => format!("could not connect: {why}"),
            Cause::Other(why) => format!("request failed: {why}"),
        }
    }

    /// What to do about it, where that does not depend on the service.
    pub fn advice(&self) -> Option<&'static str> {
        match self {
            Cause::Refused => Some(
                "start the service that should listen there (`systemctl status …`), or correct the URL",
            ),
            Cause::Dns => Some(
                "check the host name, /etc/hosts and the resolver in /etc/resolv.conf (`getent hosts NAME`)",
            ),
            Cause::Timeout {
                connecting: true, ..
            } => Some(
                "no answer to the connection: a firewall dropping packets, or the host is down",
            ),
            Cause::Timeout { .. } => Some(
                "the service accepted the connection but did not answer in time: it is stuck or overloaded; look at its load, workers and error log",
            ),
            Cause::Tls(_) => Some(
                "renew the certificate (e.g. `certbot renew`), or, for a private CA or a self-signed certificate, set `ca_file`",
            ),
            _ => None,
        }
    }
}

pub fn cause(e: &reqwest::Error, phase: Phase) -> Cause {
    if e.is_redirect() {
        return Cause::Redirects;
    }
    if let Some(r) = find::<rustls::Error>(e) {
        return Cause::Tls(super::tls::describe(r));
    }
    if let Some(io) = find::<std::io::Error>(e) {
        match io.kind() {
            std::io::ErrorKind::ConnectionRefused => return Cause::Refused,
            std::io::ErrorKind::ConnectionReset => return Cause::Reset,
            std::io::ErrorKind::TimedOut if e.is_connect() => {
                return Cause::Timeout {
                    connecting: true,
                    phase,
                };
            }
            _ => {}
        }
    }
    let chain = chain_text(e);
    // rustls errors sit behind type-erased layers; what they say is stable enough to spot.
    if [
        "invalid peer certificate",
        "peer is incompatible",
        "received fatal alert",
        "tls handshake",
        "InvalidContentType",
        "corrupt message",
    ]
    .iter()
    .any(|m| chain.contains(m))
    {
        return Cause::Tls(innermost(e));
    }
    if chain.contains("dns error") || chain.contains("failed to lookup address") {
        return Cause::Dns;
    }
    if e.is_timeout() {
        return Cause::Timeout {
            connecting: e.is_connect(),
            phase,
        };
    }
    if e.is_connect() {
        return Cause::Connect(innermost(e));
    }
    Cause::Other(innermost(e))
}

fn find<'a, T: StdError + 'static>(e: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(t) = inner.downcast_ref::<T>()
        {
            return Some(t);
        }
        cur = err.source();
    }
    None
}

fn chain_text(e: &(dyn StdError + 'static)) -> String {
    let mut parts = Vec::new();
    let mut cur = e.source();
    while let Some(err) = cur {
        parts.push(err.to_string());
        cur = err.source();
    }
    parts.join(": ")
}

/// The deepest cause: the most specific and the least likely to quote the URL.
fn innermost(e: &(dyn StdError + 'static)) -> String {
    let mut cur: &(dyn StdError + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
