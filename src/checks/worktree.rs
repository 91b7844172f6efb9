//! The git work tree a changed file belongs to, found by looking for `.git`, and the last
//! commit that touched a file. sitedoctor runs as root, the tree may be writable by another
//! user, and a repository's own configuration can make `git` run programs: `git` runs only
//! as the repository's owner (never as root for a repository root does not own, and not at
//! all when its configuration could be changed by anyone else), with every setting that
//! runs a program turned off, bounded in time, for a handful of files a run.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

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
    pub fn last_commit(&self, file: &Path, timeout: std::time::Duration) -> Option<String> {
        let rel = file.strip_prefix(&self.top).ok()?;
        let me = nix::unistd::geteuid().as_raw();
        let git_dir = self.top.join(".git");
        // Its configuration must be the owner's alone, or the owner's settings are not what
        // runs.
        for p in [git_dir.clone(), git_dir.join("config")] {
            let m = std::fs::symlink_metadata(&p).ok()?;
            if m.uid() != self.owner || m.mode() & 0o022 != 0 || m.file_type().is_symlink() {
                return None;
            }
        }
        let mut argv: Vec<String> = Vec::new();
        if self.owner != me {
            if me != 0 {
                return None; // git refuses another user's repository, rightly
            }
            let gid = std::fs::metadata(&git_dir).ok()?.gid();
            argv.extend([
                "setpriv".into(),
                format!("--reuid={}", self.owner),
                format!("--regid={gid}"),
                "--clear-groups".into(),
                "--".into(),
            ]);
        }
        argv.extend(
            [
                "git",
                "--no-pager",
                "--no-optional-locks",
                "-c",
                "core.fsmonitor=false",
                "-c",
                "core.hooksPath=/dev/null",
                "-c",
                "log.showSignature=false",
                "-c",
                "gpg.program=false",
                "-c",
                "safe.directory=*",
            ]
            .map(String::from),
        );
        argv.push(format!("--git-dir={}", git_dir.display()));
        argv.push(format!("--work-tree={}", self.top.display()));
        argv.extend(["log", "-1", "--format=%h %an %ar: %s", "--"].map(String::from));
        argv.push(rel.to_str()?.to_string());
        let env: std::collections::BTreeMap<String, String> = [
            ("GIT_CONFIG_NOSYSTEM", "1"),
            ("GIT_CONFIG_GLOBAL", "/dev/null"),
            ("GIT_TERMINAL_PROMPT", "0"),
            ("HOME", "/nonexistent"),
            ("LC_ALL", "C"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let done = crate::sys::child::run(&crate::sys::child::Spec {
            argv: &argv,
            env: &env,
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
