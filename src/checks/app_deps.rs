//! `app_deps`: every address the app's environment names — its database, cache, mail
//! server and APIs — accepts connections now, so a refused database or a hung API is named
//! before a log line says so. Credentials and values are never shown: only `host:port`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::finding::{Cause, Finding, Subject};
use crate::span::SpanError;
use crate::stack::env_addresses::{self, Declared, Role};
use crate::stack::env_sources::{self, Source, Value};
use crate::stack::probe::{self, Verdict};
use crate::units::{clip, fmt_duration};

pub static KIND: Kind = Kind {
    name: "app_deps",
    summary: "the database, cache and APIs the app's environment names accept connections",
    why: "When the database refuses connections or a payment API hangs, every page that needs \
          it answers 500 — and the app's own log may say only `Connection refused`, without \
          the address.",
    looks_at: "The app's env sources: the `.env` files of the web roots the web stack serves \
               (and up to three directories above), those in `paths`, the PHP-FPM pools' \
               `env[NAME]` and the web stack's systemd units' `Environment=`/`EnvironmentFile=`. \
               Every address they name — `DB_HOST`+`DB_PORT`, `DATABASE_URL`, `REDIS_URL`, \
               `*_URL`, `*_API`, `*_HOST`(+`_PORT`) — gets one TCP connect, all at once, within \
               the timeout; at most 20 addresses. Defaults the app's own settings leave unused \
               (`DB_CONNECTION=sqlite`, Redis when no driver is `redis`, SMTP when the mailer \
               is not `smtp`) and the site's own URLs (`APP_URL`) are not probed, nor are \
               link-local or cloud metadata addresses. Only `host:port` is ever shown: no \
               value, user or password.",
    fixes: "Refused: start the service, or correct the variable. No answer: a firewall dropping \
            packets or a dead host. A name that does not resolve: the variable or DNS.",
    field_docs: &[
        FieldDoc {
            name: "paths",
            ty: "list of paths",
            default: "[]",
            doc: "More `.env` files, or app directories to find one in (or up to three directories above).",
        },
        FieldDoc {
            name: "from_web_stack",
            ty: "bool",
            default: "true",
            doc: "Also read the web roots' `.env` files, the PHP-FPM pools and the web stack's units.",
        },
    ],
    example: r#"[[check]]
id = "app-dependencies"
kind = "app_deps"
paths = ["/srv/shop/.env"]
timeout = "3s"
"#,
    fields: super::fields_of::<AppDepsSpec>,
    build: super::build::<AppDepsSpec>,
    hidden: false,
    default_timeout: Some(Duration::from_secs(5)),
};

/// At most this many addresses are probed per check.
const MAX_PROBES: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppDepsSpec {
    #[serde(default)]
    paths: Vec<PathBuf>,
    from_web_stack: Option<Spanned<bool>>,
}

impl Spec for AppDepsSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        let from_web_stack = match self.from_web_stack {
            Some(f) if !*f.get_ref() && self.paths.is_empty() => {
                return Err(SpanError::new(
                    f.span(),
                    "with from_web_stack = false, `paths` must name a .env file or an app directory: otherwise there is nothing to read",
                ));
            }
            Some(f) => f.into_inner(),
            None => true,
        };
        Ok(Arc::new(AppDeps {
            paths: self.paths,
            from_web_stack,
        }))
    }
}

#[derive(Debug)]
struct AppDeps {
    paths: Vec<PathBuf>,
    from_web_stack: bool,
}

impl AppDeps {
    /// The env sources to read, and why a configured path gave none.
    fn sources(&self) -> (Vec<Source>, Vec<String>) {
        let mut sources = Vec::new();
        let mut problems = Vec::new();
        for p in &self.paths {
            let shown = crate::sanitize::path(p);
            if p.is_dir() {
                let near = env_sources::dotenv_near(p, Path::new("/"));
                if near.is_empty() {
                    problems.push(format!(
                        "no .env file in {shown} or the directories above it"
                    ));
                }
                sources.extend(near);
            } else {
                match env_sources::read_dotenv(p) {
                    Ok(s) => sources.push(s),
                    Err(e) if e.is_permission_denied() => problems.push(format!(
                        "cannot read {shown}: permission denied (run as root, or as the app's user)"
                    )),
                    Err(e) => problems.push(format!("cannot read {shown}: {e}")),
                }
            }
        }
        if self.from_web_stack {
            sources.extend(env_sources::of_web_roots(&env_sources::sysroot()));
            sources.extend(env_sources::host_cached().iter().cloned());
        }
        let mut unique: Vec<Source> = Vec::new();
        for s in sources {
            if !unique
                .iter()
                .any(|u| u.file == s.file && u.origin == s.origin)
            {
                unique.push(s);
            }
        }
        (unique, problems)
    }
}

impl Check for AppDeps {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let (sources, problems) = self.sources();
        let declared = env_addresses::declared(&sources);
        // Every URL's user info and every host's password: no line may show any part.
        let secrets: Vec<Value> = sources
            .iter()
            .flat_map(env_addresses::every_secret)
            .collect();
        let withheld: Vec<String> = env_addresses::withheld(&sources)
            .into_iter()
            .map(|w| format!("{w}: not probed, its host or port repeats text from its user name or password, so it is never shown nor looked up"))
            .collect();
        Ok(self
            .judged(ctx, &sources, &declared, problems, withheld)
            .masked(|t| env_addresses::mask(t, &secrets)))
    }
}

impl AppDeps {
    fn judged(
        &self,
        ctx: &Ctx,
        sources: &[Source],
        declared: &[Declared],
        problems: Vec<String>,
        withheld: Vec<String>,
    ) -> Outcome {
        if declared.is_empty() {
            let mut out = if sources.is_empty() {
                Outcome::skip(
                    "no app environment found: no .env file in the web roots or `paths`, no PHP-FPM pool, no Environment= in the web stack's units",
                )
            } else {
                let labels: Vec<String> = sources.iter().map(Source::label).collect();
                Outcome::skip(format!(
                    "the app's environment names no address to probe (read {})",
                    clip(&labels.join(", "), 200)
                ))
            };
            if !problems.is_empty() {
                out = out.status_summary(Status::Warn, problems[0].clone());
                out.details.extend(problems);
            }
            out.details.extend(withheld);
            return out;
        }
        let budget = ctx.op_timeout();
        let probed: Vec<(&Declared, Verdict)> = std::thread::scope(|s| {
            let handles: Vec<_> = declared
                .iter()
                .take(MAX_PROBES)
                .map(|d| s.spawn(move || (d, probe::probe(&d.host, d.port, budget))))
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let mut out = Outcome::pass("");
        for (d, v) in &probed {
            match finding_of(d, v) {
                Some(f) => {
                    out.details.push(format!("{}: {}", d.address, f.detail()));
                    out.findings.push(f);
                }
                None => out.details.push(format!(
                    "{} ({} in {}): not probed, a link-local or cloud metadata address",
                    d.address, d.names, d.source
                )),
            }
        }
        if declared.len() > MAX_PROBES {
            out.details.push(format!(
                "… {} more addresses not probed (at most {MAX_PROBES} per check)",
                declared.len() - MAX_PROBES
            ));
        }
        out.details.extend(withheld);
        out.details.extend(problems.iter().cloned());
        judge(out, &problems)
    }
}

/// Status, summary, fix and metrics from the findings.
fn judge(mut out: Outcome, problems: &[String]) -> Outcome {
    let bad: Vec<&Finding> = out
        .findings
        .iter()
        .filter(|f| f.status != Status::Pass)
        .collect();
    let status = bad
        .iter()
        .fold(Status::Pass, |s, f| s.worse(f.status))
        .worse(if problems.is_empty() {
            Status::Pass
        } else {
            Status::Warn
        });
    let total = out.findings.len();
    let summary = match bad.first() {
        Some(f) => format!(
            "{} of {total} dependencies the app's environment names cannot be reached; first: {}: {}",
            bad.len(),
            f.subject.label(),
            f.text
        ),
        None => {
            let ok: Vec<String> = out.findings.iter().map(|f| f.subject.label()).collect();
            format!(
                "{total} dependencies the app's environment names accept connections: {}",
                clip(&ok.join(", "), 200)
            )
        }
    };
    let fix = bad.first().and_then(|f| f.fix.clone());
    let unreachable = bad.len();
    out.fix = fix;
    out.metrics
        .push(Metric::new("dependencies", total as f64, ""));
    out.metrics
        .push(Metric::new("unreachable", unreachable as f64, "").thresholds(None, Some(1.0)));
    out.status_summary(status, summary)
}

/// The finding for one probed address; `None` when it was not probed.
fn finding_of(d: &Declared, v: &Verdict) -> Option<Finding> {
    let subject = Subject::Address {
        address: d.address.clone(),
    };
    let who = format!("{} ({} in {})", d.role.what(), d.names, d.source);
    // A mail server that cannot be reached fails the mail, rarely the page.
    let bad = if d.role == Role::Mail {
        Status::Warn
    } else {
        Status::Fail
    };
    let correct = format!("or correct {} in {}", d.names, d.source);
    let f = match v {
        Verdict::Forbidden => return None,
        Verdict::Accepts(t) => Finding::new(
            subject,
            Cause::Dependency,
            Status::Pass,
            format!("{who} accepts connections ({})", fmt_duration(*t)),
        ),
        Verdict::Refused => Finding::new(
            subject,
            Cause::Dependency,
            bad,
            format!("{who} refuses connections"),
        )
        .fix(format!(
            "start {} (systemctl status …), {correct}",
            d.role.what()
        )),
        Verdict::Silent(t) => Finding::new(
            subject,
            Cause::Timeout,
            bad,
            format!("{who} does not answer within {}", fmt_duration(*t)),
        )
        .fix(format!(
            "check that service and the network to it (a firewall dropping packets, or a dead host), {correct}"
        )),
        Verdict::Unresolved(why) => {
            Finding::new(subject, Cause::Dependency, bad, format!("{who}: {why}")).fix(format!(
                "check the host name (getent hosts {}), {correct}",
                d.host
            ))
        }
        Verdict::Failed(why) => Finding::new(
            subject,
            Cause::Dependency,
            bad,
            format!("{who} cannot be reached: {why}"),
        )
        .fix(format!("check the network to it, {correct}")),
    };
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(role: Role) -> Declared {
        Declared {
            address: "127.0.0.1:3306".into(),
            host: "127.0.0.1".into(),
            port: 3306,
            names: "DB_HOST and DB_PORT".into(),
            source: "/srv/app/.env".into(),
            role,
            secrets: Vec::new(),
        }
    }

    #[test]
    fn a_refused_database_fails_with_its_address_and_a_silent_one_is_a_timeout() {
        let f = finding_of(&declared(Role::Database), &Verdict::Refused).unwrap();
        assert_eq!(
            f.detail(),
            "the database (DB_HOST and DB_PORT in /srv/app/.env) refuses connections → start the database (systemctl status …), or correct DB_HOST and DB_PORT in /srv/app/.env"
        );
        assert_eq!(f.status, Status::Fail);
        let t = finding_of(
            &declared(Role::Database),
            &Verdict::Silent(Duration::from_secs(2)),
        )
        .unwrap();
        assert_eq!(t.cause, Cause::Timeout);
        assert!(finding_of(&declared(Role::Http), &Verdict::Forbidden).is_none());
        let mail = finding_of(&declared(Role::Mail), &Verdict::Refused).unwrap();
        assert_eq!(mail.status, Status::Warn);
    }

    #[test]
    fn judged_by_the_worst() {
        let ok = finding_of(
            &declared(Role::Cache),
            &Verdict::Accepts(Duration::from_millis(1)),
        )
        .unwrap();
        let bad = finding_of(&declared(Role::Database), &Verdict::Refused).unwrap();
        let mut out = Outcome::pass("");
        out.findings = vec![ok.clone(), bad];
        let out = judge(out, &[]);
        assert_eq!(out.status, Status::Fail);
        assert!(
            out.summary.starts_with(
                "1 of 2 dependencies the app's environment names cannot be reached; first: 127.0.0.1:3306: the database"
            ),
            "{}",
            out.summary
        );
        let mut fine = Outcome::pass("");
        fine.findings = vec![ok];
        assert_eq!(judge(fine, &[]).status, Status::Pass);
    }
}
