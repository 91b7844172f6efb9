//! Automatic fixes: mode changes only, inside a check's root, never through a symlink.
//! A fix is applied through the directory handle the walk opened (every directory on the way
//! opened with `O_NOFOLLOW` from the root), to the very inode that was examined — never to a
//! file with several hard links (its other names may lie anywhere), never below a root that
//! another user could have pointed elsewhere or that is a system directory.

use std::ffi::OsStr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use crate::sanitize;
use crate::shell::shell_quote_path;
use crate::sys::users;
use crate::walk::{Distrust, Meta, Root};

/// One mode change a check calls for.
#[derive(Debug, Clone, Copy)]
pub struct ModeFix<'a> {
    /// The directory holding the entry, opened without following symlinks from the root.
    pub at: &'a OwnedFd,
    /// The entry's name in `at` (`.` for the root itself).
    pub name: &'a OsStr,
    /// For messages only.
    pub path: &'a Path,
    /// What the entry was when examined: a fix applies only to that same inode and mode.
    pub meta: Meta,
    /// The new permission bits.
    pub to: u32,
    /// The loosest mode the check's policy allows for this entry: a fix may remove any
    /// bits, but add only bits within this.
    pub ceiling: u32,
    /// Why, in a few words ("world-writable file").
    pub reason: &'static str,
    /// The check's root the entry was reached from.
    pub root: &'a Root,
}

/// The command that gives `path` the mode `mode`, quoted for a shell:
/// `chmod 644 '/var/www/index.php'`. Every mode fix a person reads is worded here.
pub fn chmod_command(mode: u32, path: &Path) -> String {
    format!("chmod {mode:o} {}", shell_quote_path(path))
}

impl ModeFix<'_> {
    /// The command a person would type: `chmod 644 '/var/www/index.php'`.
    pub fn command(&self) -> String {
        chmod_command(self.to, self.path)
    }

    /// Why this change is left to a person, though it is only a mode: see [`by_hand`].
    pub fn by_hand(&self) -> Option<String> {
        by_hand(self.path, &self.meta)
    }

    /// Why `fix --apply` must change nothing below this fix's root, if so.
    pub fn refusal(&self) -> Option<String> {
        refusal(self.root)
    }

    /// Apply it, or say why not. Re-checks that the entry is the same inode with the same
    /// mode and one name, that it is not a symlink, and that the new mode only tightens or
    /// only adds bits the policy allows.
    pub fn apply(&self) -> Result<(), String> {
        if let Some(why) = self.refusal() {
            return Err(format!("refused: {why}"));
        }
        if let Some(why) = self.by_hand() {
            return Err(format!("left to you: {why}"));
        }
        let (from, ceiling) = (self.meta.perm(), self.ceiling);
        if self.to & !(from | ceiling) != 0 {
            return Err(format!(
                "refused: {:o} would be looser than the policy {:o}",
                self.to, ceiling
            ));
        }
        let fd = rustix::fs::openat(
            self.at,
            self.name,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| format!("cannot open it: {}", errno_text(e)))?;
        let st =
            rustix::fs::fstat(&fd).map_err(|e| format!("cannot examine it: {}", errno_text(e)))?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
            return Err("skipped: it is now a symlink".into());
        }
        if st.st_dev != self.meta.dev || st.st_ino != self.meta.ino {
            return Err("skipped: it was replaced since it was examined".into());
        }
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory && st.st_nlink > 1 {
            return Err(format!(
                "skipped: it has {} hard links since it was examined",
                st.st_nlink
            ));
        }
        if st.st_mode & 0o7777 != from {
            return Err(format!(
                "skipped: its mode changed to {:o} since it was examined",
                st.st_mode & 0o7777
            ));
        }
        // An O_PATH descriptor cannot be fchmod()ed; its /proc link names exactly this inode.
        let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
        rustix::fs::chmodat(
            rustix::fs::CWD,
            link.as_str(),
            Mode::from_raw_mode(self.to),
            AtFlags::empty(),
        )
        .map_err(|e| format!("chmod failed: {}", errno_text(e)))
    }
}

/// A file with several hard links shares its mode with every other name, which may lie
/// outside the root (a link to a root-only file): its mode is changed only by a person.
pub fn by_hand(path: &Path, meta: &Meta) -> Option<String> {
    (!meta.is_dir() && meta.nlink > 1).then(|| {
        format!(
            "it has {} hard links, and a mode belongs to all of them; see where the others are \
             with `find / -xdev -samefile {}` before changing it",
            meta.nlink,
            shell_quote_path(path)
        )
    })
}

/// Why `fix --apply` must change nothing below `root`: a sentence naming the path, who
/// could have redirected it and what to do.
pub fn refusal(root: &Root) -> Option<String> {
    let shown = sanitize::path(&root.path);
    let point =
        format!("point the check's path at {shown} itself once you have made sure it is the site");
    Some(match root.untrusted.as_ref()? {
        Distrust::LinkOwner { link, owner } => format!(
            "{shown} is reached through the symlink {}, owned by {}, who could point it \
             anywhere (at /etc, say): {point}, or make the link root's with `chown -h root {}`",
            sanitize::path(link),
            users::user_name(*owner),
            shell_quote_path(link)
        ),
        Distrust::LinkDir { link, dir, why } => format!(
            "{shown} is reached through the symlink {}, and {} is {why}, who could replace \
             the link: {point}, or keep the link in a directory only root can change",
            sanitize::path(link),
            sanitize::path(dir),
        ),
        Distrust::SystemDir if root.path == root.configured => format!(
            "{shown} is a system directory: `fix --apply` changes modes only in a site's own \
             directories; change these by hand"
        ),
        Distrust::SystemDir => format!(
            "{shown} (where {} leads) is a system directory: `fix --apply` changes modes only \
             in a site's own directories; change these by hand",
            sanitize::path(&root.configured)
        ),
    })
}

fn errno_text(e: rustix::io::Errno) -> String {
    crate::sys::io_reason(&std::io::Error::from(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    /// Examine `dir/name` the way the walk does: a handle on the directory, fstatat.
    fn examine(dir: &Path, name: &str) -> (OwnedFd, Meta) {
        let fd =
            rustix::fs::open(dir, OFlags::DIRECTORY | OFlags::NOFOLLOW, Mode::empty()).unwrap();
        let st = rustix::fs::statat(&fd, name, AtFlags::SYMLINK_NOFOLLOW).unwrap();
        let meta = Meta {
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            dev: st.st_dev,
            ino: st.st_ino,
            #[allow(clippy::unnecessary_cast)] // u32 on some targets
            nlink: st.st_nlink as u64,
            ..Meta::default()
        };
        (fd, meta)
    }

    fn fix<'a>(root: &'a Root, fd: &'a OwnedFd, name: &'a str, meta: Meta, to: u32) -> ModeFix<'a> {
        ModeFix {
            at: fd,
            name: OsStr::new(name),
            path: Path::new(name),
            meta,
            to,
            ceiling: 0o644,
            reason: "test",
            root,
        }
    }

    fn root(p: &Path) -> Root {
        Root::open(p).unwrap()
    }

    #[test]
    fn applies_to_the_examined_file() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("a");
        std::fs::write(&f, "").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        let (fd, meta) = examine(t.path(), "a");
        let r = root(t.path());
        fix(&r, &fd, "a", meta, 0o644).apply().unwrap();
        assert_eq!(mode(&f), 0o644);
        // Applying the same fix again: the mode is no longer what was examined.
        assert!(
            fix(&r, &fd, "a", meta, 0o644)
                .apply()
                .unwrap_err()
                .contains("mode changed")
        );
    }

    #[test]
    fn a_file_swapped_for_a_symlink_is_left_alone() {
        let t = tempfile::tempdir().unwrap();
        let victim = t.path().join("victim");
        std::fs::write(&victim, "").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
        let f = t.path().join("a");
        std::fs::write(&f, "").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        let (fd, meta) = examine(t.path(), "a");
        let r = root(t.path());
        std::fs::remove_file(&f).unwrap();
        std::os::unix::fs::symlink(&victim, &f).unwrap();
        let err = fix(&r, &fd, "a", meta, 0o644).apply().unwrap_err();
        assert!(err.contains("symlink"), "{err}");
        assert_eq!(mode(&victim), 0o600);
    }

    #[test]
    fn a_directory_swapped_for_a_symlink_on_the_way_cannot_redirect() {
        let t = tempfile::tempdir().unwrap();
        let sub = t.path().join("sub");
        let elsewhere = t.path().join("elsewhere");
        std::fs::create_dir(&sub).unwrap();
        std::fs::create_dir(&elsewhere).unwrap();
        for d in [&sub, &elsewhere] {
            std::fs::write(d.join("a"), "").unwrap();
            std::fs::set_permissions(d.join("a"), std::fs::Permissions::from_mode(0o666)).unwrap();
        }
        let (fd, meta) = examine(&sub, "a");
        let r = root(t.path());
        std::fs::rename(&sub, t.path().join("sub-old")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &sub).unwrap();
        fix(&r, &fd, "a", meta, 0o644).apply().unwrap();
        assert_eq!(
            mode(&elsewhere.join("a")),
            0o666,
            "the symlinked directory is untouched"
        );
        assert_eq!(
            mode(&t.path().join("sub-old/a")),
            0o644,
            "the examined file was fixed"
        );
    }

    #[test]
    fn never_looser_than_the_policy() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("a");
        std::fs::write(&f, "").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (fd, meta) = examine(t.path(), "a");
        let r = root(t.path());
        assert!(
            fix(&r, &fd, "a", meta, 0o666)
                .apply()
                .unwrap_err()
                .contains("looser")
        );
        assert_eq!(mode(&f), 0o600);
    }

    #[test]
    fn a_file_with_several_hard_links_is_left_alone() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("a");
        std::fs::write(&f, "").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        let (fd, meta) = examine(t.path(), "a");
        let r = root(t.path());
        // Linked after it was examined: apply sees it.
        std::fs::hard_link(&f, t.path().join("b")).unwrap();
        let err = fix(&r, &fd, "a", meta, 0o644).apply().unwrap_err();
        assert!(err.contains("2 hard links"), "{err}");
        // Linked before: known from the start.
        let (fd, meta) = examine(t.path(), "a");
        assert!(fix(&r, &fd, "a", meta, 0o644).by_hand().is_some());
        let err = fix(&r, &fd, "a", meta, 0o644).apply().unwrap_err();
        assert!(err.starts_with("left to you: it has 2 hard links"), "{err}");
        assert_eq!(mode(&f), 0o666);
    }

    #[test]
    fn nothing_below_an_untrusted_root() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("a");
        std::fs::write(&f, "").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        let (fd, meta) = examine(t.path(), "a");
        let mut r = root(t.path());
        r.untrusted = Some(Distrust::SystemDir);
        let err = fix(&r, &fd, "a", meta, 0o644).apply().unwrap_err();
        assert!(err.contains("is a system directory"), "{err}");
        assert_eq!(mode(&f), 0o666);
    }
}
