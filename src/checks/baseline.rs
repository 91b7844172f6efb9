//! `baseline`: the web roots and the host now against the last good snapshot (`sitedoctor
//! snapshot`) — code changed, added or removed, modes and owners, the app's environment,
//! the servers' configuration and config tests, packages, PHP extensions, listeners and
//! lockfiles — in the checklist, where the diagnosis links an error to its file's change.
//! The same comparison as `sitedoctor diff`: the snapshot names what to read again.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::tree::max_details;
use super::{Check, FieldDoc, Kind, Spec};
use crate::baseline::compare;
use crate::check::{Ctx, Outcome};
use crate::span::SpanError;

pub static KIND: Kind = Kind {
    name: "baseline",
    summary: "what changed in the web roots and on the host since the last good snapshot",
    why: "A site that worked yesterday and answers 500 today broke through a change. A time \
          window misses changes that keep their mtime (a `tar` or `rsync -t` deploy, a \
          permission flip, a lost environment variable, a removed package); a snapshot of \
          the state that worked does not.",
    looks_at: "What `sitedoctor snapshot` recorded, read again the same way, against the \
               newest snapshot (or `since`) — the same comparison as `sitedoctor diff`. The \
               web roots: every entry's type, mode, owner and keyed content hash (only files \
               whose size, mtime, ctime or inode changed are read again, unless `verify`). \
               The host: the variable names and keyed value hashes of the environment \
               sources the snapshot read (the `env` checks' `from_file` and `process`; \
               values are never kept or shown), the web servers' and PHP-FPM's \
               configuration files and config tests, PHP-FPM's version and extensions, the \
               web stack's packages, the listening ports, and the apps' lockfiles against \
               what is installed. `warn` when something changed; a config test that passed \
               then and fails now is a failing finding, located at the file and line it \
               names. `error` when a part could not be read again (only part was compared; \
               `diff` exits 3); `skip` when no snapshot exists.",
    fixes: "Each mode or owner change comes with the `chmod`/`chown` that restores it, a lost \
            variable with where to set it, a stopped listener with its `systemctl start`, a \
            lockfile vendor/ did not follow with its install command; a code change with its \
            changed lines: revert the deploy or the edit, or \
            take a new snapshot when the change is intended (`sitedoctor snapshot`).",
    field_docs: &[
        FieldDoc {
            name: "baseline",
            ty: "path",
            default: "the state directory",
            doc: "The baseline directory (as `snapshot --baseline`), or one snapshot file.",
        },
        FieldDoc {
            name: "since",
            ty: "string",
            default: "the newest",
            doc: "A snapshot's name, or a time: the newest snapshot taken at or before it.",
        },
        FieldDoc {
            name: "verify",
            ty: "bool",
            default: "false",
            doc: "Read and hash every file, not only those whose stat changed.",
        },
        FieldDoc {
            name: "files_only",
            ty: "bool",
            default: "false",
            doc: "Compare only the files under the web roots: run no program, read nothing \
                  else of the host.",
        },
        FieldDoc {
            name: "max_details",
            ty: "integer",
            default: "50",
            doc: "Changes listed; the count is always complete.",
        },
    ],
    example: r#"[[check]]
id = "since-last-good"
kind = "baseline"
baseline = "/var/lib/sitedoctor"
timeout = "60s"
"#,
    fields: super::fields_of::<BaselineSpec>,
    build: super::build::<BaselineSpec>,
    hidden: false,
    default_timeout: Some(std::time::Duration::from_secs(60)),
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineSpec {
    baseline: Option<PathBuf>,
    since: Option<String>,
    #[serde(default)]
    verify: bool,
    #[serde(default)]
    files_only: bool,
    max_details: Option<Spanned<i64>>,
}

impl Spec for BaselineSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        Ok(Arc::new(Baseline {
            baseline: self.baseline,
            since: self.since,
            how: compare::Reading {
                verify: self.verify,
                files_only: self.files_only,
            },
            max_details: max_details(&self.max_details)?,
        }))
    }
}

#[derive(Debug)]
struct Baseline {
    baseline: Option<PathBuf>,
    since: Option<String>,
    how: compare::Reading,
    max_details: usize,
}

impl Check for Baseline {
    fn run(&self, _ctx: &Ctx) -> anyhow::Result<Outcome> {
        let place = self
            .baseline
            .clone()
            .unwrap_or_else(crate::baseline::store::default_dir);
        let Some(chosen) = compare::choose(&place, self.since.as_deref())? else {
            return Ok(Outcome::skip(format!(
                "no snapshot in {} yet: record one with `sitedoctor snapshot` after a deploy that works",
                crate::sanitize::path(&place)
            )));
        };
        let (loaded, changes, unread) = compare::changes(&chosen, self.how)?;
        Ok(compare::outcome(
            &loaded,
            &changes,
            &unread,
            self.max_details,
        ))
    }
}
