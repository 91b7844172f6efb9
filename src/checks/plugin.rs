//! `plugin`: any Nagios/Icinga-compatible plugin — exit 0/1/2/3 is pass/warn/fail/error, the
//! first line the summary, the rest evidence, performance data metrics.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

use super::command::{masked, masking, secrets_of, shown};
use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::config::trust::{self, Distrust};
use crate::nagios;
use crate::net::redact::Secrets;
use crate::span::SpanError;
use crate::sys::child;
use crate::units::fmt_duration;

pub static KIND: Kind = Kind {
    name: "plugin",
    summary: "a Nagios/Icinga-compatible plugin (the monitoring-plugins conventions)",
    why: "Years of monitoring plugins already check databases, queues, mail and more; any of \
          them becomes part of the checklist.",
    looks_at: "The plugin's exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), its first \
               line (the summary), its long text (evidence) and its performance data \
               (`label=value[UOM];warn;crit;min;max`, with the full range syntax), as metrics. \
               Same timeout, kill and capture rules as `command`.",
    fixes: "What the plugin says; `<plugin> --help` documents its thresholds.",
    field_docs: &[
        FieldDoc {
            name: "plugin",
            ty: "name or path",
            default: "—",
            doc: "The plugin; a bare name is looked up in `plugin_dir` (required).",
        },
        FieldDoc {
            name: "args",
            ty: "list of strings",
            default: "[]",
            doc: "Its arguments.",
        },
        FieldDoc {
            name: "plugin_dir",
            ty: "path",
            default: "\"/usr/lib/nagios/plugins\"",
            doc: "Where bare plugin names are found. It, the plugin and every directory above them must be owned by root (or the running user) and not writable by group or others.",
        },
        FieldDoc {
            name: "env",
            ty: "table",
            default: "{}",
            doc: "Extra environment variables.",
        },
    ],
    example: r#"[[check]]
id = "mysql"
kind = "plugin"
plugin = "check_mysql"
args = ["-H", "127.0.0.1", "-u", "monitor"]
timeout = "10s"
"#,
    fields: super::fields_of::<PluginSpec>,
    build: super::build::<PluginSpec>,
    hidden: false,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginSpec {
    plugin: toml::Spanned<String>,
    #[serde(default)]
    args: Vec<String>,
    plugin_dir: Option<PathBuf>,
    #[serde(default)]
    env: BTreeMap<String, String>,
}

impl Spec for PluginSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        if self.plugin.get_ref().trim().is_empty() {
            return Err(SpanError::new(
                self.plugin.span(),
                "the plugin name is empty",
            ));
        }
        let dir = self
            .plugin_dir
            .unwrap_or_else(|| PathBuf::from("/usr/lib/nagios/plugins"));
        let span = self.plugin.span();
        let name = self.plugin.into_inner();
        let program = if name.contains('/') {
            PathBuf::from(&name)
        } else {
            dir.join(&name)
        };
        if let Some(d) = trust::check(&program) {
            return Err(SpanError::new(span, untrusted(&d)));
        }
        let mut argv = vec![program.to_string_lossy().into_owned()];
        argv.extend(self.args);
        Ok(Arc::new(Plugin {
            secrets: secrets_of(&argv, &self.env),
            name,
            program,
            argv,
            env: self.env,
        }))
    }
}

/// Root must never run a program someone else could have replaced (plugin_dir included).
/// The status a plugin's state stands for: UNKNOWN means the plugin could not judge.
fn status_of(state: nagios::State) -> Status {
    match state {
        nagios::State::Ok => Status::Pass,
        nagios::State::Warning => Status::Warn,
        nagios::State::Critical => Status::Fail,
        nagios::State::Unknown => Status::Error,
    }
}

/// A performance data item as a metric: the limit each range stands for, and its text.
fn metric_of(p: nagios::Perf) -> Metric {
    let mut m = Metric::new(p.label, p.value, &p.uom);
    m.min = p.min;
    m.max = p.max;
    if let Some(t) = p.warn {
        m.warn = t.range.limit();
        m.warn_range = Some(t.text);
    }
    if let Some(t) = p.crit {
        m.fail = t.range.limit();
        m.fail_range = Some(t.text);
    }
    m
}

fn untrusted(d: &Distrust) -> String {
    format!(
        "refusing to run plugin {}: other users can change it: {}. Make it trusted with: {}",
        crate::sanitize::path(&d.path),
        d.reasons(),
        d.remedy()
    )
}

#[derive(Debug)]
struct Plugin {
    /// `env` values and secret-looking arguments, masked in everything the check prints
    /// (as `command` masks them).
    secrets: Secrets,
    name: String,
    program: PathBuf,
    argv: Vec<String>,
    env: BTreeMap<String, String>,
}

impl Check for Plugin {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        // Judged again now: it may have appeared, or its directory changed, since loading.
        if let Some(d) = trust::check(&self.program) {
            return Ok(Outcome::error(untrusted(&d)).fix(d.fixes().join("\n")));
        }
        masking(&self.secrets, || self.judge(ctx))
    }
}

impl Plugin {
    fn judge(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let spec = child::Spec {
            argv: &self.argv,
            env: &self.env,
            clear_env: false,
            cwd: None,
            timeout: ctx.op_timeout(),
        };
        let f = child::run(&spec).map_err(anyhow::Error::msg)?;
        // Masked before it is parsed: a secret must not survive as a metric's label either.
        let (stdout, stderr) = (
            masked(&f.stdout, &self.secrets),
            masked(&f.stderr, &self.secrets),
        );
        let text = stdout.text();
        let parsed = nagios::split_output(&text);
        let (metrics, bad) = nagios::perfdata(&parsed.perf);
        let mut out = Outcome::pass(parsed.summary.clone());
        out.metrics = metrics.into_iter().map(metric_of).collect();
        out.details = parsed.long.iter().take(50).cloned().collect();
        if parsed.long.len() > 50 {
            out.details
                .push(format!("… {} more lines", parsed.long.len() - 50));
        }
        if !bad.is_empty() {
            out.details.push(format!(
                "ignored malformed performance data: {}",
                bad.join(" ")
            ));
        }
        if stdout.dropped > 0 {
            out.details.push(format!(
                "… {} more bytes of output not kept",
                stdout.dropped
            ));
        }
        for l in child::tail_lines(&stderr, 5) {
            out.details.push(format!("stderr: {l}"));
        }
        let line = shown(&self.argv);
        if f.timed_out {
            return Ok(out.status_summary(
                Status::Error,
                format!(
                    "{} did not finish within {}: killed, with everything it started",
                    self.name,
                    fmt_duration(ctx.timeout)
                ),
            ));
        }
        let status = match f.code {
            Some(c) => match nagios::state_of(c) {
                Some(s) => status_of(s),
                None => {
                    return Ok(out.status_summary(
                        Status::Error,
                        format!("`{line}` exited with {c}, which is not a plugin status (0-3)"),
                    ));
                }
            },
            None => {
                return Ok(out.status_summary(
                    Status::Error,
                    format!("`{line}` was killed by signal {}", f.signal.unwrap_or(0)),
                ));
            }
        };
        if out.summary.is_empty() {
            out.summary = format!(
                "{} printed nothing (exit {})",
                self.name,
                f.code.unwrap_or(-1)
            );
        }
        out.status = status;
        Ok(out)
    }
}
