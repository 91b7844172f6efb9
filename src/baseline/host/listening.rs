//! The listening TCP addresses and the process holding each, where it can be seen; ports in
//! the kernel's ephemeral range (a program that bound port 0) are left out.

use serde::{Deserialize, Serialize};

use super::{Host, Notes, change};
use crate::baseline::change::{Area, Change, How};
use crate::shell::shell_quote;
use crate::stack::listeners;

/// One listening address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Listener {
    /// `0.0.0.0:80`, `[::]:443`, `127.0.0.1:9000`.
    pub address: String,
    /// The process's short name, when it could be seen.
    pub process: Option<String>,
    /// Its systemd service.
    pub unit: Option<String>,
}

const PART: &str = "listening";

/// The ports the kernel hands out to a program that binds port 0 (a test server, a
/// debugger), when `ip_local_port_range` cannot be read: Linux's default.
const EPHEMERAL: (u16, u16) = (32768, 60999);

/// The ephemeral port range under the proc root `proc`.
fn ephemeral(proc: &std::path::Path) -> (u16, u16) {
    crate::sys::readcap::read_text_capped(&proc.join("sys/net/ipv4/ip_local_port_range"), 4096)
        .ok()
        .and_then(|t| {
            let mut w = t.split_whitespace().map(str::parse::<u16>);
            Some((w.next()?.ok()?, w.next()?.ok()?))
        })
        .unwrap_or(EPHEMERAL)
}

pub fn collect(host: &Host) -> (Vec<Listener>, Notes) {
    let mut notes = Notes::default();
    let Some(all) = listeners::tcp_listeners(&host.proc) else {
        notes.cannot(
            PART,
            format!(
                "cannot read {}/net/tcp: the listening ports are not recorded",
                host.proc.display()
            ),
        );
        return (Vec::new(), notes);
    };
    // A listener on a port the kernel picked is not a service's configured port: it comes and
    // goes with the program that asked for it, and would make every diff say something.
    let (low, high) = ephemeral(&host.proc);
    let all: Vec<_> = all
        .into_iter()
        .filter(|(a, _)| !(low..=high).contains(&a.port()))
        .collect();
    let unseen = all.iter().any(|(_, h)| h.is_none());
    if unseen && !nix::unistd::geteuid().is_root() {
        // Not a part left out: the ports are compared, only not who holds them.
        notes
            .sentences
            .push("run as root to see which process holds each listening port".into());
    }
    let out = all
        .into_iter()
        .map(|(addr, h)| Listener {
            address: addr.to_string(),
            process: h.as_ref().map(|h| h.name.clone()),
            unit: h.and_then(|h| h.unit),
        })
        .collect();
    (out, notes)
}

fn who(l: &Listener) -> String {
    l.process
        .as_deref()
        .map_or_else(|| "a process".into(), crate::sanitize::terminal)
}

/// Addresses no longer or newly listened on; another program on the same address.
pub fn compare(
    old: &[Listener],
    new: &[Listener],
    skip: &dyn Fn(&str) -> bool,
    out: &mut Vec<Change>,
) {
    if skip(PART) {
        return;
    }
    for o in old {
        match new.iter().find(|n| n.address == o.address) {
            None => out.push(change(
                Area::Listener,
                How::Removed,
                &o.address,
                format!("nothing listens here now ({} did)", who(o)),
                o.unit
                    .as_deref()
                    .map(|u| format!("systemctl start {}", shell_quote(u))),
            )),
            Some(n) if n.process.is_some() && o.process.is_some() && n.process != o.process => out
                .push(change(
                    Area::Listener,
                    How::Changed,
                    &o.address,
                    format!("{} listens here now, not {}", who(n), who(o)),
                    None,
                )),
            Some(_) => {}
        }
    }
    for n in new {
        if !old.iter().any(|o| o.address == n.address) {
            out.push(change(
                Area::Listener,
                How::Added,
                &n.address,
                format!("{} listens here now", who(n)),
                None,
            ));
        }
    }
}
