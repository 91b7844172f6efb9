//! The git work tree a changed file belongs to, found by looking for `.git`, and the last
//! commit that touched a file. sitedoctor runs as root, the tree may be writable by another
//! user, and a repository's own configuration can make `git` run programs: `git` runs only
//! as the owner of the work tree, and only where no one else can change the tree, its
//! `.git`, its configuration or a directory above them (see [`Runner`]), with every setting
//! that runs a program or fetches turned off and nothing inherited from the environment,
//! bounded in time, for a handful of files a run.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::trust;
use crate::shell::shell_quote_path;
use crate::sys::users;

/// A work tree: its top directory and who owns its `.git`.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkTree {
    pub top: PathBuf,
    pub owner: u32,
}

/// Finds work trees for files under one root, remembering each directory it looked at.
pub struct Finder {
    /// The highest directory looked in: the parent of the scanned root (a web root is
    /// often `public/` of the checkout).
    stop: PathBuf,
    seen: HashMap<PathBuf, Option<WorkTree>>,
}

impl Finder {
    pub fn new(root: &Path) -> Finder {
        Finder {
            stop: root.parent().unwrap_or(root).to_path_buf(),
            seen: HashMap::new(),
        }
    }

    /// The work tree holding `file`, looking upwards from its directory as far as the
    /// root's parent.
    pub fn find(&mut self, file: &Path) -> Option<WorkTree> {
        let dir = file.parent()?;
        if !dir.starts_with(&self.stop) {
            return None;
        }
        if let Some(known) = self.seen.get(dir) {
            return known.clone();
        }
        let found = match std::fs::symlink_metadata(dir.join(".git")) {
            // A directory, or a file (`gitdir: …`) for a linked work tree or a submodule.
            Ok(m) if m.is_dir() || m.is_file() => Some(WorkTree {
                top: dir.to_path_buf(),
                owner: m.uid(),
            }),
            _ if dir == self.stop => None,
            _ => self.find(dir),
        };
        self.seen.insert(dir.to_path_buf(), found.clone());
        found
    }
}

impl WorkTree {
    /// The commands to see the last commit that changed `file` and to take it back, run as
    /// the owner of the repository when that is not who runs sitedoctor (git refuses a
    /// repository another user owns, and should not run its configuration as root).
    pub fn fix(&self, file: &Path) -> Option<String> {
        let rel = file.strip_prefix(&self.top).ok()?;
        let sudo = if self.owner == nix::unistd::geteuid().as_raw() {
            String::new()
        } else {
            let name = users::user_name(self.owner);
            let who = if name == self.owner.to_string() {
                format!("'#{name}'")
            } else {
                crate::shell::shell_quote(&name)
            };
            format!("sudo -u {who} ")
        };
        let git = format!("{sudo}git -C {}", shell_quote_path(&self.top));
        let rel = shell_quote_path(rel);
        Some(format!(
            "{git} log -1 --format='%h %an %ar %s' -- {rel}    # the last commit that changed it\n\
             {git} checkout HEAD~1 -- {rel}    # to take it back to the commit before"
        ))
    }
}

/// At most this many `git log` calls a check run: naming the commit helps a person, but
/// must not make a run slow on a deploy that touched thousands of files.
pub const MAX_LOOKUPS: usize = 3;

impl WorkTree {
    /// `a1b2c3d deploy 5 minutes ago: theme: show the product of the day`, the last commit
    /// that changed `file`, or `None` when it cannot be read safely and quickly.
    pub fn last_commit(&self, file: &Path, timeout: Duration) -> Option<String> {
        let rel = file.strip_prefix(&self.top).ok()?.to_str()?;
        let runner = Runner::for_tree(&self.top)?;
        let done = crate::sys::child::run(&crate::sys::child::Spec {
            argv: &runner.argv(rel)?,
            env: &git_env(),
            clear_env: true,
            cwd: Some(Path::new("/")),
            timeout,
        })
        .ok()?;
        if done.code != Some(0) {
            return None;
        }
        let line = done.stdout.text();
        let line = crate::sanitize::terminal(line.lines().next()?.trim());
        (!line.is_empty()).then(|| crate::units::clip(&line, 160))
    }
}

/// Who runs `git` in a work tree, and where: only ever its owner, only where nobody else can
/// change what git reads its configuration from.
///
/// Why this closes the race of checking `.git` by path and then running git by the same
/// path: let O own the top directory. When the top directory, `.git` and `.git/config` are
/// O's, none writable by group or others, and every directory above is root's or O's and
/// writable by no one else (or sticky, where only an entry's owner may rename it), then
/// every name on the path resolves through directories only root or O can change — at the
/// check and at any moment after it. Nobody else can swap `.git`, its config, the top
/// directory or a directory above for their own, and no one else can make those directories
/// writable (only an owner may chmod). And git runs as O, so whatever O could still change
/// between the check and the exec, O can change anyway: git runs with a configuration only
/// the user it runs as (or root) could have written. A tree another user can write gets no
/// git at all, only the commands to type.
struct Runner {
    /// The top directory, symlinks resolved.
    top: PathBuf,
    /// `setpriv …` when git must change user first.
    prefix: Vec<String>,
    git: PathBuf,
}

impl Runner {
    fn for_tree(top: &Path) -> Option<Runner> {
        let top = std::fs::canonicalize(top).ok()?;
        let owner = owned_alone(&top, None, FileKind::Dir)?;
        let git_dir = top.join(".git");
        owned_alone(&git_dir, Some(owner), FileKind::Dir)?;
        owned_alone(&git_dir.join("config"), Some(owner), FileKind::File)?;
        // A linked work tree's `commondir` sends git to another repository's configuration.
        if std::fs::symlink_metadata(git_dir.join("commondir")).is_ok() {
            return None;
        }
        let strict = trust::Trusted {
            uid: owner,
            private_gid: None,
        };
        if trust::check_as(&git_dir.join("config"), &strict).is_some() {
            return None;
        }
        Some(Runner {
            prefix: as_user(owner)?,
            git: crate::sys::child::which("git")?,
            top,
        })
    }

    /// `[setpriv …] git -c … log -1 --format=… -- REL`.
    fn argv(&self, rel: &str) -> Option<Vec<String>> {
        let mut argv = self.prefix.clone();
        argv.push(self.git.to_str()?.to_string());
        argv.extend(GIT_OPTIONS.iter().map(|o| o.to_string()));
        for c in GIT_CONFIG {
            argv.extend(["-c".to_string(), c.to_string()]);
        }
        argv.push(format!("--git-dir={}", self.top.join(".git").to_str()?));
        argv.push(format!("--work-tree={}", self.top.to_str()?));
        argv.extend(
            [
                "log",
                "-1",
                "--no-ext-diff",
                "--no-textconv",
                "--format=%h %an %ar: %s",
                "--",
                rel,
            ]
            .map(String::from),
        );
        Some(argv)
    }
}

#[derive(PartialEq)]
enum FileKind {
    Dir,
    File,
}

/// The owner of `path` when it is a real directory or file (not a symlink) that no group or
/// other user may write, and owned by `owner` when one is given.
fn owned_alone(path: &Path, owner: Option<u32>, kind: FileKind) -> Option<u32> {
    let m = std::fs::symlink_metadata(path).ok()?;
    let kind_ok = match kind {
        FileKind::Dir => m.file_type().is_dir(),
        FileKind::File => m.file_type().is_file(),
    };
    let ok = kind_ok && m.mode() & 0o022 == 0 && owner.is_none_or(|o| o == m.uid());
    ok.then_some(m.uid())
}

/// How to become `owner` to run git: nothing when sitedoctor already is; `setpriv` to drop
/// root to them (their primary group, no other, no way back up); `None` when sitedoctor is
/// neither root nor them (git would rightly refuse another user's repository).
fn as_user(owner: u32) -> Option<Vec<String>> {
    let me = nix::unistd::geteuid().as_raw();
    if owner == me {
        return Some(Vec::new());
    }
    if me != 0 {
        return None;
    }
    let gid = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(owner))
        .ok()
        .flatten()
        .map_or(NOGROUP, |u| u.gid.as_raw());
    let setpriv = crate::sys::child::which("setpriv")?;
    Some(vec![
        setpriv.to_str()?.to_string(),
        format!("--reuid={owner}"),
        format!("--regid={gid}"),
        "--clear-groups".into(),
        "--no-new-privs".into(),
        "--".into(),
    ])
}

/// The group git runs with for an owner without a passwd entry.
const NOGROUP: u32 = 65534;

/// Options before the command: no pager, no locks, no fetching of missing objects (a partial
/// clone would fetch, and fetching runs `core.sshCommand`, `ext::` remotes, `uploadpack`),
/// no replacement objects, and file names taken literally, never as pathspec magic.
const GIT_OPTIONS: &[&str] = &[
    "--no-pager",
    "--no-optional-locks",
    "--no-lazy-fetch",
    "--no-replace-objects",
    "--literal-pathspecs",
];

/// Settings given on the command line win over the repository's: every setting that runs a
/// program or reaches the network is turned off, each protocol by name too (a repository's
/// `protocol.ssh.allow = always` beats a general `protocol.allow`).
const GIT_CONFIG: &[&str] = &[
    "protocol.allow=never",
    "protocol.file.allow=never",
    "protocol.git.allow=never",
    "protocol.ssh.allow=never",
    "protocol.http.allow=never",
    "protocol.https.allow=never",
    "protocol.ftp.allow=never",
    "protocol.ftps.allow=never",
    "protocol.ext.allow=never",
    "core.sshCommand=false",
    "core.askPass=false",
    "credential.helper=",
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.pager=cat",
    "log.showSignature=false",
    "log.follow=false",
    "gpg.program=false",
    "gpg.ssh.program=false",
    "gpg.x509.program=false",
    "gc.auto=0",
    "maintenance.auto=false",
];

/// The whole environment git runs with (nothing inherited): no system or global
/// configuration, no prompt, no helper program, no fetch, no protocol at all
/// (`GIT_ALLOW_PROTOCOL` empty overrides every `protocol.*.allow`).
fn git_env() -> BTreeMap<String, String> {
    [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("HOME", "/nonexistent"),
        ("XDG_CONFIG_HOME", "/nonexistent"),
        ("LC_ALL", "C"),
        ("GIT_CONFIG_NOSYSTEM", "1"),
        ("GIT_CONFIG_GLOBAL", "/dev/null"),
        ("GIT_ATTR_NOSYSTEM", "1"),
        ("GIT_NO_LAZY_FETCH", "1"),
        ("GIT_ALLOW_PROTOCOL", ""),
        ("GIT_PROTOCOL_FROM_USER", "0"),
        ("GIT_TERMINAL_PROMPT", "0"),
        ("GIT_ASKPASS", "/bin/false"),
        ("SSH_ASKPASS", "/bin/false"),
        ("GIT_SSH_COMMAND", "false"),
        ("GIT_SSH", "/bin/false"),
        ("GIT_PAGER", "cat"),
        ("GIT_OPTIONAL_LOCKS", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let ok = std::process::Command::new("git")
            .args(["-c", "user.email=t@t", "-c", "user.name=tester"])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn names_the_last_commit_that_changed_a_file() {
        if crate::sys::child::which("git").is_none() {
            eprintln!("git is not installed: nothing to test");
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let app = t.path();
        std::fs::write(app.join("a.php"), "1").unwrap();
        git(app, &["init", "-q"]);
        git(app, &["add", "a.php"]);
        git(app, &["commit", "-qm", "first"]);
        std::fs::write(app.join("a.php"), "2").unwrap();
        git(app, &["commit", "-qam", "theme: the product of the day"]);
        let me = nix::unistd::geteuid().as_raw();
        let tree = WorkTree {
            top: app.to_path_buf(),
            owner: me,
        };
        let line = tree
            .last_commit(&app.join("a.php"), std::time::Duration::from_secs(5))
            .expect("a commit");
        assert!(
            line.contains(" tester ") && line.ends_with(": theme: the product of the day"),
            "{line}"
        );
        // A configuration others can change is not run at all.
        let config = app.join(".git/config");
        let mode = std::fs::metadata(&config).unwrap().mode();
        std::fs::set_permissions(
            &config,
            std::os::unix::fs::PermissionsExt::from_mode(mode | 0o002),
        )
        .unwrap();
        assert_eq!(
            tree.last_commit(&app.join("a.php"), std::time::Duration::from_secs(5)),
            None
        );
    }

    #[test]
    fn git_runs_only_where_its_owner_alone_can_change_the_tree() {
        use std::os::unix::fs::PermissionsExt;
        let chmod = |p: &Path, mode: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        let t = tempfile::tempdir().unwrap();
        let top = t.path().join("app");
        std::fs::create_dir_all(top.join(".git")).unwrap();
        std::fs::write(top.join(".git/config"), "").unwrap();
        chmod(&top, 0o755);
        chmod(&top.join(".git"), 0o755);
        chmod(&top.join(".git/config"), 0o644);
        let runner = Runner::for_tree(&top).expect("a tree only its owner can change");
        assert!(runner.prefix.is_empty(), "run as its owner: me");
        let argv = runner.argv("public/a b.php").unwrap();
        assert_eq!(argv.last().map(String::as_str), Some("public/a b.php"));
        assert!(argv.contains(&"--no-lazy-fetch".to_string()), "{argv:?}");
        // A linked work tree's `commondir` leads to another repository's configuration.
        std::fs::write(top.join(".git/commondir"), "/elsewhere\n").unwrap();
        assert!(Runner::for_tree(&top).is_none());
        std::fs::remove_file(top.join(".git/commondir")).unwrap();
        // A `.git` that is a symlink, or a `gitdir:` file, points where nobody checked.
        let real = t.path().join("real.git");
        std::fs::rename(top.join(".git"), &real).unwrap();
        std::os::unix::fs::symlink(&real, top.join(".git")).unwrap();
        assert!(Runner::for_tree(&top).is_none());
        std::fs::remove_file(top.join(".git")).unwrap();
        std::fs::write(top.join(".git"), "gitdir: ../real.git\n").unwrap();
        assert!(Runner::for_tree(&top).is_none());
        std::fs::remove_file(top.join(".git")).unwrap();
        std::fs::rename(&real, top.join(".git")).unwrap();
        // Writable by the group: the top, `.git`, its config, or a directory above.
        for p in [top.clone(), top.join(".git"), t.path().to_path_buf()] {
            chmod(&p, 0o775);
            assert!(Runner::for_tree(&top).is_none(), "{}", p.display());
            chmod(&p, 0o755);
        }
        chmod(&top.join(".git/config"), 0o664);
        assert!(Runner::for_tree(&top).is_none());
        chmod(&top.join(".git/config"), 0o644);
        assert!(Runner::for_tree(&top).is_some());
    }

    #[test]
    fn finds_the_checkout_above_the_web_root_and_no_further() {
        let t = tempfile::tempdir().unwrap();
        let app = t.path().join("app");
        std::fs::create_dir_all(app.join(".git")).unwrap();
        std::fs::create_dir_all(app.join("public/css")).unwrap();
        let mut f = Finder::new(&app.join("public"));
        let tree = f.find(&app.join("public/css/site.css")).unwrap();
        assert_eq!(tree.top, app);
        assert_eq!(f.find(&app.join("public/index.php")), Some(tree));
        // A repository above the root's parent is not this site's.
        let mut f = Finder::new(&app.join("public/css"));
        assert_eq!(f.find(&app.join("public/css/site.css")), None);
        // A linked work tree has a `.git` file.
        let linked = t.path().join("linked");
        std::fs::create_dir_all(&linked).unwrap();
        std::fs::write(linked.join(".git"), "gitdir: /elsewhere\n").unwrap();
        let mut f = Finder::new(&linked);
        assert_eq!(f.find(&linked.join("a.php")).unwrap().top, linked);
    }

    #[test]
    fn the_fix_names_the_file_relative_to_the_checkout_and_runs_as_its_owner() {
        let me = nix::unistd::geteuid().as_raw();
        let tree = WorkTree {
            top: "/srv/my app".into(),
            owner: me,
        };
        assert_eq!(
            tree.fix(Path::new("/srv/my app/public/index.php")).unwrap(),
            "git -C '/srv/my app' log -1 --format='%h %an %ar %s' -- public/index.php    # the last commit that changed it\n\
             git -C '/srv/my app' checkout HEAD~1 -- public/index.php    # to take it back to the commit before"
        );
        let other = WorkTree {
            top: "/srv/app".into(),
            owner: 4_000_123,
        };
        assert!(
            other
                .fix(Path::new("/srv/app/a.php"))
                .unwrap()
                .starts_with("sudo -u '#4000123' git -C /srv/app log -1")
        );
        assert_eq!(tree.fix(Path::new("/elsewhere/a.php")), None);
    }
}
