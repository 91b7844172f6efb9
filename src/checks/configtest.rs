//! `configtest`: the installed web server's own configuration test — `nginx -t`,
//! `apachectl -t`, `php-fpm -t` — found by detection, `skip` where the server is not installed.

pub mod once;

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::command::shown;
use super::{Check, FieldDoc, Kind, Spec, config_error};
use crate::check::{Ctx, Fix, Outcome, Status};
use crate::finding::{Cause, Finding, Subject};
use crate::shell::shell_quote;
use crate::span::SpanError;
use crate::sys::child;
use crate::webstack::{self, Server};

pub static KIND: Kind = Kind {
    name: "configtest",
    summary: "the web server's own configuration test (nginx -t, apachectl -t, php-fpm -t)",
    why: "A configuration that does not parse takes the server down at its next reload or \
          restart — after a deploy, a certificate renewal, a log rotation. The test names the \
          file and line before that happens.",
    looks_at: "The installed server (found by its binary; for PHP-FPM, every version), run with \
               its test flag. It reads the configuration; it never starts or reloads anything.",
    fixes: "Edit the file at the line the test names, run the test again, then reload.",
    field_docs: &[
        FieldDoc {
            name: "server",
            ty: "string",
            default: "—",
            doc: "\"nginx\", \"apache\" or \"php-fpm\" (required).",
        },
        FieldDoc {
            name: "config",
            ty: "path",
            default: "the server's own",
            doc: "Test this configuration file instead (nginx -c, apache -f, php-fpm -y).",
        },
        FieldDoc {
            name: "args",
            ty: "list of strings",
            default: "[]",
            doc: "More arguments for the test (e.g. nginx's `-p PREFIX`).",
        },
    ],
    example: r#"[[check]]
id = "nginx-config"
kind = "configtest"
server = "nginx"
"#,
    fields: super::fields_of::<ConfigtestSpec>,
    build: super::build::<ConfigtestSpec>,
    hidden: false,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigtestSpec {
    server: Spanned<String>,
    config: Option<PathBuf>,
    #[serde(default)]
    args: Vec<String>,
}

impl Spec for ConfigtestSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        let server = self.server.get_ref().as_str();
        let Some(server) = webstack::SERVERS.iter().find(|s| **s == server) else {
            return Err(SpanError::new(
                self.server.span(),
                format!("server: expected one of {}", webstack::SERVERS.join(", ")),
            ));
        };
        Ok(Arc::new(Configtest {
            server,
            config: self.config,
            args: self.args,
        }))
    }
}

#[derive(Debug)]
struct Configtest {
    server: &'static str,
    config: Option<PathBuf>,
    args: Vec<String>,
}

impl Configtest {
    fn argv(&self, s: &Server) -> Vec<String> {
        let bin = s.binary.to_string_lossy().into_owned();
        let mut argv = match (self.server, &self.config) {
            ("nginx", c) => {
                let mut v = vec![bin, "-t".to_string()];
                if let Some(c) = c {
                    v.extend(["-c".to_string(), c.to_string_lossy().into_owned()]);
                }
                v
            }
            ("apache", None) => {
                // apachectl reads Debian's envvars, which the configuration needs.
                match child::which("apache2ctl").or_else(|| child::which("apachectl")) {
                    Some(ctl) => vec![ctl.to_string_lossy().into_owned(), "-t".to_string()],
                    None => vec![bin, "-t".to_string()],
                }
            }
            ("apache", Some(c)) => vec![
                bin,
                "-t".to_string(),
                "-f".to_string(),
                c.to_string_lossy().into_owned(),
            ],
            (_, c) => {
                let mut v = vec![bin, "-t".to_string()];
                if let Some(c) = c {
                    v.extend(["-y".to_string(), c.to_string_lossy().into_owned()]);
                }
                v
            }
        };
        argv.extend(self.args.iter().cloned());
        argv
    }
}

/// The command line of `server`'s own configuration test, as the `configtest` kind runs it
/// with no `config` or `args` (the baseline records its result).
pub fn default_argv(server: &Server) -> Vec<String> {
    Configtest {
        server: server.name,
        config: None,
        args: Vec::new(),
    }
    .argv(server)
}

/// The line of a config test's output that says what is wrong.
pub fn verdict_line(text: &str) -> Option<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let pick = [
        "[emerg]",
        "[alert]",
        "Syntax error",
        "ALERT:",
        "AH0",
        "ERROR:",
        "error:",
        "[crit]",
    ];
    let i = pick
        .iter()
        .find_map(|p| lines.iter().position(|l| l.contains(p)))
        .or(lines.len().checked_sub(1))?;
    // Apache says "Syntax error on line 9 of FILE:" and the reason on the next line.
    match (lines[i].ends_with(':'), lines.get(i + 1)) {
        (true, Some(next)) => Some(format!("{} {next}", lines[i])),
        _ => Some(lines[i].to_string()),
    }
}

impl Check for Configtest {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let servers: Vec<&Server> = webstack::installed_named(self.server).collect();
        if servers.is_empty() {
            return Ok(Outcome::skip(format!(
                "{} is not installed here",
                self.server
            )));
        }
        let mut out = Outcome::pass("");
        let mut worst = Status::Pass;
        let mut summaries = Vec::new();
        for s in &servers {
            let argv = self.argv(s);
            let f = once::run(&argv, ctx.op_timeout()).map_err(anyhow::Error::msg)?;
            let text = format!("{}\n{}", f.stderr.text(), f.stdout.text());
            let said = verdict_line(&text).unwrap_or_default();
            let line = shown(&argv);
            let (status, summary) = if f.timed_out {
                (
                    Status::Error,
                    format!(
                        "`{line}` did not finish within {}",
                        crate::units::fmt_duration(ctx.timeout)
                    ),
                )
            } else if f.code == Some(0) {
                let ok = text
                    .lines()
                    .map(str::trim)
                    .find(|l| {
                        ["test is successful", "Syntax OK", "syntax is ok"]
                            .iter()
                            .any(|p| l.contains(p))
                    })
                    .map_or(said.clone(), str::to_string);
                (Status::Pass, ok)
            } else if text.contains("Permission denied") && !nix::unistd::geteuid().is_root() {
                (
                    Status::Error,
                    format!("run as root: `{line}` needs to read what only root may ({said})"),
                )
            } else {
                if let Some(subject) = config_error::locate(&said) {
                    // The summary and the output below show the verdict: no line repeats it.
                    let fix = edit_fix(&subject, &line);
                    out.findings.push(
                        Finding::new(subject, Cause::Config, Status::Fail, said.clone()).fix(fix),
                    );
                }
                (Status::Fail, said.clone())
            };
            if status != Status::Pass {
                for l in child::tail_lines(&f.stderr, 8)
                    .into_iter()
                    .chain(child::tail_lines(&f.stdout, 4))
                {
                    out.details.push(l);
                }
            }
            out.details.push(format!("ran `{line}`"));
            worst = worst.worse(status);
            summaries.push((status, summary));
        }
        summaries.sort_by_key(|(s, _)| std::cmp::Reverse(s.rank()));
        out.summary = summaries[0].1.clone();
        if out.summary.is_empty() {
            out.summary = format!("{} configuration test passed", self.server);
        }
        out.status = worst;
        if worst == Status::Fail {
            out.fix = match out.findings.as_slice() {
                [one] => one.fix.clone(),
                _ => Some(Fix {
                    text: format!(
                        "fix the file and line named above, then run `{}` again before reloading",
                        shown(&self.argv(servers[0]))
                    ),
                    automatic: false,
                }),
            };
        }
        Ok(out)
    }
}

/// The edit a located error calls for: the file and line, then the test again.
pub(crate) fn edit_fix(subject: &Subject, test: &str) -> String {
    let place = match subject {
        Subject::Path {
            path,
            line: Some(n),
        }
        | Subject::Directive {
            path: Some(path),
            line: Some(n),
            ..
        } => format!("line {n} of {}", shell_quote(path)),
        other => other.file().map_or(String::new(), shell_quote),
    };
    let what = match subject {
        Subject::Directive { directive, .. } => format!(" (`{directive}`)"),
        _ => String::new(),
    };
    format!("edit {place}{what}, then run `{test}` again before reloading")
}

#[cfg(test)]
mod tests {
    use crate::finding::Subject;

    #[test]
    fn the_fix_is_the_line_to_edit() {
        let d = Subject::Directive {
            directive: "RewriteEngin".into(),
            path: Some("/etc/apache2/sites-enabled/my site.conf".into()),
            line: Some(3),
        };
        assert_eq!(
            super::edit_fix(&d, "apache2ctl -t"),
            "edit line 3 of '/etc/apache2/sites-enabled/my site.conf' (`RewriteEngin`), then run `apache2ctl -t` again before reloading"
        );
        let p = Subject::path("/etc/php/8.2/fpm/pool.d/x.conf");
        assert_eq!(
            super::edit_fix(&p, "php-fpm8.2 -t"),
            "edit /etc/php/8.2/fpm/pool.d/x.conf, then run `php-fpm8.2 -t` again before reloading"
        );
    }

    #[test]
    fn picks_the_telling_line() {
        let nginx = "nginx: [emerg] unknown directive \"sever\" in /etc/nginx/sites-enabled/x:3\nnginx: configuration file /etc/nginx/nginx.conf test failed\n";
        assert_eq!(
            super::verdict_line(nginx).unwrap(),
            "nginx: [emerg] unknown directive \"sever\" in /etc/nginx/sites-enabled/x:3"
        );
        let ok = "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\nnginx: configuration file /etc/nginx/nginx.conf test is successful\n";
        assert!(
            super::verdict_line(ok)
                .unwrap()
                .ends_with("test is successful")
        );
    }
}
