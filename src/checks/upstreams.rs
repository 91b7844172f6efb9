//! `upstreams`: every address the web server passes requests to (read from its
//! configuration) accepts a connection now; when one does not, what should serve it — the
//! unit or app server configured for that address — and where its errors are.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Outcome, Status};
use crate::finding::{Cause, Finding, Subject};
use crate::span::SpanError;
use crate::stack::app_servers::{self, AppServer};
use crate::stack::listeners::{self, Endpoint, Listening};
use crate::stack::probe::{self, Verdict};
use crate::stack::upstreams::Upstream;

pub static KIND: Kind = Kind {
    name: "upstreams",
    summary: "the app servers the web server proxies to accept connections",
    why: "nginx and Apache answer 502 or 500 for every request they pass to an app server that \
          is down — gunicorn, uWSGI, PHP-FPM, Node, Puma — and their own error log only says \
          \"connect() failed\".",
    looks_at: "The `proxy_pass`, `fastcgi_pass`, `uwsgi_pass`, `scgi_pass`, `grpc_pass` and \
               `upstream` blocks of nginx and the `ProxyPass`, `ProxyPassMatch`, `SetHandler \
               \"proxy:…\"` and `BalancerMember` lines of Apache; a bounded connect to each \
               address (TCP or unix socket); what listens there (from /proc), or, when nothing \
               does, the systemd unit or app-server configuration (`gunicorn.conf.py`, uWSGI \
               `.ini`, pm2's `ecosystem.config.js`) that names it, and where its errors go.",
    fixes: "Start the unit named (`systemctl start UNIT`), then read why it stopped in the log \
            named (`journalctl -u UNIT` when it logs to the journal).",
    field_docs: &[FieldDoc {
        name: "from_config",
        ty: "list of \"nginx\" | \"apache\"",
        default: "[\"nginx\", \"apache\"]",
        doc: "Whose configuration to read the upstreams from; `skip` when none is installed.",
    }],
    example: r#"[[check]]
id = "upstreams"
kind = "upstreams"
from_config = ["nginx"]
timeout = "3s"
"#,
    fields: super::fields_of::<UpstreamsSpec>,
    build: super::build::<UpstreamsSpec>,
    hidden: false,
    default_timeout: Some(Duration::from_secs(5)),
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpstreamsSpec {
    from_config: Option<toml::Spanned<Vec<String>>>,
}

impl Spec for UpstreamsSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        let servers = match self.from_config {
            None => vec!["nginx".to_string(), "apache".to_string()],
            Some(s) => {
                if let Some(bad) = s
                    .get_ref()
                    .iter()
                    .find(|n| !["nginx", "apache"].contains(&n.as_str()))
                {
                    return Err(SpanError::new(
                        s.span(),
                        format!(
                            "from_config: \"{bad}\" is not a web server sitedoctor reads upstreams from: use \"nginx\" or \"apache\""
                        ),
                    ));
                }
                s.into_inner()
            }
        };
        Ok(Arc::new(Upstreams { servers }))
    }
}

#[derive(Debug)]
struct Upstreams {
    servers: Vec<String>,
}

/// At most this many upstreams are probed in one run.
const MAX: usize = 32;

impl Check for Upstreams {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let servers: Vec<_> = crate::webstack::installed()
            .iter()
            .filter(|s| self.servers.iter().any(|n| n == s.name))
            .collect();
        if servers.is_empty() {
            return Ok(Outcome::skip(format!(
                "no {} installed here",
                self.servers.join(" or ")
            )));
        }
        let mut ups: Vec<(&'static str, Upstream)> = Vec::new();
        for s in &servers {
            for u in &s.upstreams {
                if !ups.iter().any(|(_, v)| v.address == u.address) {
                    ups.push((s.name, u.clone()));
                }
            }
        }
        if ups.is_empty() {
            return Ok(Outcome::skip(
                "the web server's configuration passes no request to an upstream",
            ));
        }
        ups.truncate(MAX);
        let verdicts = probe_all(&ups, ctx.op_timeout());
        let root = crate::webstack::sysroot();
        let proc = crate::sys::procfs::proc_root();
        let mut out = Outcome::pass("");
        let mut down = Vec::new();
        for ((server, u), v) in ups.iter().zip(verdicts) {
            let shown = crate::sanitize::terminal(&u.address);
            let by = format!("{server} {}", u.directive);
            match v {
                Verdict::Accepts(_) => {
                    let who = serving(&proc, u).map_or(String::new(), |a| describe(&a));
                    out = out.detail(format!("{shown} ({by}) accepts{who}"));
                }
                Verdict::Forbidden => {
                    out = out.detail(format!(
                        "{shown} ({by}): not probed (a link-local or metadata address)"
                    ));
                }
                other => {
                    let f = problem(&root, &proc, u, &by, &other);
                    down.push(f.text.clone());
                    out.push_finding(f);
                }
            }
        }
        let n = ups.len();
        if down.is_empty() {
            return Ok(
                out.status_summary(Status::Pass, format!("{n} upstream(s) accept connections"))
            );
        }
        let worst = out
            .findings
            .iter()
            .fold(Status::Pass, |s, f| s.worse(f.status));
        let fix = out.findings.first().and_then(|f| f.fix.clone());
        let mut out = out.status_summary(
            worst,
            format!("{} of {n} upstream(s) down: {}", down.len(), down[0]),
        );
        out.fix = fix;
        Ok(out)
    }
}

/// Probe every upstream at once, each within `budget`; a connect still hanging then (a
/// unix socket whose backlog is full) counts as silent.
fn probe_all(ups: &[(&'static str, Upstream)], budget: Duration) -> Vec<Verdict> {
    let deadline = Instant::now() + budget + Duration::from_millis(100);
    let rx: Vec<_> = ups
        .iter()
        .map(|(_, u)| {
            let (tx, rx) = mpsc::channel();
            let ep = u.endpoint();
            std::thread::spawn(move || {
                let _ = tx.send(connect(ep, budget));
            });
            rx
        })
        .collect();
    rx.into_iter()
        .map(|r| {
            r.recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or(Verdict::Silent(budget))
        })
        .collect()
}

fn connect(ep: Option<Endpoint>, budget: Duration) -> Verdict {
    match ep {
        Some(Endpoint::Tcp { host, port }) => probe::probe(&host, port, budget),
        Some(Endpoint::Unix(path)) => {
            let t0 = Instant::now();
            match std::os::unix::net::UnixStream::connect(&path) {
                Ok(_) => Verdict::Accepts(t0.elapsed()),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
                    ) =>
                {
                    Verdict::Refused
                }
                Err(e) => Verdict::Failed(crate::sys::io_reason(&e)),
            }
        }
        None => Verdict::Failed("not an address sitedoctor can connect to".into()),
    }
}

/// The app server holding the upstream's listening socket now.
fn serving(proc: &Path, u: &Upstream) -> Option<AppServer> {
    let ep = u.endpoint()?;
    match listeners::listening(proc, &ep) {
        Listening::By(h) => Some(app_servers::running(proc, h[0].pid)),
        _ => None,
    }
}

/// `: gunicorn (pid 12, shop.service), errors in /var/log/shop/error.log`.
fn describe(a: &AppServer) -> String {
    match a.errors_at() {
        Some(e) => format!(": {}, errors in {e}", a.label()),
        None => format!(": {}", a.label()),
    }
}

/// The finding for an upstream that does not accept: what should serve it, and the fix.
fn problem(root: &Path, proc: &Path, u: &Upstream, by: &str, v: &Verdict) -> Finding {
    let shown = crate::sanitize::terminal(&u.address);
    let subject = Subject::Address {
        address: u.address.clone(),
    };
    let (cause, what) = match v {
        Verdict::Silent(t) => (
            Cause::Timeout,
            format!(
                "{shown} ({by}) does not accept a connection within {}",
                crate::units::fmt_duration(*t)
            ),
        ),
        Verdict::Unresolved(why) => (Cause::Dependency, format!("{shown} ({by}): {why}")),
        Verdict::Failed(why) => (Cause::Dependency, format!("{shown} ({by}): {why}")),
        _ => (
            Cause::Dependency,
            format!("nothing listens on {shown} ({by})"),
        ),
    };
    if !matches!(v, Verdict::Refused) {
        let fix = match serving(proc, u) {
            Some(a) => format!("{} holds it but does not answer: restart it", a.label()),
            None => {
                "check the address in the web server's configuration and the app server behind it"
                    .into()
            }
        };
        return Finding::new(subject, cause, Status::Fail, what).fix(fix);
    }
    let configured = u
        .endpoint()
        .map(|ep| app_servers::configured(root, &ep))
        .unwrap_or_default();
    let Some(a) = configured.first() else {
        return Finding::new(subject, cause, Status::Fail, what).fix(
            "start the app server that should listen there (no systemd unit on this host names that address)",
        );
    };
    let unit = a.unit.as_deref().unwrap_or("");
    let short = crate::shell::shell_quote(unit.strip_suffix(".service").unwrap_or(unit));
    let via = a.config.as_ref().map_or(String::new(), |c| {
        format!(
            " (its {} names it)",
            crate::sanitize::terminal(&c.display().to_string())
        )
    });
    let text = format!("{what}; {} is configured for it{via}", a.label());
    let errors = a
        .errors_at()
        .map_or(String::new(), |e| format!("; why it stopped: {e}"));
    Finding::new(subject, cause, Status::Fail, text).fix(format!("systemctl start {short}{errors}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_upstream_names_the_unit_configured_for_it() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let t = tempfile::tempdir().unwrap();
        let units = t.path().join("etc/systemd/system");
        std::fs::create_dir_all(&units).unwrap();
        std::fs::write(
            units.join("api.service"),
            format!(
                "[Service]\nEnvironment=PORT={port}\nExecStart=/usr/bin/node /srv/api/server.js\n"
            ),
        )
        .unwrap();
        let u = Upstream {
            directive: "proxy_pass".into(),
            address: format!("127.0.0.1:{port}"),
        };
        let v = connect(u.endpoint(), Duration::from_secs(2));
        assert_eq!(v, Verdict::Refused);
        let f = problem(t.path(), Path::new("/proc"), &u, "nginx proxy_pass", &v);
        assert_eq!(
            f.text,
            format!(
                "nothing listens on 127.0.0.1:{port} (nginx proxy_pass); node (api.service) is configured for it"
            )
        );
        assert_eq!(
            f.fix.unwrap().text,
            "systemctl start api; why it stopped: journalctl -u api"
        );
        assert_eq!(
            f.subject,
            Subject::Address {
                address: format!("127.0.0.1:{port}")
            }
        );
    }

    #[test]
    fn a_unix_socket_with_nothing_behind_it_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let sock = t.path().join("app.sock");
        let l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let ep = Some(Endpoint::Unix(sock.display().to_string()));
        assert!(matches!(
            connect(ep.clone(), Duration::from_secs(1)),
            Verdict::Accepts(_)
        ));
        drop(l);
        assert_eq!(connect(ep, Duration::from_secs(1)), Verdict::Refused);
    }
}
