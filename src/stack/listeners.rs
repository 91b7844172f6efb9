//! What serves an upstream address now: the process (and its systemd unit) holding the
//! socket that listens on a TCP address or a unix socket path — `/proc/net/tcp{,6}` and
//! `/proc/net/unix` give the socket's inode, `/proc/PID/fd` the process holding it — and,
//! when nothing listens, which unit or PHP-FPM pool is configured for it.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use crate::sys::procfs::{self, TCP_LISTEN};

/// An upstream as nginx names it, reduced to what can listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `host:port`; the host as written (`127.0.0.1`, `localhost`, `[::1]` without brackets).
    Tcp { host: String, port: u16 },
    /// A unix socket path.
    Unix(String),
}

impl Endpoint {
    /// `unix:/run/php/x.sock`, `/run/php/x.sock`, `127.0.0.1:8000`, `[::1]:8000`,
    /// `localhost:8000`; `None` for an upstream block's name (`backend`).
    pub fn parse(upstream: &str) -> Option<Endpoint> {
        if let Some(p) = upstream.strip_prefix("unix:") {
            return p.starts_with('/').then(|| Endpoint::Unix(p.to_string()));
        }
        if upstream.starts_with('/') {
            return Some(Endpoint::Unix(upstream.to_string()));
        }
        let (host, port) = upstream.rsplit_once(':')?;
        let port = port.parse().ok()?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        (!host.is_empty()).then(|| Endpoint::Tcp {
            host: host.to_string(),
            port,
        })
    }

    /// The addresses a local listener would have to cover; empty for a name this host does
    /// not resolve by itself (no DNS is asked for what a log line names).
    fn ips(&self) -> Vec<IpAddr> {
        match self {
            Endpoint::Tcp { host, .. } if host == "localhost" => {
                vec!["127.0.0.1".parse().expect("ip"), "::1".parse().expect("ip")]
            }
            Endpoint::Tcp { host, .. } => host.parse().into_iter().collect(),
            Endpoint::Unix(_) => Vec::new(),
        }
    }

    /// Whether the address is this host's for sure (loopback, or a unix socket): only
    /// then does "nothing listens here" mean it is down.
    pub fn is_local(&self) -> bool {
        match self {
            Endpoint::Unix(_) => true,
            Endpoint::Tcp { .. } => self.ips().iter().any(|ip| ip.to_canonical().is_loopback()),
        }
    }
}

/// A process holding a listening socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    /// Its short name (`comm`), as the kernel has it (not sanitized).
    pub name: String,
    /// Its systemd service, from its cgroup.
    pub unit: Option<String>,
}

impl Holder {
    /// `node (pid 123, app.service)`, safe to print.
    pub fn label(&self) -> String {
        let name = crate::sanitize::terminal(&self.name);
        match &self.unit {
            Some(u) => format!(
                "{name} (pid {}, {})",
                self.pid,
                crate::sanitize::terminal(u)
            ),
            None => format!("{name} (pid {})", self.pid),
        }
    }
}

/// What listens on an endpoint now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listening {
    /// These processes hold the listening socket (the first is the lowest pid, usually the
    /// master of a pre-forking server).
    By(Vec<Holder>),
    /// A socket listens, but the process holding it could not be seen (another user's
    /// process, read unprivileged).
    Unseen,
    /// Nothing listens there.
    Nothing,
    /// A unix socket path that does not exist.
    NoSuchSocket,
    /// Not known: an address of another host, a name, or the socket tables are unreadable.
    Unknown,
}

/// Limits on the work one look at the process table may do.
const MAX_PROCS: usize = 8192;
const MAX_FDS_PER_PROC: usize = 4096;
const MAX_FDS_TOTAL: usize = 200_000;
const MAX_HOLDERS: usize = 16;

/// What listens on `ep` now, under the proc root `proc` (`/proc` on a real host).
pub fn listening(proc: &Path, ep: &Endpoint) -> Listening {
    let inodes: HashSet<u64> = match ep {
        Endpoint::Tcp { port, .. } => {
            let ips = ep.ips();
            if ips.is_empty() {
                return Listening::Unknown;
            }
            let Some(rows) = procfs::tcp_rows(proc) else {
                return Listening::Unknown;
            };
            rows.iter()
                .filter(|r| r.state == TCP_LISTEN && r.local.port() == *port)
                .filter(|r| {
                    ips.iter()
                        .any(|ip| procfs::listen_covers(r.local.ip(), *ip))
                })
                .map(|r| r.inode)
                .collect()
        }
        Endpoint::Unix(path) => {
            let rows = procfs::unix_rows(proc);
            let inodes: HashSet<u64> = rows
                .iter()
                .flatten()
                .filter(|r| r.listening && r.path.as_deref() == Some(path.as_str()))
                .map(|r| r.inode)
                .collect();
            if inodes.is_empty() && std::fs::symlink_metadata(path).is_err() {
                return Listening::NoSuchSocket;
            }
            if rows.is_none() {
                return Listening::Unknown;
            }
            inodes
        }
    };
    if inodes.is_empty() {
        return if ep.is_local() {
            Listening::Nothing
        } else {
            Listening::Unknown
        };
    }
    let holders = holders_of(proc, &inodes);
    if holders.is_empty() {
        Listening::Unseen
    } else {
        Listening::By(holders)
    }
}

/// The processes holding any of `inodes`, in pid order, within the limits above.
pub fn holders_of(proc: &Path, inodes: &HashSet<u64>) -> Vec<Holder> {
    let mut out = Vec::new();
    scan(proc, inodes, |holder, _| {
        out.push(holder);
        out.len() < MAX_HOLDERS
    });
    out
}

/// Every TCP socket listening now (IPv4 and IPv6), with the process holding it where it can
/// be seen (the lowest pid; another user's process is not, unprivileged), sorted by address;
/// `None` when the socket tables cannot be read.
pub fn tcp_listeners(proc: &Path) -> Option<Vec<(SocketAddr, Option<Holder>)>> {
    let rows: Vec<_> = procfs::tcp_rows(proc)?
        .into_iter()
        .filter(|r| r.state == TCP_LISTEN)
        .collect();
    let mut wanted: HashSet<u64> = rows.iter().map(|r| r.inode).collect();
    let mut held: HashMap<u64, Holder> = HashMap::new();
    scan(proc, &wanted.clone(), |holder, inodes| {
        for i in inodes {
            if wanted.remove(i) {
                held.insert(*i, holder.clone());
            }
        }
        !wanted.is_empty()
    });
    let mut out: Vec<(SocketAddr, Option<Holder>)> = rows
        .iter()
        .map(|r| (r.local, held.get(&r.inode).cloned()))
        .collect();
    out.sort_by_key(|a| a.0);
    // Several sockets on one address (SO_REUSEPORT workers): the first that has a holder.
    out.dedup_by(|later, first| {
        later.0 == first.0 && {
            if first.1.is_none() {
                first.1 = later.1.take();
            }
            true
        }
    });
    Some(out)
}

/// Calls `found` with each process (in pid order) that holds any of `inodes` and which of
/// them it holds, until it returns false or the limits above are reached.
fn scan(proc: &Path, inodes: &HashSet<u64>, mut found: impl FnMut(Holder, &[u64]) -> bool) {
    let mut budget = MAX_FDS_TOTAL;
    for pid in procfs::pids(proc, MAX_PROCS) {
        if budget == 0 || inodes.is_empty() {
            break;
        }
        let held = procfs::socket_inodes(proc, pid, MAX_FDS_PER_PROC.min(budget));
        budget = budget.saturating_sub(held.len().max(1));
        let mine: Vec<u64> = held.into_iter().filter(|i| inodes.contains(i)).collect();
        if mine.is_empty() {
            continue;
        }
        let holder = Holder {
            pid,
            name: procfs::comm(proc, pid).unwrap_or_else(|| "?".into()),
            unit: procfs::systemd_unit(proc, pid),
        };
        if !found(holder, &mine) {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::testing::FakeProc;

    #[test]
    fn endpoints_parse() {
        assert_eq!(
            Endpoint::parse("unix:/run/php/x.sock"),
            Some(Endpoint::Unix("/run/php/x.sock".into()))
        );
        assert_eq!(
            Endpoint::parse("[::1]:8000"),
            Some(Endpoint::Tcp {
                host: "::1".into(),
                port: 8000
            })
        );
        assert_eq!(Endpoint::parse("backend"), None);
        assert_eq!(Endpoint::parse("unix:relative"), None);
        assert_eq!(Endpoint::parse(":80"), None);
        assert_eq!(Endpoint::parse("h:99999"), None);
        assert!(Endpoint::parse("localhost:80").unwrap().is_local());
        assert!(!Endpoint::parse("10.0.0.5:80").unwrap().is_local());
    }

    #[test]
    fn the_process_holding_a_tcp_listener_and_its_unit() {
        let p = FakeProc::new();
        // 127.0.0.1:8099 listens (inode 500); an established connection on it (501).
        p.append("net/tcp", "   0: 0100007F:1FA3 00000000:0000 0A 00000000:00000000 00:00000000 00000000  33 0 500 1");
        p.append("net/tcp", "   1: 0100007F:1FA3 0100007F:C350 01 00000000:00000000 00:00000000 00000000  33 0 501 1");
        p.process(123, "node", "0::/system.slice/app.service\n", &[7, 500]);
        p.process(124, "node", "0::/system.slice/app.service\n", &[501]);
        p.process(200, "bash", "0::/user.slice/session-1.scope\n", &[9]);
        let ep = Endpoint::parse("127.0.0.1:8099").unwrap();
        let Listening::By(h) = listening(p.path(), &ep) else {
            panic!("{:?}", listening(p.path(), &ep))
        };
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].label(), "node (pid 123, app.service)");
        // localhost covers 127.0.0.1; 127.0.0.2 does not; another port has nothing.
        assert!(matches!(
            listening(p.path(), &Endpoint::parse("localhost:8099").unwrap()),
            Listening::By(_)
        ));
        assert_eq!(
            listening(p.path(), &Endpoint::parse("127.0.0.2:8099").unwrap()),
            Listening::Nothing
        );
        assert_eq!(
            listening(p.path(), &Endpoint::parse("10.1.1.1:8099").unwrap()),
            Listening::Unknown
        );
    }

    #[test]
    fn every_tcp_listener_with_its_holder_once_per_address() {
        let p = FakeProc::new();
        // :80 twice (two workers with SO_REUSEPORT, the first unseen), :9000 unseen, and an
        // established connection that is no listener.
        p.append("net/tcp", "   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 600 1");
        p.append("net/tcp", "   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 601 1");
        p.append("net/tcp", "   2: 0100007F:2328 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 602 1");
        p.append("net/tcp", "   3: 0100007F:0050 0100007F:C350 01 00000000:00000000 00:00000000 00000000  0 0 603 1");
        p.append("net/tcp6", "   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 604 1");
        p.process(31, "nginx", "0::/system.slice/nginx.service\n", &[601, 604]);
        let all = tcp_listeners(p.path()).unwrap();
        let shown: Vec<(String, Option<String>)> = all
            .iter()
            .map(|(a, h)| (a.to_string(), h.as_ref().map(Holder::label)))
            .collect();
        let nginx = Some("nginx (pid 31, nginx.service)".to_string());
        assert_eq!(
            shown,
            [
                ("0.0.0.0:80".to_string(), nginx.clone()),
                ("127.0.0.1:9000".to_string(), None),
                ("[::]:443".to_string(), nginx),
            ]
        );
        let t = tempfile::tempdir().unwrap();
        assert_eq!(tcp_listeners(t.path()), None);
    }

    #[test]
    fn a_listener_whose_holder_cannot_be_seen() {
        let p = FakeProc::new();
        p.append("net/tcp6", "   0: 00000000000000000000000000000000:1F40 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 77 1");
        assert_eq!(
            listening(p.path(), &Endpoint::parse("127.0.0.1:8000").unwrap()),
            Listening::Unseen,
            "[::] covers IPv4 too"
        );
    }

    #[test]
    fn unix_sockets_missing_stale_or_served() {
        let p = FakeProc::new();
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("fpm.sock");
        let stale = dir.path().join("stale.sock");
        std::fs::write(&stale, "").unwrap();
        p.append(
            "net/unix",
            &format!(
                "0000000000000000: 00000002 00000000 00010000 0001 01 900 {}",
                sock.display()
            ),
        );
        p.process(
            812,
            "php-fpm8.2",
            "0::/system.slice/php8.2-fpm.service\n",
            &[900],
        );
        let Listening::By(h) = listening(p.path(), &Endpoint::Unix(sock.display().to_string()))
        else {
            panic!()
        };
        assert_eq!(h[0].label(), "php-fpm8.2 (pid 812, php8.2-fpm.service)");
        assert_eq!(
            listening(p.path(), &Endpoint::Unix(stale.display().to_string())),
            Listening::Nothing
        );
        assert_eq!(
            listening(p.path(), &Endpoint::Unix("/no/such/x.sock".into())),
            Listening::NoSuchSocket
        );
    }

    #[test]
    fn unreadable_tables_are_unknown_not_nothing() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(
            listening(t.path(), &Endpoint::parse("127.0.0.1:80").unwrap()),
            Listening::Unknown
        );
    }

    #[test]
    fn this_process_is_found_holding_its_own_listener() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let ep = Endpoint::parse(&l.local_addr().unwrap().to_string()).unwrap();
        match listening(Path::new("/proc"), &ep) {
            Listening::By(h) => assert_eq!(h[0].pid, std::process::id()),
            other => panic!("{other:?}"),
        }
    }
}
