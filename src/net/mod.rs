//! Talking to dependencies: secret redaction, TLS (verification verdicts and certificate
//! expiry), and turning network errors into one precise sentence.

pub mod errors;
pub mod fastcgi;
pub mod redact;
pub mod tls;
pub mod tls_reason;
pub mod trust;

use std::time::Duration;

/// The loopback addresses a URL host names (`localhost` is both `127.0.0.1` and `::1`), or
/// `None` for a host that may be elsewhere.
pub fn loopback_addrs(host: &str) -> Option<Vec<std::net::IpAddr>> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    if host.eq_ignore_ascii_case("localhost") || host.eq_ignore_ascii_case("localhost.") {
        return Some(vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]);
    }
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    let ip: IpAddr = bare.unwrap_or(host).parse().ok()?;
    ip.to_canonical().is_loopback().then_some(vec![ip])
}

/// Resolve `host:port` through the system resolver (so /etc/hosts counts, as for the app),
/// giving up after `timeout`. getaddrinfo cannot be cancelled: it finishes in a thread of
/// its own, and its answer is dropped if it comes too late.
pub fn resolve(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Vec<std::net::SocketAddr>, String> {
    use std::net::ToSocketAddrs;
    let (tx, rx) = std::sync::mpsc::channel();
    let target = (host.to_string(), port);
    std::thread::Builder::new()
        .name("resolve".into())
        .spawn(move || {
            let _ = tx.send(target.to_socket_addrs().map(|a| a.collect::<Vec<_>>()));
        })
        .map_err(|e| format!("could not start the resolver: {e}"))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(addrs)) if addrs.is_empty() => Err(format!("{host} has no addresses")),
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(format!(
            "{host} could not be resolved: {}",
            resolver_reason(&e)
        )),
        Err(_) => Err(format!(
            "resolving {host} timed out after {} (is the resolver in /etc/resolv.conf reachable?)",
            crate::units::fmt_duration(timeout)
        )),
    }
}

fn resolver_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    s.strip_prefix("failed to lookup address information: ")
        .unwrap_or(&s)
        .to_string()
}

/// Connect to the first address that answers, within `timeout` overall.
pub fn connect(
    addrs: &[std::net::SocketAddr],
    timeout: Duration,
) -> Result<std::net::TcpStream, String> {
    let deadline = std::time::Instant::now() + timeout;
    let mut last = String::from("no address to connect to");
    for a in addrs {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        match std::net::TcpStream::connect_timeout(a, left) {
            Ok(s) => return Ok(s),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = format!("connection to {a} refused (nothing listens on that port)");
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::TimedOut
                    || e.kind() == std::io::ErrorKind::WouldBlock =>
            {
                last = format!(
                    "timed out after {} connecting to {a}",
                    crate::units::fmt_duration(timeout)
                );
            }
            Err(e) => last = format!("cannot connect to {a}: {}", crate::sys::io_reason(&e)),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::loopback_addrs;

    #[test]
    fn loopback_hosts() {
        let shown = |h: &str| {
            loopback_addrs(h).map(|v| v.iter().map(|a| a.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            shown("localhost"),
            Some(vec!["127.0.0.1".into(), "::1".into()])
        );
        assert_eq!(shown("127.0.0.2"), Some(vec!["127.0.0.2".into()]));
        assert_eq!(shown("[::1]"), Some(vec!["::1".into()]));
        assert_eq!(shown("example.com"), None);
        assert_eq!(shown("10.0.0.1"), None);
        assert_eq!(shown("[::2]"), None);
    }
}
