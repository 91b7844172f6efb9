//! The file tree's half of `diff`: the snapshot's records and now's, both sorted, compared
//! in one merge pass into [`Change`]s, with the command that puts a mode or owner back.

use std::cmp::Ordering;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::change::{Area, Change, How};
use super::lines;
use super::tree::{EntryKind, Record, Records, path_cmp};
use crate::sanitize;
use crate::shell::shell_quote_path;

/// A change with what a person may want beside it: the old text of changed lines (only
/// from a snapshot taken with `--keep-content`).
#[derive(Debug, Clone, PartialEq)]
pub struct TreeChange {
    pub change: Change,
    /// `(line number in the old file, its text)` of the lines that changed.
    pub was: Vec<(usize, String)>,
}

/// At most this many old lines are shown per file.
const MAX_WAS: usize = 20;

/// Compare two sorted record lists. An added or removed directory is one change, with the
/// count of the entries below it, not one per entry.
pub fn compare<O, N>(old: &O, new: &N) -> Vec<TreeChange>
where
    O: Records + ?Sized,
    N: Records + ?Sized,
{
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let ord = if i < old.len() && j < new.len() {
            path_cmp(old.path(i), new.path(j))
        } else if i < old.len() {
            Ordering::Less
        } else {
            Ordering::Greater
        };
        match ord {
            Ordering::Equal => {
                let n = new.get(j);
                if !old.same_as(i, &n) {
                    let o = old.get(i);
                    let o = if content_changed(&o, &n) {
                        old.whole(i)
                    } else {
                        o
                    };
                    changed(&o, &n, &mut out);
                }
                i += 1;
                j += 1;
            }
            Ordering::Less => i = gone_or_new(old, i, How::Removed, &mut out),
            Ordering::Greater => j = gone_or_new(new, j, How::Added, &mut out),
        }
    }
    out
}

/// Report `list[at]` as added or removed (with everything below it when it is a directory),
/// and return the index after it.
fn gone_or_new<L: Records + ?Sized>(
    list: &L,
    at: usize,
    how: How,
    out: &mut Vec<TreeChange>,
) -> usize {
    let r = list.get(at);
    let mut end = at + 1;
    let (below, code_below) = match list.below(at) {
        Some(told) => told,
        None => {
            if r.kind == EntryKind::Dir {
                while end < list.len() && is_below(list.path(end), &r.path) {
                    end += 1;
                }
            }
            let code = (at + 1..end).any(|k| {
                area_of(Path::new(std::ffi::OsStr::from_bytes(list.path(k)))) == Area::Code
            });
            (end - at - 1, code)
        }
    };
    let what = match (r.kind, below) {
        (EntryKind::Dir, 0) => "empty directory".to_string(),
        (EntryKind::Dir, 1) => "directory with 1 entry".to_string(),
        (EntryKind::Dir, n) => format!("directory with {n} entries"),
        (k, _) => k.noun().to_string(),
    };
    let detail = match how {
        How::Added => format!(
            "added since the snapshot ({what}, mode {:04o}, owner {}:{})",
            r.perm, r.uid, r.gid
        ),
        _ => format!("removed since the snapshot ({what})"),
    };
    let own = area_of(r.path());
    // A directory is code when it holds code (or is named so), else a plain file tree.
    let area = match r.kind {
        EntryKind::Dir if code_below || own == Area::Code => Area::Code,
        EntryKind::Dir => Area::File,
        _ => own,
    };
    out.push(TreeChange {
        change: Change {
            area,
            how,
            subject: sanitize::path(r.path()),
            detail,
            fix: None,
            lines: vec![],
        },
        was: vec![],
    });
    end
}

/// Whether `path` is strictly below the directory `dir`.
pub(super) fn is_below(path: &[u8], dir: &[u8]) -> bool {
    path.len() > dir.len()
        && path.starts_with(dir)
        && (dir.ends_with(b"/") || path[dir.len()] == b'/')
}

/// Whether a file's content changed (both sides hashed, the hashes differ).
fn content_changed(o: &Record, n: &Record) -> bool {
    o.kind == n.kind
        && n.kind == EntryKind::File
        && matches!((o.hash, n.hash), (Some(a), Some(b)) if a != b)
}

/// What changed in one entry present in both.
fn changed(o: &Record, n: &Record, out: &mut Vec<TreeChange>) {
    // Most entries are unchanged: their path is made text only when something changed.
    let subject = || sanitize::path(n.path());
    let mk = |area, detail: String, fix: Option<String>, lines| TreeChange {
        change: Change {
            area,
            how: How::Changed,
            subject: subject(),
            detail,
            fix,
            lines,
        },
        was: vec![],
    };
    if o.kind != n.kind {
        out.push(mk(
            area_of(n.path()),
            format!("was a {}, is a {} now", o.kind.noun(), n.kind.noun()),
            None,
            vec![],
        ));
        return;
    }
    if content_changed(o, n) {
        out.push(content(o, n, &subject()));
    }
    if let (Some(a), Some(b)) = (&o.target, &n.target)
        && a != b
    {
        out.push(mk(
            area_of(n.path()),
            format!(
                "symlink target {} → {}",
                sanitize::bytes(a),
                sanitize::bytes(b)
            ),
            Some(format!(
                "ln -sfn {} {}",
                shell_quote_path(Path::new(std::ffi::OsStr::from_bytes(a))),
                shell_quote_path(n.path())
            )),
            vec![],
        ));
    }
    // A symlink's own mode means nothing on Linux.
    if o.perm != n.perm && n.kind != EntryKind::Symlink {
        out.push(mk(
            Area::Access,
            format!("mode {:04o} → {:04o}", o.perm, n.perm),
            Some(crate::fixes::chmod_command(o.perm, n.path())),
            vec![],
        ));
    }
    if (o.uid, o.gid) != (n.uid, n.gid) {
        let h = if n.kind == EntryKind::Symlink {
            "-h "
        } else {
            ""
        };
        out.push(mk(
            Area::Access,
            format!("owner {}:{} → {}:{}", o.uid, o.gid, n.uid, n.gid),
            Some(format!(
                "chown {h}{}:{} {}",
                o.uid,
                o.gid,
                shell_quote_path(n.path())
            )),
            vec![],
        ));
    }
}

/// A file whose content hash differs: which lines, when both sides have line hashes.
fn content(o: &Record, n: &Record, subject: &str) -> TreeChange {
    let mut detail = "content changed".to_string();
    let mut ranges = Vec::new();
    let mut was = Vec::new();
    if let (Some(ol), Some(nl)) = (&o.lines, &n.lines) {
        let hunks = lines::hunks(ol, nl);
        ranges = hunks.iter().map(|h| h.new_lines(nl.len())).collect();
        if !ranges.is_empty() {
            let word = if ranges.len() == 1 && ranges[0].0 == ranges[0].1 {
                "line"
            } else {
                "lines"
            };
            detail = format!("content changed, {word} {}", lines::ranges_text(&ranges));
        }
        if let Some(old_text) = &o.content {
            let old_lines: Vec<&[u8]> = lines::split(old_text).collect();
            for h in &hunks {
                for k in h.old.clone() {
                    if was.len() < MAX_WAS
                        && let Some(l) = old_lines.get(k)
                    {
                        was.push((k + 1, sanitize::bytes(l)));
                    }
                }
            }
        }
    } else if o.size != n.size {
        detail = format!("content changed, {} → {} bytes", o.size, n.size);
    }
    if o.mtime == n.mtime {
        detail.push_str(
            " (its modification time was set back: only the hash and the inode's change time show it)",
        );
    }
    TreeChange {
        change: Change {
            area: area_of(n.path()),
            how: How::Changed,
            subject: subject.to_string(),
            detail,
            fix: None,
            lines: ranges,
        },
        was,
    }
}

/// Code a web server or an app runs; configuration read per directory; anything else.
pub fn area_of(path: &Path) -> Area {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    // An app's `.env` (`.env.production`...) is its configuration: a changed value there is
    // a classic 500. Not its templates.
    let dotenv = name == ".env"
        || name
            .strip_prefix(".env.")
            .is_some_and(|rest| !matches!(rest, "example" | "sample" | "dist" | "template"));
    if dotenv
        || matches!(
            name.as_str(),
            ".htaccess" | ".user.ini" | "php.ini" | "web.config" | "web.xml"
        )
    {
        return Area::Config;
    }
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    const CODE: &[&str] = &[
        "php", "phtml", "php5", "php7", "phar", "inc", "module", "py", "rb", "erb", "js", "mjs",
        "cjs", "ts", "jsx", "tsx", "pl", "pm", "cgi", "fcgi", "sh", "java", "jsp", "class", "jar",
        "war", "go", "lua", "twig", "blade", "tpl", "so", "wasm",
    ];
    if CODE.contains(&ext) {
        Area::Code
    } else {
        Area::File
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::key::Digest;

    fn rec(path: &str, kind: EntryKind, perm: u32) -> Record {
        Record {
            path: path.as_bytes().to_vec(),
            kind,
            perm,
            uid: 0,
            gid: 0,
            size: 1,
            ino: 1,
            mtime: (1, 0),
            ctime: (1, 0),
            hash: (kind == EntryKind::File).then_some(Digest([1; 32])),
            target: None,
            lines: None,
            content: None,
            unreadable: false,
        }
    }

    #[test]
    fn merges_into_changes_and_folds_a_removed_tree() {
        let old = vec![
            rec("/w", EntryKind::Dir, 0o755),
            rec("/w/a.php", EntryKind::File, 0o644),
            rec("/w/gone", EntryKind::Dir, 0o755),
            rec("/w/gone/x.php", EntryKind::File, 0o644),
            rec("/w/gone/y", EntryKind::File, 0o644),
            rec("/w/gone-too.css", EntryKind::File, 0o644),
        ];
        let mut new = vec![
            rec("/w", EntryKind::Dir, 0o755),
            rec("/w/a.php", EntryKind::File, 0o600),
            rec("/w/new.php", EntryKind::File, 0o644),
        ];
        new[2].hash = Some(Digest([2; 32]));
        let got = compare(&old, &new);
        let summary: Vec<(String, How, Area)> = got
            .iter()
            .map(|c| (c.change.subject.clone(), c.change.how, c.change.area))
            .collect();
        assert_eq!(
            summary,
            [
                ("/w/a.php".into(), How::Changed, Area::Access),
                ("/w/gone".into(), How::Removed, Area::Code),
                ("/w/gone-too.css".into(), How::Removed, Area::File),
                ("/w/new.php".into(), How::Added, Area::Code),
            ]
        );
        assert_eq!(got[0].change.fix.as_deref(), Some("chmod 644 /w/a.php"));
        assert!(got[1].change.detail.contains("2 entries"), "{:?}", got[1]);
    }

    #[test]
    fn an_apps_dotenv_is_configuration_and_its_templates_are_not() {
        for (name, area) in [
            (".env", Area::Config),
            (".env.production", Area::Config),
            (".env.example", Area::File),
            ("cart.php", Area::Code),
            ("style.css", Area::File),
        ] {
            assert_eq!(
                area_of(Path::new("/www").join(name).as_path()),
                area,
                "{name}"
            );
        }
    }
}
