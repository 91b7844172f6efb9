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

pub fn describe_reqwest(e: &reqwest::Error, phase: Phase, timeout: std::time::Duration) -> String {
    let t = crate::units::fmt_duration(timeout);
    if e.is_redirect() {
        return "too many redirects (more than 10: a redirect loop?)".into();
    }
    if let Some(r) = find::<rustls::Error>(e) {
        return format!("TLS failure: {}", super::tls::describe(r));
    }
    if let Some(io) = find::<std::io::Error>(e) {
        match io.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                return "connection refused (nothing listens on that port)".into();
            }
            std::io::ErrorKind::ConnectionReset => {
                return "the connection was reset by the server".into();
            }
            std::io::ErrorKind::TimedOut if e.is_connect() => {
                return format!("timed out after {t} while connecting");
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
        return format!("TLS failure: {}", innermost(e));
    }
    if chain.contains("dns error") || chain.contains("failed to lookup address") {
        return "the host name could not be resolved".into();
    }
    if e.is_timeout() {
        return match (e.is_connect(), phase) {
            (true, _) => format!("timed out after {t} while connecting (TCP or TLS handshake)"),
            (false, Phase::Request) => {
                format!("timed out after {t} waiting for the response (connected, but no answer)")
            }
            (false, Phase::Body) => format!("timed out after {t} while reading the response body"),
        };
    }
    if e.is_connect() {
        return format!("could not connect: {}", innermost(e));
    }
    format!("request failed: {}", innermost(e))
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
