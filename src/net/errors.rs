//! One precise sentence for a failed request: refused, not resolved, TLS and why, timed out
//! and in which phase, too many redirects. Built from the error chain, never from the
//! library's own text (which would repeat the URL, secrets included).

use std::error::Error as StdError;

use super::tls_reason::{self, Problem, Remedy};

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
    /// A TLS failure, with rustls' reason in words.
    Tls(Problem),
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
            Cause::Tls(why) => format!("TLS failure: {}", why.text),
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

    /// What to do about it; `ca_file` says whether the check already names one.
    pub fn advice(&self, ca_file: bool) -> &'static str {
        match self {
            Cause::Redirects => {
                "follow the redirects by hand (`curl -sIL URL`) to find the loop: often http and https, or a trailing slash, sent back and forth between the app and its proxy"
            }
            Cause::Refused => {
                "start the service that should listen there (`systemctl status …`), or correct the URL"
            }
            Cause::Reset => {
                "the service dropped the connection: look at its error log (a crash, a worker limit, or a proxy in front of it)"
            }
            Cause::Dns => {
                "check the host name, /etc/hosts and the resolver in /etc/resolv.conf (`getent hosts NAME`)"
            }
            Cause::Timeout {
                connecting: true, ..
            } => "no answer to the connection: a firewall dropping packets, or the host is down",
            Cause::Timeout { .. } => {
                "the service accepted the connection but did not answer in time: it is stuck or overloaded; look at its load, workers and error log"
            }
            Cause::Tls(p) => p.remedy.advice(ca_file),
            Cause::Connect(_) => {
                "check that the address is reachable from this host (`ip route get ADDRESS`, the firewall)"
            }
            Cause::Other(_) => {
                "repeat the request with `curl -v` to see where it breaks, and look at the service's error log"
            }
        }
    }
}

pub fn cause(e: &reqwest::Error, phase: Phase) -> Cause {
    if e.is_redirect() {
        return Cause::Redirects;
    }
    if let Some(r) = find::<rustls::Error>(e) {
        return Cause::Tls(tls_reason::describe(r));
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
        return Cause::Tls(Problem {
            text: "the TLS handshake failed".into(),
            remedy: Remedy::Server,
        });
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
        return Cause::Connect(reason(e));
    }
    Cause::Other(reason(e))
}

/// The error and its causes, outermost first. An `io::Error` wrapping another error (hyper
/// wraps rustls' in two) hides it from `source()`; it is looked into.
fn causes<'a>(
    e: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(e), |&err: &&'a (dyn StdError + 'static)| {
        match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => err.source(),
        }
    })
}

fn find<'a, T: StdError + 'static>(e: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    causes(e).find_map(|err| err.downcast_ref::<T>())
}

fn chain_text(e: &(dyn StdError + 'static)) -> String {
    causes(e)
        .skip(1)
        .map(|err| err.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// The deepest cause in words: the most specific and the least likely to quote the URL.
/// A library text that is `Debug` output, or reqwest's own (which names the URL), gives way
/// to a sentence for the kind of failure.
pub fn reason(e: &reqwest::Error) -> String {
    let cur = causes(e).last().unwrap_or(e);
    let text = match cur.downcast_ref::<std::io::Error>() {
        Some(io) => crate::sys::io_reason(io),
        None => cur.to_string(),
    };
    if cur.is::<reqwest::Error>() || text.trim().is_empty() || looks_like_debug(&text) {
        return kind_sentence(e).to_string();
    }
    text
}

/// What reqwest's kind of error says, for when no deeper cause reads well.
fn kind_sentence(e: &reqwest::Error) -> &'static str {
    if e.is_builder() {
        "the request could not be built (check the URL, the method and the headers)"
    } else if e.is_connect() {
        "the connection could not be made"
    } else if e.is_body() {
        "the response body could not be read (the connection broke)"
    } else if e.is_decode() {
        "the response body could not be decoded"
    } else if e.is_status() {
        "the server answered with an error status"
    } else if e.is_upgrade() {
        "the connection could not be upgraded"
    } else if e.is_request() {
        "the request could not be sent, or the answer was not HTTP"
    } else {
        "the request failed"
    }
}

/// Whether a library's text is Rust `Debug` output (`Other(OtherError(CaUsedAsEndEntity))`,
/// `Kind { .. }`, `a::b`) rather than words.
pub fn looks_like_debug(text: &str) -> bool {
    let camel = text
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .any(|w| {
            w.starts_with(|c: char| c.is_ascii_uppercase())
                && w.as_bytes()
                    .windows(2)
                    .any(|p| p[0].is_ascii_lowercase() && p[1].is_ascii_uppercase())
        });
    let call = text
        .as_bytes()
        .windows(2)
        .any(|p| (p[0].is_ascii_alphanumeric() || p[0] == b'_') && (p[1] == b'(' || p[1] == b'{'));
    // `client error (Connect)`: a variant's name in parentheses.
    let variant = text.split('(').skip(1).any(|rest| {
        let word = rest.split(')').next().unwrap_or("");
        let mut chars = word.chars();
        chars.next().is_some_and(|c| c.is_ascii_uppercase())
            && chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && word.chars().all(|c| c.is_ascii_alphanumeric())
    });
    camel || call || variant || text.contains("::") || text.contains(" { ")
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::time::Duration;

    use super::*;

    fn said(e: &reqwest::Error) -> String {
        let c = cause(e, Phase::Request);
        format!("{} / {}", c.text(Duration::from_secs(1)), c.advice(false))
    }

    #[test]
    fn request_failures_are_sentences() {
        let client = reqwest::blocking::Client::builder()
            .tls_backend_preconfigured(crate::net::tls::client_config(None, true).unwrap())
            .build()
            .unwrap();
        let bad_url = client.get("http://[::1/").send().unwrap_err();
        // A server that reads the request and hangs up, and one that answers garbage.
        let mut seen = vec![said(&bad_url)];
        for reply in [&b""[..], b"\x15\x03\x01\x00\x02\x02\x50"] {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = l.local_addr().unwrap().port();
            let t = std::thread::spawn(move || {
                let (mut s, _) = l.accept().unwrap();
                let _ = s.read(&mut [0u8; 4096]);
                std::io::Write::write_all(&mut s, reply).unwrap();
            });
            let e = client
                .get(format!("http://127.0.0.1:{port}/"))
                .send()
                .unwrap_err();
            t.join().unwrap();
            seen.push(said(&e));
        }
        for s in &seen {
            assert!(!looks_like_debug(s), "{s}");
            assert!(
                !s.contains("127.0.0.1") && !s.contains("[::1"),
                "no URL: {s}"
            );
        }
        assert!(seen[0].starts_with("request failed: "), "{}", seen[0]);
    }
}
