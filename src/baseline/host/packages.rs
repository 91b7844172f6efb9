//! The web stack's Debian packages and their installed versions, from `dpkg-query` (the
//! server, PHP and its extensions, the app servers' runtimes, OpenSSL).

use std::collections::BTreeMap;

use super::{Host, HostState, Notes, change, run};
use crate::baseline::change::{Area, Change, How};
use crate::baseline::key::Digest;
use crate::shell::shell_quote;

/// What `dpkg-query` is asked to show.
const SHOW: &str = "--showformat=${Package}\\t${Version}\\t${db:Status-Abbrev}\\n";

/// What the fingerprint of the database takes besides it: the question asked of it, so a
/// sitedoctor that asks another reads the packages again.
pub fn question() -> String {
    format!("{SHOW} {}", PATTERNS.join(" "))
}

/// The packages recorded: what serves the site and what it runs on.
const PATTERNS: &[&str] = &[
    "nginx*",
    "libnginx-mod-*",
    "apache2*",
    "libapache2-mod-*",
    "php*",
    "gunicorn*",
    "uwsgi*",
    "nodejs",
    "python3",
    "python3.[0-9]*",
    "ruby",
    "ruby[0-9]*",
    "puma",
    "openssl",
    "libssl*",
    "ca-certificates",
];

const PART: &str = "packages";

/// The packages and the fingerprint of the database they were read from (none when they
/// were not read from one).
pub type Read = (BTreeMap<String, String>, Option<Digest>);

/// Installed packages: name → version. No `dpkg-query` (not Debian) is nothing, not unread.
/// `db`: the package database's fingerprint now, taken before anything is read; `old`: a
/// record to reuse — its packages, without running `dpkg-query`, when they were read from a
/// database with that same fingerprint.
pub fn collect(host: &Host, db: Option<Digest>, old: Option<&HostState>) -> (Read, Notes) {
    let notes = Notes::default();
    if let (Some(now), Some(old)) = (&db, old)
        && old.packages_db.as_ref() == Some(now)
        && !old.unread.contains(PART)
    {
        return ((old.packages.clone(), db), notes);
    }
    let (packages, notes) = query(host);
    // Only a database that was read is one whose packages can be reused.
    let db = db.filter(|_| packages.is_some());
    ((packages.unwrap_or_default(), db), notes)
}

/// What `dpkg-query` lists now; `None` when it was not read (no dpkg, or it failed: then
/// the notes say why).
fn query(host: &Host) -> (Option<BTreeMap<String, String>>, Notes) {
    let mut notes = Notes::default();
    let Some(dpkg) = crate::sys::child::which("dpkg-query") else {
        return (None, notes);
    };
    let mut argv = vec![dpkg.to_string_lossy().into_owned()];
    // Always the database the fingerprint watches (dpkg-query has rules of its own:
    // DPKG_ROOT, and DPKG_ADMINDIR only in some versions).
    let admin = super::fingerprint::dpkg_admindir(host);
    if !admin.is_dir() {
        return (None, notes);
    }
    argv.push(format!("--admindir={}", admin.display()));
    argv.push("-W".into());
    argv.push(SHOW.into());
    argv.extend(PATTERNS.iter().map(|p| p.to_string()));
    match run::run(&argv) {
        // 1: some pattern matched nothing, which is expected.
        Ok(f) if matches!(f.code, Some(0 | 1)) => (Some(parse(&f.stdout.text())), notes),
        Ok(f) => {
            notes.cannot(
                PART,
                format!(
                    "`dpkg-query -W` failed: {}",
                    crate::sys::child::tail_lines(&f.stderr, 1).join("")
                ),
            );
            (None, notes)
        }
        Err(e) => {
            notes.cannot(PART, format!("cannot list the installed packages: {e}"));
            (None, notes)
        }
    }
}

/// `name\tversion\tii ` lines → the installed ones (`rc`: removed, configuration left).
pub fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (name, version, status) = (f.next()?, f.next()?, f.next()?);
            let installed = matches!(
                status.as_bytes().get(1),
                Some(b'i' | b'U' | b'F' | b'W' | b't' | b'h')
            );
            (installed && !name.is_empty() && !version.is_empty())
                .then(|| (name.to_string(), version.to_string()))
        })
        .collect()
}

/// Versions changed, packages removed or new.
pub fn compare(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
    skip: &dyn Fn(&str) -> bool,
    out: &mut Vec<Change>,
) {
    if skip(PART) {
        return;
    }
    for (name, was) in old {
        match new.get(name) {
            None => out.push(change(
                Area::Platform,
                How::Removed,
                name,
                format!("package removed (was {was})"),
                Some(format!("apt-get install {}", shell_quote(name))),
            )),
            Some(now) if now != was => out.push(change(
                Area::Platform,
                How::Changed,
                name,
                format!("{was} → {now}"),
                None,
            )),
            Some(_) => {}
        }
    }
    for (name, now) in new {
        if !old.contains_key(name) {
            out.push(change(
                Area::Platform,
                How::Added,
                name,
                format!("package installed ({now})"),
                None,
            ));
        }
    }
}
