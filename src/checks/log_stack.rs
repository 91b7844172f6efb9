//! The fixes of log entries that need the app stack read from this host: an nginx upstream
//! error names what serves that upstream now (or which unit or PHP-FPM pool should), and a
//! PHP memory error names where the limit it hit is set.

use std::path::Path;

use super::log_finding::Host;
use crate::logscan::classify::Failure;
use crate::sanitize;
use crate::stack::listeners::{self, Endpoint, Listening};

/// What the host says about one upstream: the pool configured for it, what listens on it
/// now, and the units configured for it when nothing does.
struct Upstream<'a> {
    up: &'a str,
    req: String,
    /// (pool, listen, unit) of the PHP-FPM pool whose `listen` it is.
    pool: Option<&'a (String, String, String)>,
    now: Listening,
    units: Vec<String>,
}

/// The fix for an nginx upstream error: which one is down or slow, and the command to try.
pub fn upstream_fix(
    failure: Failure,
    up: &str,
    request: Option<&str>,
    pool: Option<&(String, String, String)>,
    host: &Host,
) -> String {
    let ep = Endpoint::parse(up);
    let now = match (&host.proc, &ep) {
        (Some(proc), Some(ep)) => listeners::listening(proc, ep),
        _ => Listening::Unknown,
    };
    let units = match (&host.root, &ep, &now, pool) {
        (Some(root), Some(ep), Listening::Nothing | Listening::NoSuchSocket, None) => {
            crate::stack::unit_files::configured_for(root, ep)
        }
        _ => Vec::new(),
    };
    let u = Upstream {
        up,
        req: request.map_or(String::new(), |r| format!(" ({r})")),
        pool,
        now,
        units,
    };
    match failure {
        Failure::TimedOut => u.slow(),
        Failure::Closed => u.closed(),
        Failure::Denied => u.denied(),
        Failure::Refused | Failure::NoLive | Failure::Unresolved | Failure::Other => u.down(),
    }
}

impl Upstream<'_> {
    /// The pool or the process serving it, by what is known: `PHP-FPM pool www
    /// (php8.2-fpm.service)`, `node (pid 123, app.service)`.
    fn server(&self) -> Option<String> {
        if let Some((name, _, unit)) = self.pool {
            return Some(format!("PHP-FPM pool {name} ({unit}.service)"));
        }
        match &self.now {
            Listening::By(h) => Some(h[0].label()),
            _ => None,
        }
    }

    /// The unit to look at or restart.
    fn unit(&self) -> Option<String> {
        if let Some((_, _, unit)) = self.pool {
            return Some(unit.clone());
        }
        match &self.now {
            Listening::By(h) => h[0]
                .unit
                .as_deref()
                .map(|u| sanitize::terminal(u.strip_suffix(".service").unwrap_or(u))),
            _ => None,
        }
    }

    fn journal(&self) -> String {
        match self.unit() {
            Some(u) => format!("journalctl -u {u} --since -1h"),
            None => "its own error log".into(),
        }
    }

    /// Nothing serves it now, or it could not be reached: what should, and how to start it.
    fn down(&self) -> String {
        let up = self.up;
        let gone = match &self.now {
            Listening::NoSuchSocket => format!("{up}: no such socket"),
            Listening::Nothing => format!("nothing listens on {up}"),
            Listening::By(h) => {
                return format!(
                    "{up} is served by {} now: it was down or restarting when this was logged; if it recurs, see why it stopped: {}",
                    h[0].label(),
                    self.journal()
                );
            }
            Listening::Unseen => {
                return format!(
                    "something listens on {up} now, but its process cannot be seen (run as root to see which): it was down or restarting when this was logged"
                );
            }
            Listening::Unknown => {
                return match self.pool {
                    Some((name, _, unit)) => format!(
                        "nothing answers on {up}, where PHP-FPM pool {name} ({unit}.service) should listen: systemctl restart {unit}"
                    ),
                    None => format!(
                        "nothing answers on {up}: start or restart the app server that serves it, or correct the address the web server proxies to"
                    ),
                };
            }
        };
        if let Some((name, _, unit)) = self.pool {
            return format!(
                "{gone}; PHP-FPM pool {name} ({unit}.service) should listen there: systemctl restart {unit}"
            );
        }
        match self.units.first() {
            Some(first) => {
                let verb = if self.units.len() == 1 { "is" } else { "are" };
                let start = first.strip_suffix(".service").unwrap_or(first);
                format!(
                    "{gone}; {} {verb} configured for it: systemctl start {}",
                    sanitize::terminal(&self.units.join(", ")),
                    sanitize::terminal(start)
                )
            }
            None => format!(
                "{gone}, and no PHP-FPM pool or systemd unit here is configured for it: start the app server that should listen there, or correct the address the web server proxies to"
            ),
        }
    }

    fn slow(&self) -> String {
        let (up, req) = (self.up, &self.req);
        if matches!(self.now, Listening::Nothing | Listening::NoSuchSocket) {
            return format!("the request timed out{req}, and now {}", self.down());
        }
        match self.server() {
            Some(s) => format!(
                "{up} is served by {s}, which did not answer within the proxy's timeout{req}: see what its workers wait on (a database or an API), or raise the proxy's read timeout"
            ),
            None => format!(
                "the app server on {up} did not answer within the proxy's timeout{req}: see what its workers wait on (a database or an API), or raise the proxy's read timeout"
            ),
        }
    }

    fn closed(&self) -> String {
        let (up, req) = (self.up, &self.req);
        if matches!(self.now, Listening::Nothing | Listening::NoSuchSocket) {
            return format!(
                "the app server closed the connection before answering{req}, and now {}",
                self.down()
            );
        }
        let who = self.server().unwrap_or_else(|| "the app server".into());
        format!(
            "{who} on {up} closed the connection before answering{req}: its workers crash or are killed; read {}",
            self.journal()
        )
    }

    fn denied(&self) -> String {
        let up = self.up;
        match self.pool {
            Some((name, _, _)) => format!(
                "the web server may not connect to {up}: give its user access to the socket (listen.owner, listen.group and listen.mode of PHP-FPM pool {name})"
            ),
            None => format!(
                "the web server may not connect to {up}: give its user access to the socket (its owner and mode, set by the app server that creates it)"
            ),
        }
    }
}

/// The fix for "Allowed memory size of N bytes exhausted": where the limit it hit is set.
pub fn memory_fix(limit: u64, log: &str, script: Option<String>, host: &Host) -> String {
    let script = script.unwrap_or_else(|| "the script".into());
    let shown = crate::units::fmt_bytes(limit);
    let setting = host.root.as_deref().and_then(|root| {
        crate::stack::php_ini::explaining(
            &crate::stack::php_ini::memory_limits(root),
            limit,
            Path::new(log),
        )
    });
    let Some(s) = setting else {
        return format!(
            "the script needs more than PHP's memory_limit ({shown}): raise memory_limit where it is set (php.ini, the pool's php_admin_value[memory_limit], a .user.ini, or ini_set() in the code) and reload PHP-FPM, or make {script} use less"
        );
    };
    let file = sanitize::path(&s.file);
    let place = match &s.pool {
        Some((pool, key)) => format!("set for pool {pool} by {key} in {file} line {}", s.line),
        None => format!("set in {file} line {}", s.line),
    };
    format!(
        "memory_limit is {}, {place}: raise it there and reload {u} (systemctl reload {u}), or make {script} use less",
        sanitize::terminal(&s.value),
        u = s.unit()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::testing::FakeProc;

    const LISTEN_8099: &str =
        "   0: 0100007F:1FA3 00000000:0000 0A 00000000:00000000 00:00000000 00000000  33 0 500 1";

    fn host(proc: &FakeProc, root: &Path, pools: Vec<(String, String, String)>) -> Host {
        Host {
            php_fpm: !pools.is_empty(),
            pools,
            proc: Some(proc.path().to_path_buf()),
            root: Some(root.to_path_buf()),
            ..Host::default()
        }
    }

    fn unit(root: &Path, name: &str, text: &str) {
        let d = root.join("etc/systemd/system");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), text).unwrap();
    }

    fn www() -> Vec<(String, String, String)> {
        vec![(
            "www".into(),
            "/run/nonexistent-test/php8.2-fpm.sock".into(),
            "php8.2-fpm".into(),
        )]
    }

    #[test]
    fn a_dead_port_names_the_unit_configured_for_it() {
        let (p, root) = (FakeProc::new(), tempfile::tempdir().unwrap());
        unit(
            root.path(),
            "gunicorn.service",
            "[Service]\nExecStart=/srv/app/venv/bin/gunicorn --bind 127.0.0.1:8000 app:app\n",
        );
        let h = host(&p, root.path(), www());
        assert_eq!(
            upstream_fix(Failure::Refused, "127.0.0.1:8000", None, None, &h),
            "nothing listens on 127.0.0.1:8000; gunicorn.service is configured for it: systemctl start gunicorn"
        );
        assert_eq!(
            upstream_fix(Failure::Refused, "127.0.0.1:8001", None, None, &h),
            "nothing listens on 127.0.0.1:8001, and no PHP-FPM pool or systemd unit here is configured for it: start the app server that should listen there, or correct the address the web server proxies to"
        );
    }

    #[test]
    fn a_missing_fpm_socket_names_its_pool() {
        let (p, root) = (FakeProc::new(), tempfile::tempdir().unwrap());
        let h = host(&p, root.path(), www());
        let up = "unix:/run/nonexistent-test/php8.2-fpm.sock";
        assert_eq!(
            upstream_fix(Failure::Refused, up, Some("GET /"), h.pools.first(), &h),
            "unix:/run/nonexistent-test/php8.2-fpm.sock: no such socket; PHP-FPM pool www (php8.2-fpm.service) should listen there: systemctl restart php8.2-fpm"
        );
    }

    #[test]
    fn a_slow_upstream_names_the_process_serving_it_not_php_fpm() {
        let (p, root) = (FakeProc::new(), tempfile::tempdir().unwrap());
        p.append("net/tcp", LISTEN_8099);
        p.process(123, "node", "0::/system.slice/app.service\n", &[500]);
        let h = host(&p, root.path(), www());
        let fix = upstream_fix(
            Failure::TimedOut,
            "127.0.0.1:8099",
            Some("POST /checkout"),
            None,
            &h,
        );
        assert_eq!(
            fix,
            "127.0.0.1:8099 is served by node (pid 123, app.service), which did not answer within the proxy's timeout (POST /checkout): see what its workers wait on (a database or an API), or raise the proxy's read timeout"
        );
        let closed = upstream_fix(Failure::Closed, "127.0.0.1:8099", None, None, &h);
        assert!(
            closed.ends_with("read journalctl -u app --since -1h"),
            "{closed}"
        );
        let back = upstream_fix(Failure::Refused, "127.0.0.1:8099", None, None, &h);
        assert!(
            back.starts_with("127.0.0.1:8099 is served by node (pid 123, app.service) now"),
            "{back}"
        );
    }

    #[test]
    fn a_process_name_cannot_inject_terminal_escapes() {
        let (p, root) = (FakeProc::new(), tempfile::tempdir().unwrap());
        p.append("net/tcp", LISTEN_8099);
        p.process(
            9,
            "evil\x1b[2J",
            "0::/system.slice/a\x1bb.service\n",
            &[500],
        );
        let h = host(&p, root.path(), vec![]);
        let fix = upstream_fix(Failure::TimedOut, "127.0.0.1:8099", None, None, &h);
        assert!(!fix.contains('\x1b'), "{fix:?}");
    }

    #[test]
    fn memory_limit_names_the_file_and_line_that_set_it() {
        let root = tempfile::tempdir().unwrap();
        let ini = root.path().join("etc/php/8.2/fpm/php.ini");
        std::fs::create_dir_all(ini.parent().unwrap()).unwrap();
        std::fs::write(
            &ini,
            "[PHP]\nmax_execution_time = 30\nmemory_limit = 128M\n",
        )
        .unwrap();
        let h = Host {
            root: Some(root.path().to_path_buf()),
            ..Host::default()
        };
        let fix = memory_fix(
            134217728,
            "/var/log/php8.2-fpm.log",
            Some("/srv/app/report.php:5".into()),
            &h,
        );
        assert_eq!(
            fix,
            format!(
                "memory_limit is 128M, set in {} line 3: raise it there and reload php8.2-fpm (systemctl reload php8.2-fpm), or make /srv/app/report.php:5 use less",
                ini.display()
            )
        );
        // A limit no file here sets comes from the code or a .user.ini.
        let other = memory_fix(64 << 20, "/x.log", None, &h);
        assert!(other.contains("ini_set()"), "{other}");
    }
}
