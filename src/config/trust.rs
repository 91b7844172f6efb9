//! Whether a path can be changed by someone other than root or the user running sitedoctor:
//! the file, every directory above it and every symlink on the way — OpenSSH's StrictModes,
//! applied to configuration files and to the plugins they run.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use nix::unistd::{Gid, Group, Uid, User};

use super::ConfigError;
use crate::check::{Fix, Status};
use crate::report::CheckResult;
use crate::shell::shell_quote_path;
use crate::sys::users::user_name;

/// Symlinks followed before giving up, as the kernel's `MAXSYMLINKS`.
const MAX_LINKS: usize = 40;

/// One reason a path is not trusted, and the command that makes it acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The entry at fault: the file itself, a directory above it, or a symlink on the way.
    pub path: PathBuf,
    /// "is owned by www-data (uid 33), not root", "is writable by group (mode 0664)".
    pub why: String,
    /// `chown root:root PATH`, `chmod go-w PATH`.
    pub fix: String,
}

/// A path that someone else could change, and every reason why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distrust {
    pub path: PathBuf,
    pub problems: Vec<Problem>,
}

impl Distrust {
    /// `/srv/conf is writable by others (mode 0777); /srv/conf/a.toml is owned by …`
    pub fn reasons(&self) -> String {
        let parts: Vec<String> = self
            .problems
            .iter()
            .map(|p| format!("{} {}", crate::sanitize::path(&p.path), p.why))
            .collect();
        parts.join("; ")
    }

    /// What to do, in one line: the commands, and when a directory above is at fault (a
    /// deploy user's home), the alternative of moving the file somewhere only root controls.
    pub fn remedy(&self) -> String {
        let mut text = self.fixes().join("; ");
        if self.problems.iter().any(|p| p.path != self.path) {
            text.push_str(" (or move it to a directory only root can change)");
        }
        text
    }

    /// The commands that fix every problem, in order, each once.
    pub fn fixes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in &self.problems {
            if !out.contains(&p.fix) {
                out.push(p.fix.clone());
            }
        }
        out
    }
}

/// Who may own, or write, what sitedoctor trusts: root and the user running it. A non-root
/// user's own private group (Debian's user-private groups, umask 002) may write too, as
/// Debian's OpenSSH allows: only that user is in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trusted {
    pub uid: u32,
    pub private_gid: Option<u32>,
}

impl Trusted {
    /// The user this process runs as (its effective uid).
    pub fn current() -> Trusted {
        let uid = Uid::effective().as_raw();
        Trusted {
            uid,
            private_gid: private_group(uid),
        }
    }

    fn owner_ok(&self, uid: u32) -> bool {
        uid == 0 || uid == self.uid
    }
}

/// The primary group of a non-root user when it is theirs alone: named like them and with no
/// other member listed.
fn private_group(uid: u32) -> Option<u32> {
    if uid == 0 {
        return None;
    }
    let user = User::from_uid(Uid::from_raw(uid)).ok()??;
    let group = Group::from_gid(Gid::from_raw(user.gid.as_raw())).ok()??;
    let alone = group.mem.iter().all(|m| *m == user.name);
    (group.name == user.name && alone).then_some(group.gid.as_raw())
}

/// Whether anyone but root or the running user can change `path`: `None` when trusted.
/// A path that does not exist (or cannot be examined) is not judged here: reading it will
/// say why it cannot be read.
pub fn check(path: &Path) -> Option<Distrust> {
    check_as(path, &Trusted::current())
}

pub fn check_as(path: &Path, who: &Trusted) -> Option<Distrust> {
    let problems = walk(path, who);
    (!problems.is_empty()).then(|| Distrust {
        path: path.to_path_buf(),
        problems,
    })
}

/// Every entry from `/` down to `path`, resolving symlinks one component at a time (each
/// symlink's own owner is judged, then its target in turn).
fn walk(path: &Path, who: &Trusted) -> Vec<Problem> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match std::env::current_dir() {
            Ok(d) => d.join(path),
            Err(_) => return Vec::new(),
        }
    };
    let mut problems = Vec::new();
    let mut cur = PathBuf::from("/");
    let mut todo: VecDeque<OsString> = VecDeque::new();
    push_front(&mut todo, &abs);
    if let Ok(meta) = std::fs::symlink_metadata(&cur) {
        judge(&cur, &meta, todo.is_empty(), who, &mut problems);
    }
    let mut links = 0;
    while let Some(name) = todo.pop_front() {
        if name == ".." {
            // `cur` has no symlink in it, so its parent is the real one.
            cur.pop();
            continue;
        }
        let next = cur.join(&name);
        let Ok(meta) = std::fs::symlink_metadata(&next) else {
            break;
        };
        if meta.file_type().is_symlink() {
            links += 1;
            let target = match std::fs::read_link(&next) {
                Ok(t) if links <= MAX_LINKS => t,
                _ => break, // a loop, or gone: reading it will fail and say so
            };
            judge_link(&next, &meta, who, &mut problems);
            if target.is_absolute() {
                cur = PathBuf::from("/");
            }
            push_front(&mut todo, &target);
            continue;
        }
        judge(&next, &meta, todo.is_empty(), who, &mut problems);
        cur = next;
    }
    problems
}

/// Queue the components of `p` before what is still to be walked.
fn push_front(todo: &mut VecDeque<OsString>, p: &Path) {
    for c in p.components().rev() {
        match c {
            Component::Normal(n) => todo.push_front(n.to_os_string()),
            Component::ParentDir => todo.push_front("..".into()),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
}

/// A symlink's mode means nothing, but whoever owns it can replace it where the directory
/// is sticky.
fn judge_link(path: &Path, meta: &Metadata, who: &Trusted, out: &mut Vec<Problem>) {
    if !who.owner_ok(meta.uid()) {
        out.push(Problem {
            path: path.to_path_buf(),
            why: format!("is a symlink owned by {}", owner(meta.uid(), who)),
            fix: format!("chown -h root:root {}", shell_quote_path(path)),
        });
    }
}

/// The owner and write bits of one entry. `last` is the path itself; above it, a sticky
/// directory (`/tmp`) may be writable by all: nobody else can replace what root owns in it.
fn judge(path: &Path, meta: &Metadata, last: bool, who: &Trusted, out: &mut Vec<Problem>) {
    if !who.owner_ok(meta.uid()) {
        out.push(Problem {
            path: path.to_path_buf(),
            why: format!("is owned by {}", owner(meta.uid(), who)),
            fix: format!("chown root:root {}", shell_quote_path(path)),
        });
    }
    let mode = meta.mode() & 0o7777;
    let sticky = mode & 0o1000 != 0;
    if meta.is_dir() && sticky && !last {
        return;
    }
    let group = mode & 0o020 != 0 && Some(meta.gid()) != who.private_gid;
    let others = mode & 0o002 != 0;
    let by = match (group, others) {
        (true, true) => "group and others",
        (true, false) => "group",
        (false, true) => "others",
        (false, false) => return,
    };
    out.push(Problem {
        path: path.to_path_buf(),
        why: format!("is writable by {by} (mode {mode:04o})"),
        fix: format!("chmod go-w {}", shell_quote_path(path)),
    });
}

/// The id of the result that reports configuration another user can change.
pub const WARNING_ID: &str = "config-trust";

/// A `warn` result for the report when configuration files can be changed by other users
/// (they ran, since they neither run programs nor reveal what files hold, but the owner
/// should know).
pub fn warning(untrusted: &[Distrust]) -> Option<CheckResult> {
    if untrusted.is_empty() {
        return None;
    }
    let names: Vec<String> = untrusted
        .iter()
        .map(|d| crate::sanitize::path(&d.path))
        .collect();
    let details = untrusted
        .iter()
        .flat_map(|d| &d.problems)
        .map(|p| format!("{} {}", crate::sanitize::path(&p.path), p.why))
        .collect();
    let mut fixes: Vec<String> = Vec::new();
    for f in untrusted.iter().flat_map(Distrust::fixes) {
        if !fixes.contains(&f) {
            fixes.push(f);
        }
    }
    Some(CheckResult {
        id: WARNING_ID.into(),
        kind: "config",
        title: Some("configuration others can change".into()),
        tags: Vec::new(),
        status: Status::Warn,
        summary: format!(
            "other users can change {} (checks that run programs or read files are refused from such a file)",
            names.join(", ")
        ),
        details,
        fix: Some(Fix {
            text: fixes.join("\n"),
            automatic: false,
        }),
        metrics: Vec::new(),
        findings: Vec::new(),
        duration_ms: 0,
    })
}

/// What a check taken from a file another user can change could be made to do for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Danger {
    /// `command`, `plugin`, `configtest`: run a program of their choosing, as us.
    RunsPrograms,
    /// `log`, `htaccess`, `app_deps`, `env` with `from_file`: read a file they cannot and put
    /// what it holds (lines, addresses, whether a variable is set) into the report.
    RevealsFiles,
}

/// The kinds whose checks run programs: never taken from a file another user can change.
pub const RUNS_PROGRAMS: &[&str] = &["command", "plugin", "configtest"];

/// The kinds whose checks copy what the files they read hold into the report.
pub const REVEALS_FILES: &[&str] = &["log", "htaccess", "app_deps"];

/// Why a check of `kind`, given the fields `fields`, may not come from a file another user
/// can change; `None` when it may (it reads only what `ls -l` or `/proc` would show anyone).
pub fn danger(kind: &str, fields: &[&str]) -> Option<Danger> {
    if RUNS_PROGRAMS.contains(&kind) {
        Some(Danger::RunsPrograms)
    } else if REVEALS_FILES.contains(&kind) || (kind == "env" && fields.contains(&"from_file")) {
        Some(Danger::RevealsFiles)
    } else {
        None
    }
}

/// The refusal of check `id` (of `kind`, defined at `origin`) in `file`, which `d` says other
/// users can change: what it would do for them, which kinds are refused, and the fix.
pub fn refuse_check(
    file: &str,
    id: &str,
    kind: &str,
    origin: &str,
    danger: Danger,
    d: &Distrust,
) -> ConfigError {
    let (refusing, does) = match danger {
        Danger::RunsPrograms => ("to run programs", "runs one"),
        Danger::RevealsFiles => (
            "to read files",
            "would copy what the files it reads hold into the report, so whoever can change \
             this file could read any file sitedoctor can",
        ),
    };
    ConfigError::file(
        file,
        format!(
            "refusing {refusing} from a file other users can change: check {id:?} (kind {kind}, \
             at {origin}) {does}; and {}. From such a file, checks that run programs ({}) \
             and checks that reveal what files hold ({}, env with `from_file`) are refused; \
             the others run with a warning. Make it trusted with: {}",
            d.reasons(),
            RUNS_PROGRAMS.join(", "),
            REVEALS_FILES.join(", "),
            d.remedy()
        ),
    )
}

/// `fix --apply` changes modes where the configuration says: never from a file others can
/// change, whatever its checks are.
pub fn refuse_fix(d: &Distrust) -> ConfigError {
    ConfigError::file(
        crate::sanitize::path(&d.path),
        format!(
            "refusing `fix --apply` from a file other users can change: {}. Make it trusted with: {}",
            d.reasons(),
            d.remedy()
        ),
    )
}

/// `www-data (uid 33), not root`.
fn owner(uid: u32, who: &Trusted) -> String {
    if who.uid == 0 {
        format!("{} (uid {uid}), not root", user_name(uid))
    } else {
        format!(
            "{} (uid {uid}), not root or {}",
            user_name(uid),
            user_name(who.uid)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    const ROOT: Trusted = Trusted {
        uid: 0,
        private_gid: None,
    };

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn chown(p: &Path, uid: u32) {
        std::os::unix::fs::lchown(p, Some(uid), None).unwrap();
    }

    fn is_root() -> bool {
        Uid::effective().is_root()
    }

    #[test]
    fn a_root_owned_file_under_a_private_temp_dir_is_trusted() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("c.toml");
        std::fs::write(&f, "").unwrap();
        chmod(&f, 0o644);
        let who = Trusted {
            uid: Uid::effective().as_raw(),
            private_gid: None,
        };
        assert_eq!(check_as(&f, &who), None);
    }

    #[test]
    fn group_or_world_writable_file_and_directory_are_named_with_their_fix() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("conf");
        std::fs::create_dir(&d).unwrap();
        let f = d.join("c.toml");
        std::fs::write(&f, "").unwrap();
        chmod(&f, 0o664);
        chmod(&d, 0o777);
        let who = Trusted {
            uid: Uid::effective().as_raw(),
            private_gid: None,
        };
        let got = check_as(&f, &who).expect("untrusted");
        let whys: Vec<(&Path, &str)> = got
            .problems
            .iter()
            .map(|p| (p.path.as_path(), p.why.as_str()))
            .collect();
        assert_eq!(
            whys,
            [
                (d.as_path(), "is writable by group and others (mode 0777)"),
                (f.as_path(), "is writable by group (mode 0664)"),
            ]
        );
        assert_eq!(got.fixes()[1], format!("chmod go-w {}", f.display()));
        // Sticky does not excuse the directory that holds the files themselves.
        chmod(&d, 0o1777);
        chmod(&f, 0o644);
        assert_eq!(check_as(&d, &who).unwrap().problems.len(), 1);
        assert_eq!(check_as(&f, &who), None, "sticky above the file is fine");
    }

    #[test]
    fn another_users_file_or_symlink_is_not_trusted() {
        if !is_root() {
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let real = t.path().join("real.toml");
        std::fs::write(&real, "").unwrap();
        let link = t.path().join("link.toml");
        symlink(&real, &link).unwrap();
        chown(&link, 65534);
        let got = check_as(&link, &ROOT).expect("untrusted");
        assert_eq!(got.problems.len(), 1);
        assert!(got.problems[0].why.contains("symlink owned by"), "{got:?}");
        assert!(got.problems[0].fix.starts_with("chown -h root:root "));
        chown(&real, 65534);
        let got = check_as(&real, &ROOT).expect("untrusted");
        assert!(got.reasons().contains("(uid 65534), not root"), "{got:?}");
        assert_eq!(got.fixes(), [format!("chown root:root {}", real.display())]);
    }

    #[test]
    fn a_symlink_target_is_judged_in_turn() {
        let t = tempfile::tempdir().unwrap();
        let open = t.path().join("open");
        std::fs::create_dir(&open).unwrap();
        chmod(&open, 0o777);
        std::fs::write(open.join("c.toml"), "").unwrap();
        chmod(&open.join("c.toml"), 0o644);
        let safe = t.path().join("safe");
        std::fs::create_dir(&safe).unwrap();
        symlink("../open/c.toml", safe.join("c.toml")).unwrap();
        let who = Trusted {
            uid: Uid::effective().as_raw(),
            private_gid: None,
        };
        let got = check_as(&safe.join("c.toml"), &who).expect("untrusted");
        assert_eq!(got.problems.len(), 1);
        assert_eq!(got.problems[0].path, open);
    }

    #[test]
    fn a_private_group_may_write_but_no_other() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("c.toml");
        std::fs::write(&f, "").unwrap();
        chmod(&f, 0o664);
        let gid = std::fs::metadata(&f).unwrap().gid();
        let uid = Uid::effective().as_raw();
        let mine = Trusted {
            uid,
            private_gid: Some(gid),
        };
        assert_eq!(check_as(&f, &mine), None);
        let other = Trusted {
            uid,
            private_gid: Some(gid + 1),
        };
        assert!(check_as(&f, &other).is_some());
        assert_eq!(private_group(0), None, "root has no such exception");
    }

    #[test]
    fn missing_paths_and_loops_are_left_to_the_reader() {
        let t = tempfile::tempdir().unwrap();
        symlink("loop", t.path().join("loop")).unwrap();
        let who = Trusted {
            uid: Uid::effective().as_raw(),
            private_gid: None,
        };
        assert_eq!(check_as(&t.path().join("none/x"), &who), None);
        assert_eq!(check_as(&t.path().join("loop"), &who), None);
    }
}
