//! `command`: run a program and judge its exit code and output — how `nginx -t`,
//! `apachectl configtest` or any site-specific probe is run.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::tree::OneOrMany;
use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::net::redact::{self, Secrets};
use crate::shell::shell_quote;
use crate::span::SpanError;
use crate::sys::child;
use crate::units::fmt_duration;

pub static KIND: Kind = Kind {
    name: "command",
    summary: "a program exits as expected (config tests, site-specific probes)",
    why: "A web server whose configuration no longer parses fails at its next reload; the \
          config test (`nginx -t`, `apachectl configtest`, `php-fpm -t`) says where, before \
          the reload makes every page a 500.",
    looks_at: "The exit code and, with `expect_output`, stdout and stderr (64 KiB of each kept, \
               the rest counted). The program runs in its own process group, and the whole group \
               is killed when the timeout is up.",
    fixes: "What the program printed names the problem (for config tests: file and line).",
    field_docs: &[
        FieldDoc {
            name: "command",
            ty: "list of strings (or a string with `shell`)",
            default: "—",
            doc: "The program and its arguments (required).",
        },
        FieldDoc {
            name: "shell",
            ty: "bool",
            default: "false",
            doc: "Run `command` (one string) through `sh -c`.",
        },
        FieldDoc {
            name: "expect_exit",
            ty: "integer or list",
            default: "0",
            doc: "Exit codes that mean success.",
        },
        FieldDoc {
            name: "expect_output",
            ty: "regex",
            default: "none",
            doc: "Must match stdout or stderr.",
        },
        FieldDoc {
            name: "env",
            ty: "table",
            default: "{}",
            doc: "Extra environment variables (values never shown).",
        },
        FieldDoc {
            name: "cwd",
            ty: "path",
            default: "none",
            doc: "Working directory.",
        },
        FieldDoc {
            name: "skip_if_missing",
            ty: "bool",
            default: "false",
            doc: "`skip` when the program is not installed.",
        },
    ],
    example: r#"[[check]]
id = "nginx-config"
kind = "command"
command = ["nginx", "-t"]
expect_output = "syntax is ok"
timeout = "10s"
skip_if_missing = true
"#,
    fields: super::fields_of::<CommandSpec>,
    build: super::build::<CommandSpec>,
    hidden: false,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandSpec {
    command: Spanned<OneOrMany>,
    #[serde(default)]
    shell: bool,
    expect_exit: Option<Spanned<ExitCodes>>,
    expect_output: Option<Spanned<String>>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    cwd: Option<PathBuf>,
    #[serde(default)]
    skip_if_missing: bool,
}

/// One exit code or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ExitCodes {
    One(i64),
    Many(Vec<i64>),
}

impl Spec for CommandSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        let span = self.command.span();
        let parts = self.command.into_inner().0;
        let argv = if self.shell {
            if parts.len() != 1 {
                return Err(SpanError::new(
                    span,
                    "with `shell = true`, `command` is one string for sh -c",
                ));
            }
            vec!["sh".to_string(), "-c".to_string(), parts[0].clone()]
        } else {
            if parts[0].trim().is_empty() {
                return Err(SpanError::new(span, "the program name is empty"));
            }
            parts
        };
        let expect_exit = match self.expect_exit {
            None => vec![0],
            Some(e) => {
                let v = match e.get_ref() {
                    ExitCodes::One(c) => vec![*c],
                    ExitCodes::Many(l) => l.clone(),
                };
                if v.is_empty() || v.iter().any(|c| !(0..=255).contains(c)) {
                    return Err(SpanError::new(e.span(), "exit codes are between 0 and 255"));
                }
                v.into_iter().map(|c| c as i32).collect()
            }
        };
        let expect_output = match self.expect_output {
            None => None,
            Some(r) => Some(
                regex::Regex::new(r.get_ref())
                    .map_err(|e| SpanError::new(r.span(), format!("invalid regex: {e}")))?,
            ),
        };
        let secrets = secrets_of(&argv, &self.env);
        Ok(Arc::new(Command {
            secrets,
            argv,
            expect_exit,
            expect_output,
            env: self.env,
            cwd: self.cwd,
            skip_if_missing: self.skip_if_missing,
        }))
    }
}

#[derive(Debug)]
struct Command {
    /// `env` values and secret-looking arguments, masked in everything the check prints.
    secrets: Secrets,
    argv: Vec<String>,
    expect_exit: Vec<i32>,
    expect_output: Option<regex::Regex>,
    env: BTreeMap<String, String>,
    cwd: Option<PathBuf>,
    skip_if_missing: bool,
}

/// `nginx -t -c '/etc/my nginx.conf'`: how the command line reads in a report, secrets
/// masked (`--password=***`, `--token ***`, `mysql '-p***'`, `https://***:***@host/`).
pub fn shown(argv: &[String]) -> String {
    argv.iter()
        .enumerate()
        .map(|(i, a)| {
            if i > 0 && secret_flag(&argv[i - 1]) {
                redact::MASK.to_string()
            } else if mysql_password(argv, i).is_some() {
                let flag = if argv[i].starts_with("-p") { "-p" } else { "" };
                shell_quote(&format!("{flag}{}", redact::MASK))
            } else {
                shell_quote(&redact::text(a))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The password in `argv[i]` when it is `-pSECRET`, or follows a bare `-p`, after a MySQL
/// or MariaDB program (`mysql`, `sudo mysqldump`, `check_mysql`); elsewhere `-p` is often a
/// port or a path.
fn mysql_password(argv: &[String], i: usize) -> Option<&str> {
    let before = argv.get(..i)?;
    if !before.iter().any(|p| redact::takes_mysql_password(p)) {
        return None;
    }
    let arg = argv.get(i)?;
    match redact::attached_password(arg) {
        Some(p) => Some(p),
        None if before.last().is_some_and(|f| f == "-p") && !arg.starts_with('-') => Some(arg),
        None => None,
    }
}

/// `--password` or `-token` given alone: the next argument is its value.
fn secret_flag(arg: &str) -> bool {
    arg.starts_with('-')
        && !arg.contains('=')
        && redact::is_secret_name(arg.trim_start_matches('-'))
}

/// What a check that runs a program (`command`, `plugin`) must never show: its `env`
/// values, and the secrets in its arguments (a program may print its own command line).
pub(crate) fn secrets_of(argv: &[String], env: &BTreeMap<String, String>) -> Secrets {
    let mut s = Secrets::new();
    for v in env.values() {
        s.add(v);
    }
    for (i, a) in argv.iter().enumerate() {
        if i > 0 && secret_flag(&argv[i - 1]) {
            s.add(a);
        }
        if let Some(p) = mysql_password(argv, i) {
            s.add(p);
        }
        s.add_text(a);
    }
    s
}

/// What `judge` says, and its error, with `secrets` masked in every line: the one rule for
/// every check that runs a program.
pub(super) fn masking(
    secrets: &Secrets,
    judge: impl FnOnce() -> anyhow::Result<Outcome>,
) -> anyhow::Result<Outcome> {
    match judge() {
        Ok(out) => Ok(out.masked(|t| secrets.mask(t))),
        Err(e) => Err(anyhow::anyhow!(secrets.mask(&format!("{e:#}")))),
    }
}

/// Captured output with the secrets masked (where the cap cut it, a secret's beginning too).
pub(super) fn masked(c: &child::Captured, secrets: &Secrets) -> child::Captured {
    let text = c.text();
    let text = if c.dropped > 0 {
        secrets.mask_cut(&text)
    } else {
        secrets.mask(&text)
    };
    child::Captured {
        bytes: text.into_bytes(),
        dropped: c.dropped,
    }
}

impl Check for Command {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        masking(&self.secrets, || self.judge(ctx))
    }
}

impl Command {
    fn judge(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let line = shown(&self.argv);
        if self.skip_if_missing && child::which(&self.argv[0]).is_none() {
            return Ok(Outcome::skip(format!(
                "{} is not installed here",
                self.argv[0]
            )));
        }
        let spec = child::Spec {
            argv: &self.argv,
            env: &self.env,
            clear_env: false,
            cwd: self.cwd.as_deref(),
            timeout: ctx.op_timeout(),
        };
        let f = child::run(&spec).map_err(anyhow::Error::msg)?;
        let mut out =
            Outcome::pass("").metric(Metric::new("duration_ms", f.took.as_millis() as f64, "ms"));
        if let Some(c) = f.code {
            out.metrics.push(Metric::new("exit_code", c as f64, ""));
        }
        let (stdout, stderr) = (
            masked(&f.stdout, &self.secrets),
            masked(&f.stderr, &self.secrets),
        );
        let evidence = |out: &mut Outcome| {
            for (name, c) in [("stderr", &stderr), ("stdout", &stdout)] {
                for l in child::tail_lines(c, 10) {
                    out.details.push(format!("{name}: {l}"));
                }
            }
        };
        if f.timed_out {
            evidence(&mut out);
            return Ok(out.status_summary(
                Status::Error,
                format!(
                    "`{line}` did not finish within {}: killed, with everything it started",
                    fmt_duration(ctx.timeout)
                ),
            ));
        }
        let Some(code) = f.code else {
            evidence(&mut out);
            return Ok(out.status_summary(
                Status::Fail,
                format!("`{line}` was killed by signal {}", f.signal.unwrap_or(0)),
            ));
        };
        let last = |c: &child::Captured| child::tail_lines(c, 1).into_iter().next();
        let said = last(&stderr).or_else(|| last(&stdout)).unwrap_or_default();
        if !self.expect_exit.contains(&code) {
            evidence(&mut out);
            let summary = if said.is_empty() {
                format!("`{line}` exited with {code}")
            } else {
                format!("`{line}` exited with {code}: {said}")
            };
            return Ok(out.status_summary(Status::Fail, summary));
        }
        if let Some(re) = &self.expect_output
            && !re.is_match(&f.stdout.text())
            && !re.is_match(&f.stderr.text())
        {
            evidence(&mut out);
            return Ok(out.status_summary(
                Status::Fail,
                format!(
                    "`{line}` exited with {code}, but its output does not match /{}/",
                    re.as_str()
                ),
            ));
        }
        let summary = if said.is_empty() {
            format!("`{line}` exited with {code}")
        } else {
            format!("`{line}` exited with {code}: {said}")
        };
        Ok(out.status_summary(Status::Pass, summary))
    }
}
