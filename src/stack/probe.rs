//! One bounded TCP connect to an address the app or its log names: does it accept
//! connections now? Never to a link-local or cloud metadata address, whatever a name
//! resolves to — the names come from files and log lines others may write.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Connected, in this long.
    Accepts(Duration),
    /// Every address refused: nothing listens there.
    Refused,
    /// No answer within the budget.
    Silent(Duration),
    /// The name does not resolve (the reason).
    Unresolved(String),
    /// Not probed: a link-local or cloud metadata address.
    Forbidden,
    /// Another failure (the reason).
    Failed(String),
}

/// Cloud metadata services outside 169.254.0.0/16: Alibaba's, Azure's wire server.
const METADATA_V4: &[Ipv4Addr] = &[
    Ipv4Addr::new(100, 100, 100, 200),
    Ipv4Addr::new(168, 63, 129, 16),
];
/// AWS's IPv6 metadata address, `fd00:ec2::254`.
const METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

/// Whether sitedoctor must never connect to `ip`: link-local (169.254.0.0/16, fe80::/10)
/// or a cloud metadata service, in whatever form (`::ffff:169.254.169.254`).
pub fn forbidden(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(a) => a.is_link_local() || METADATA_V4.contains(&a),
        IpAddr::V6(a) => (a.segments()[0] & 0xffc0) == 0xfe80 || a == METADATA_V6,
    }
}

/// `host:port` or `[v6]:port` → (host without brackets, port).
pub fn split(address: &str) -> Option<(String, u16)> {
    let (host, port) = address.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
    let host = match host.strip_prefix('[') {
        Some(h) => h.strip_suffix(']')?,
        None if host.contains(':') => return None,
        None => host,
    };
    (!host.is_empty())
        .then(|| host.to_string())
        .map(|h| (h, port))
}

/// Resolve `host` (an IP is taken as it is) and connect to the first address that
/// answers, all within `budget`. Refuses before connecting when any address the name
/// resolves to is forbidden.
pub fn probe(host: &str, port: u16, budget: Duration) -> Verdict {
    let deadline = Instant::now() + budget;
    let addrs = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => match crate::net::resolve(host, port, budget) {
            Ok(a) => a,
            Err(why) => return Verdict::Unresolved(why),
        },
    };
    if addrs.iter().any(|a| forbidden(a.ip())) {
        return Verdict::Forbidden;
    }
    let t0 = Instant::now();
    let mut refused = false;
    let mut silent = false;
    let mut other = None;
    for a in &addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            silent = true;
            break;
        }
        match TcpStream::connect_timeout(a, left) {
            Ok(_) => return Verdict::Accepts(t0.elapsed()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => refused = true,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) =>
            {
                silent = true
            }
            Err(e) => other = Some(crate::sys::io_reason(&e)),
        }
    }
    if silent {
        Verdict::Silent(budget)
    } else if refused {
        Verdict::Refused
    } else {
        Verdict::Failed(other.unwrap_or_else(|| "no address to connect to".into()))
    }
}

/// How long one probe of an address a log line names may take.
pub const NAMED_BUDGET: Duration = Duration::from_secs(2);
/// How many addresses log lines may have probed in one run.
const NAMED_MAX: usize = 4;

/// Probe an address untrusted text names (`host:port`), at most [`NAMED_MAX`] different
/// addresses per run, each once (a repeated address gets the first answer), within
/// [`NAMED_BUDGET`]. `None` when the address is not `host:port` or the run's probes are
/// spent.
pub fn probe_named(address: &str) -> Option<Verdict> {
    static DONE: Mutex<Vec<(String, Verdict)>> = Mutex::new(Vec::new());
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let (host, port) = split(address)?;
    if let Some((_, v)) = DONE.lock().ok()?.iter().find(|(a, _)| a == address) {
        return Some(v.clone());
    }
    if COUNT.fetch_add(1, Ordering::SeqCst) >= NAMED_MAX {
        return None;
    }
    let v = probe(&host, port, NAMED_BUDGET);
    if let Ok(mut done) = DONE.lock() {
        done.push((address.to_string(), v.clone()));
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_local_and_metadata_are_forbidden_in_every_form() {
        for a in [
            "169.254.169.254",
            "169.254.0.1",
            "::ffff:169.254.169.254",
            "fd00:ec2::254",
            "fe80::1",
            "100.100.100.200",
        ] {
            assert!(forbidden(a.parse().unwrap()), "{a}");
        }
        for a in ["127.0.0.1", "10.0.0.5", "::1", "fd00:ec2::253"] {
            assert!(!forbidden(a.parse().unwrap()), "{a}");
        }
        assert_eq!(
            probe("169.254.169.254", 80, Duration::from_millis(50)),
            Verdict::Forbidden
        );
        assert_eq!(
            probe(
                "[::ffff:169.254.169.254]".trim_matches(['[', ']']),
                80,
                Duration::from_millis(50)
            ),
            Verdict::Forbidden
        );
    }

    #[test]
    fn addresses_split() {
        assert_eq!(split("db:5432"), Some(("db".into(), 5432)));
        assert_eq!(split("[::1]:6379"), Some(("::1".into(), 6379)));
        assert_eq!(split("::1:6379"), None);
        assert_eq!(split("db"), None);
        assert_eq!(split(":80"), None);
    }

    #[test]
    fn accepts_and_refuses_on_loopback() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(matches!(
            probe("127.0.0.1", port, Duration::from_secs(2)),
            Verdict::Accepts(_)
        ));
        drop(l);
        assert_eq!(
            probe("127.0.0.1", port, Duration::from_secs(2)),
            Verdict::Refused
        );
    }
}
