//! App-server workers and what they wait on: PHP-FPM children (`php-fpm: pool NAME`) and
//! gunicorn, uwsgi, node and puma processes, each with the outgoing TCP connections it holds
//! (`/proc/PID/fd` → socket inodes → `/proc/net/tcp{,6}`) and how long it has waited for an
//! answer on each (the kernel's own per-connection timing, see `sys::sockdiag`).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::sys::procfs::{self, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_SENT};
use crate::sys::sockdiag::Timing;

/// The app servers recognised, by program name.
pub const SERVERS: &[&str] = &["gunicorn", "uwsgi", "node", "puma"];

/// One worker process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    pub pid: u32,
    /// `php-fpm pool www`, `gunicorn`, `node` — as the kernel has it (not sanitized).
    pub what: String,
    /// The PHP-FPM pool, for an FPM child.
    pub pool: Option<String>,
}

impl Worker {
    /// `php-fpm pool www (pid 812)`, safe to print.
    pub fn label(&self) -> String {
        format!(
            "{} (pid {})",
            crate::sanitize::terminal(&self.what),
            self.pid
        )
    }
}

/// A worker waiting on a connection it opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    pub worker: Worker,
    /// The address it connected to.
    pub remote: SocketAddr,
    /// How long it has waited for an answer (at least).
    pub waited: Duration,
    /// Still connecting (SYN sent, no answer).
    pub connecting: bool,
}

/// What a look at the workers found.
#[derive(Debug, Default)]
pub struct Survey {
    pub workers: Vec<Worker>,
    /// Workers whose descriptors could not be read (another user's, read unprivileged).
    pub unreadable: usize,
    /// Outgoing connections waiting for an answer, longest first.
    pub waits: Vec<Wait>,
}

const MAX_PROCS: usize = 8192;
const MAX_WORKERS: usize = 512;
const MAX_FDS_PER_WORKER: usize = 4096;

/// Which worker a process is, from its command line and short name; `None` for anything
/// else (an FPM master, a shell).
pub fn classify(pid: u32, cmdline: &str, comm: &str) -> Option<Worker> {
    if let Some(pool) = cmdline.strip_prefix("php-fpm: pool ") {
        let pool = pool.trim().to_string();
        return Some(Worker {
            pid,
            what: format!("php-fpm pool {pool}"),
            pool: Some(pool),
        });
    }
    let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
    let mut words = cmdline
        .split([' ', ':'])
        .filter(|w| !w.is_empty())
        .map(base);
    let first_two: Vec<String> = words.by_ref().take(2).collect();
    let name = SERVERS.iter().find(|s| {
        comm == **s
            || first_two
                .iter()
                .any(|w| w == *s || w.strip_prefix(*s).is_some_and(|r| r.starts_with('-')))
    })?;
    Some(Worker {
        pid,
        what: name.to_string(),
        pool: None,
    })
}

/// The workers running under the proc root `proc`, bounded.
pub fn find(proc: &Path) -> Vec<Worker> {
    procfs::pids(proc, MAX_PROCS)
        .into_iter()
        .filter_map(|pid| {
            let comm = procfs::comm(proc, pid)?;
            let cmd = procfs::cmdline(proc, pid).unwrap_or_default();
            classify(pid, &cmd, &comm)
        })
        .take(MAX_WORKERS)
        .collect()
}

/// The workers and their waits longer than `min_wait`, given each connection's timing
/// (by socket inode).
pub fn survey(proc: &Path, timings: &HashMap<u64, Timing>, min_wait: Duration) -> Survey {
    let workers = find(proc);
    let rows = procfs::tcp_rows(proc).unwrap_or_default();
    // A connection whose local port something listens on was accepted, not opened.
    let listening: HashSet<u16> = rows
        .iter()
        .filter(|r| r.state == TCP_LISTEN)
        .map(|r| r.local.port())
        .collect();
    let outgoing: HashMap<u64, &procfs::TcpRow> = rows
        .iter()
        .filter(|r| matches!(r.state, TCP_ESTABLISHED | TCP_SYN_SENT))
        .filter(|r| !listening.contains(&r.local.port()))
        .map(|r| (r.inode, r))
        .collect();
    let mut s = Survey::default();
    for w in &workers {
        let fd_dir = proc.join(w.pid.to_string()).join("fd");
        if std::fs::read_dir(&fd_dir).is_err() {
            s.unreadable += 1;
            continue;
        }
        for inode in procfs::socket_inodes(proc, w.pid, MAX_FDS_PER_WORKER) {
            let (Some(row), Some(t)) = (outgoing.get(&inode), timings.get(&inode)) else {
                continue;
            };
            let connecting = row.state == TCP_SYN_SENT;
            // A SYN is retried after 1s, 2s, 4s…: `backoff` doublings mean at least 2^n - 1 s.
            let waited = if connecting {
                Some(Duration::from_secs((1u64 << t.backoff.min(16)) - 1).max(t.last_sent))
            } else {
                t.waiting()
            };
            match waited {
                Some(d) if d >= min_wait => s.waits.push(Wait {
                    worker: w.clone(),
                    remote: row.remote,
                    waited: d,
                    connecting,
                }),
                _ => {}
            }
        }
    }
    s.waits.sort_by_key(|w| std::cmp::Reverse(w.waited));
    s.workers = workers;
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::testing::FakeProc;

    #[test]
    fn workers_are_recognised_by_their_command_lines() {
        let w = |cmd: &str, comm: &str| classify(1, cmd, comm).map(|w| w.what);
        assert_eq!(
            w("php-fpm: pool www", "php-fpm8.2").as_deref(),
            Some("php-fpm pool www")
        );
        assert_eq!(
            w(
                "php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)",
                "php-fpm8.2"
            ),
            None
        );
        assert_eq!(
            w(
                "/srv/venv/bin/python3 /srv/venv/bin/gunicorn app:app",
                "python3"
            )
            .as_deref(),
            Some("gunicorn")
        );
        assert_eq!(
            w("gunicorn: worker [app]", "gunicorn").as_deref(),
            Some("gunicorn")
        );
        assert_eq!(
            w("node /srv/app/server.js", "node").as_deref(),
            Some("node")
        );
        assert_eq!(
            w("puma 6.4.0 (tcp://0.0.0.0:3000) [app]", "ruby").as_deref(),
            Some("puma")
        );
        assert_eq!(
            w("uwsgi-core --ini app.ini", "uwsgi-core").as_deref(),
            Some("uwsgi")
        );
        assert_eq!(w("bash -c node", "bash"), None);
        assert_eq!(w("/usr/bin/nodejs-is-not-node", "x"), None);
    }

    fn timing(sent_ms: u64, recv_ms: u64) -> Timing {
        Timing {
            last_sent: Duration::from_millis(sent_ms),
            last_received: Duration::from_millis(recv_ms),
            backoff: 0,
        }
    }

    #[test]
    fn a_worker_waiting_on_an_api_but_not_one_idle_on_a_pooled_connection() {
        let p = FakeProc::new();
        // FPM listens on 9000; 812 serves a request from nginx (601) and waits on :8099 (602);
        // 813 holds an idle pooled MySQL connection (603); 814 is new on :8099 (604).
        for l in [
            "   0: 0100007F:2328 00000000:0000 0A 0 0 0 33 0 600 1",
            "   1: 0100007F:2328 0100007F:C350 01 0 0 0 33 0 601 1",
            "   2: 0100007F:D431 0100007F:1FA3 01 0 0 0 33 0 602 1",
            "   3: 0100007F:D432 0100007F:0CEA 01 0 0 0 33 0 603 1",
            "   4: 0100007F:D433 0100007F:1FA3 01 0 0 0 33 0 604 1",
            "   5: 0100007F:D434 0500000A:01BB 02 0 0 0 33 0 605 1",
        ] {
            p.append("net/tcp", l);
        }
        p.process(812, "php-fpm8.2", "", &[600, 601, 602]);
        p.file("812/cmdline", "php-fpm: pool www\0\0\0");
        p.process(813, "php-fpm8.2", "", &[600, 603]);
        p.file("813/cmdline", "php-fpm: pool www\0");
        p.process(814, "node", "", &[604, 605]);
        p.file("814/cmdline", "node\0/srv/app/server.js\0");
        p.process(1, "systemd", "", &[602]);
        p.file("1/cmdline", "/sbin/init\0");
        let timings = HashMap::from([
            (601, timing(8000, 8000)),
            (602, timing(8000, 8001)),
            (603, timing(60_000, 59_990)),
            (604, timing(100, 150)),
            (
                605,
                Timing {
                    backoff: 3,
                    ..timing(0, 0)
                },
            ),
        ]);
        let s = survey(p.path(), &timings, Duration::from_secs(5));
        assert_eq!(s.workers.len(), 3);
        assert_eq!(s.unreadable, 0);
        let got: Vec<String> = s
            .waits
            .iter()
            .map(|w| {
                format!(
                    "{} {} {:?} {}",
                    w.worker.label(),
                    w.remote,
                    w.waited,
                    w.connecting
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                "php-fpm pool www (pid 812) 127.0.0.1:8099 8s false".to_string(),
                "node (pid 814) 10.0.0.5:443 7s true".to_string(),
            ]
        );
    }

    #[test]
    fn no_workers_no_waits() {
        let p = FakeProc::new();
        p.process(1, "systemd", "", &[]);
        let s = survey(p.path(), &HashMap::new(), Duration::from_secs(5));
        assert!(s.workers.is_empty() && s.waits.is_empty());
    }
}
