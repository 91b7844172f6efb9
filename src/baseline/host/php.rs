//! The PHP that PHP-FPM runs (not the CLI's, whose version and extensions may differ): each
//! `php-fpmX.Y`'s version (`-v`) and loaded extensions (`-m`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Host, Notes, change, fingerprint, run};
use crate::baseline::change::{Area, Change, How};
use crate::baseline::key::{Digest, Key};
use crate::shell::shell_quote;
use crate::webstack::Server;

/// One PHP-FPM binary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PhpFpm {
    /// `/usr/sbin/php-fpm8.2`.
    pub binary: String,
    /// Its systemd unit (`php8.2-fpm`), to restart it.
    pub unit: String,
    /// `8.2.29`.
    pub version: String,
    /// As `-m` lists them (`Core`, `mysqli`, `Zend OPcache`).
    pub extensions: BTreeSet<String>,
    /// What `-m` and `-v` answered from (the binary, its ini files, its extension
    /// directories, the package database), taken before they ran: while it is the same, the
    /// answer is reused rather than asked again. Absent in older records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Digest>,
}

impl PhpFpm {
    fn part(&self) -> String {
        format!("php {}", self.binary)
    }
    fn name(&self) -> &str {
        self.binary.rsplit('/').next().unwrap_or(&self.binary)
    }
}

/// Every PHP-FPM's version and extensions. `db`: the package database's fingerprint;
/// `old`: what a record says, reused for an FPM whose inputs have the same fingerprint now.
pub fn collect(
    key: &Key,
    servers: &[Server],
    host: &Host,
    db: Option<&Digest>,
    old: &[PhpFpm],
) -> (Vec<PhpFpm>, Notes) {
    let mut notes = Notes::default();
    let fpms: Vec<&Server> = servers.iter().filter(|s| s.name == "php-fpm").collect();
    let found: Vec<Result<PhpFpm, (String, String)>> = std::thread::scope(|s| {
        let running: Vec<_> = fpms
            .iter()
            .map(|f| s.spawn(|| reuse_or_ask(key, f, host, db, old)))
            .collect();
        running
            .into_iter()
            .map(|h| h.join().expect("php -m panicked"))
            .collect()
    });
    let mut out = Vec::new();
    for f in found {
        match f {
            Ok(p) => out.push(p),
            Err((part, why)) => notes.cannot(part, why),
        }
    }
    (out, notes)
}

/// The recorded answer when its inputs are unchanged, else the FPM's own.
fn reuse_or_ask(
    key: &Key,
    s: &Server,
    host: &Host,
    db: Option<&Digest>,
    old: &[PhpFpm],
) -> Result<PhpFpm, (String, String)> {
    let inputs = fingerprint::php(key, s, host, db);
    let binary = host.shown(&s.binary);
    if let Some(now) = &inputs
        && let Some(o) = old
            .iter()
            .find(|o| o.binary == binary && o.inputs.as_ref() == Some(now))
    {
        // The unit is today's detection's, not part of what PHP answered.
        return Ok(PhpFpm {
            unit: s.unit.clone(),
            ..o.clone()
        });
    }
    Ok(PhpFpm {
        inputs,
        ..ask(s, host)?
    })
}

/// `-v` and `-m` of the FPM, run at once. (`-i` answers both in one run, but names the
/// extensions only as the headings of its sections and in an "Additional Modules" table,
/// which a parser would have to guess from the layout.)
fn ask(s: &Server, host: &Host) -> Result<PhpFpm, (String, String)> {
    let binary = host.shown(&s.binary);
    let part = format!("php {binary}");
    let bin = s.binary.to_string_lossy().into_owned();
    let ask = |flag: &str| {
        let argv = [bin.clone(), flag.to_string()];
        match run::run(&argv) {
            Ok(f) if f.code == Some(0) => Ok(f.stdout.text()),
            Ok(f) => Err(format!(
                "`{}` failed: {}",
                run::shown(&argv),
                crate::sys::child::tail_lines(&f.stderr, 1).join("")
            )),
            Err(e) => Err(format!("cannot run `{}`: {e}", run::shown(&argv))),
        }
        .map_err(|e| (part.clone(), e))
    };
    let (v, m) = std::thread::scope(|s| {
        let v = s.spawn(|| ask("-v"));
        let m = ask("-m");
        (v.join().expect("php -v panicked"), m)
    });
    let version = parse_version(&v?);
    let extensions = parse_modules(&m?);
    Ok(PhpFpm {
        binary,
        unit: s.unit.clone(),
        version,
        extensions,
        inputs: None,
    })
}

/// `PHP 8.2.29 (fpm-fcgi) (built: …)` → `8.2.29`.
pub fn parse_version(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("PHP "))
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_default()
        .to_string()
}

/// The names `-m` lists under `[PHP Modules]` and `[Zend Modules]`.
pub fn parse_modules(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('['))
        .map(str::to_string)
        .collect()
}

/// Version changes, extensions loaded or no longer loaded, an FPM gone.
pub fn compare(old: &[PhpFpm], new: &[PhpFpm], skip: &dyn Fn(&str) -> bool, out: &mut Vec<Change>) {
    for o in old {
        if skip(&o.part()) {
            continue;
        }
        let Some(n) = new.iter().find(|n| n.binary == o.binary) else {
            out.push(change(
                Area::Platform,
                How::Removed,
                o.name(),
                format!("{} (PHP {}) is gone", o.binary, o.version),
                None,
            ));
            continue;
        };
        if n.version != o.version {
            out.push(change(
                Area::Platform,
                How::Changed,
                o.name(),
                format!("PHP {} → {}", o.version, n.version),
                None,
            ));
        }
        for e in o.extensions.difference(&n.extensions) {
            out.push(change(
                Area::Platform,
                How::Removed,
                format!("{}: {e}", o.name()),
                format!("the PHP extension {e} is no longer loaded by {}", o.name()),
                Some(enable(o, e)),
            ));
        }
        for e in n.extensions.difference(&o.extensions) {
            out.push(change(
                Area::Platform,
                How::Added,
                format!("{}: {e}", o.name()),
                format!("the PHP extension {e} is loaded by {} now", o.name()),
                None,
            ));
        }
    }
    for n in new {
        if !skip(&n.part()) && !old.iter().any(|o| o.binary == n.binary) {
            out.push(change(
                Area::Platform,
                How::Added,
                n.name(),
                format!("{} (PHP {}) is new", n.binary, n.version),
                None,
            ));
        }
    }
}

/// Turning an extension back on for this FPM (Debian's `phpenmod`), then restarting it.
fn enable(p: &PhpFpm, ext: &str) -> String {
    let series = p.name().strip_prefix("php-fpm").unwrap_or("");
    let module = ext.to_ascii_lowercase().replace("zend ", "");
    let version = if series.is_empty() {
        String::new()
    } else {
        format!("-v {series} ")
    };
    format!(
        "phpenmod {version}-s fpm {} && systemctl restart {}    # install its package first if it was removed",
        shell_quote(&module),
        shell_quote(&p.unit)
    )
}
