//! `process`: the app server is running. With PHP-FPM, gunicorn or puma down, the web server
//! in front answers 502 or 500 for every dynamic page.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::shell::shell_quote;
use crate::span::SpanError;
use crate::sys::procs;

pub static KIND: Kind = Kind {
    name: "process",
    summary: "a required process (the app server) is running",
    why: "If the application server behind the web server is not running — PHP-FPM, gunicorn, \
          puma, node — every dynamic request fails.",
    looks_at: "The process table: processes whose name, executable or first command-line word is \
               `name`, or whose full command line matches the regex `pattern`. Matches are shown by \
               name and pid, never by command line (command lines carry passwords).",
    fixes: "`systemctl start UNIT` where a systemd unit exists (then read `journalctl -u UNIT` for \
            why it stopped); otherwise start it the way it is deployed.",
    field_docs: &[
        FieldDoc {
            name: "name",
            ty: "string",
            default: "—",
            doc: "Program name, e.g. \"php-fpm8.2\" or \"gunicorn\". One of `name` or `pattern` is required.",
        },
        FieldDoc {
            name: "pattern",
            ty: "regex",
            default: "—",
            doc: "Regex matched against the full command line instead.",
        },
        FieldDoc {
            name: "min",
            ty: "integer",
            default: "1",
            doc: "Fail when fewer processes match.",
        },
        FieldDoc {
            name: "unit",
            ty: "string",
            default: "`name`",
            doc: "The systemd unit to suggest starting.",
        },
    ],
    example: r#"[[check]]
id = "php-fpm-running"
kind = "process"
name = "php-fpm8.2"
min = 1
unit = "php8.2-fpm"
"#,
    fields: super::fields_of::<ProcessSpec>,
    build: super::build::<ProcessSpec>,
    hidden: false,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcessSpec {
    name: Option<String>,
    pattern: Option<Spanned<String>>,
    min: Option<Spanned<i64>>,
    unit: Option<String>,
}

impl Spec for ProcessSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        let matcher = match (self.name, self.pattern) {
            (Some(n), None) => Matcher::Name(n),
            (None, Some(p)) => Matcher::Pattern(
                regex::Regex::new(p.get_ref())
                    .map_err(|e| SpanError::new(p.span(), format!("invalid regex: {e}")))?,
            ),
            (Some(_), Some(p)) => {
                return Err(SpanError::new(
                    p.span(),
                    "give either `name` or `pattern`, not both",
                ));
            }
            (None, None) => {
                return Err(SpanError {
                    span: None,
                    message: "a process check needs `name` or `pattern`".into(),
                });
            }
        };
        let min = match self.min {
            Some(m) if *m.get_ref() < 1 => {
                return Err(SpanError::new(m.span(), "`min` must be at least 1"));
            }
            Some(m) => *m.get_ref() as usize,
            None => 1,
        };
        Ok(Arc::new(Process {
            matcher,
            min,
            unit: self.unit,
        }))
    }
}

#[derive(Debug)]
enum Matcher {
    Name(String),
    Pattern(regex::Regex),
}

#[derive(Debug)]
struct Process {
    matcher: Matcher,
    min: usize,
    unit: Option<String>,
}

/// Whether systemd knows a unit of this name (looked up in its unit directories).
fn unit_exists(unit: &str) -> bool {
    let file = if unit.contains('.') {
        unit.to_string()
    } else {
        format!("{unit}.service")
    };
    [
        "/etc/systemd/system",
        "/run/systemd/system",
        "/lib/systemd/system",
        "/usr/lib/systemd/system",
    ]
    .iter()
    .any(|d| Path::new(d).join(&file).exists())
}

impl Check for Process {
    fn run(&self, _ctx: &Ctx) -> anyhow::Result<Outcome> {
        let all = procs::snapshot()?;
        let me = std::process::id();
        let (found, what): (Vec<&procs::Proc>, String) = match &self.matcher {
            Matcher::Name(n) => (procs::named(all, n), n.clone()),
            Matcher::Pattern(re) => (
                all.iter()
                    .filter(|p| p.pid != me && re.is_match(&p.cmdline))
                    .collect(),
                format!("matching /{}/", crate::net::redact::text(re.as_str())),
            ),
        };
        let count = found.len();
        let mut out = Outcome::pass("").metric({
            // Fewer is worse: the range syntax says so to Nagios and Icinga.
            let mut m =
                Metric::new("count", count as f64, "").thresholds(None, Some(self.min as f64));
            m.fail_range = Some(format!("{}:", self.min));
            m
        });
        // Name and pid only: a command line carries `--password=` and connection strings.
        for p in found.iter().take(5) {
            out.details.push(p.label());
        }
        if count > 5 {
            out.details.push(format!("… and {} more", count - 5));
        }
        if count >= self.min {
            return Ok(
                out.status_summary(Status::Pass, format!("{count} process(es) {what} running"))
            );
        }
        let summary = if count == 0 {
            format!("no process {what} is running")
        } else {
            format!(
                "only {count} process(es) {what} running, at least {} expected",
                self.min
            )
        };
        let unit = self.unit.clone().or_else(|| match &self.matcher {
            Matcher::Name(n) => Some(n.clone()),
            Matcher::Pattern(_) => None,
        });
        let fix = match unit {
            Some(u) if unit_exists(&u) => format!(
                "systemctl start {q}\njournalctl -u {q} -n 50 --no-pager    # why it stopped",
                q = shell_quote(&u)
            ),
            Some(u) => format!(
                "no systemd unit named {u:?} was found: start it the way it is deployed (supervisor, pm2, a container), \
                 or set `unit` to the service's unit name; `systemctl list-units --type=service | grep -i {}` may find it",
                shell_quote(&u)
            ),
            None => "start the application server the way it is deployed, or set `unit` to its systemd unit".into(),
        };
        Ok(out.status_summary(Status::Fail, summary).fix(fix))
    }
}
