//! Automatic fixes: mode changes only, inside a check's root, never through a symlink.
//! A fix is applied through the directory handle the walk opened (every directory on the way
//! opened with `O_NOFOLLOW` from the root), to the very inode that was examined.

use std::ffi::OsStr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use crate::checks::shell_quote_path;
use crate::walk::Meta;

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
    pub reason: &'a str,
}

impl ModeFix<'_> {
    /// The command a person would type: `chmod 644 '/var/www/index.php'`.
    pub fn command(&self) -> String {
        format!("chmod {:o} {}", self.to, shell_quote_path(self.path))
    }

    /// Apply it, or say why not. Re-checks that the entry is the same inode with the same
    /// mode, that it is not a symlink, and that the new mode only tightens or only adds bits
    /// the policy allows.
    pub fn apply(&self) -> Result<(), String> {
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
            size: 0,
            mtime: 0,
        };
        (fd, meta)
    }

    fn fix<'a>(fd: &'a OwnedFd, name: &'a str, meta: Meta, to: u32) -> ModeFix<'a> {
        ModeFix {
            at: fd,
            name: OsStr::new(name),
            path: Path::new(name),
            meta,
            to,
            ceiling: 0o644,
            reason: "test",
        }
    }

    #[test]
    fn applies_to_the_examined_file() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("a");
        std::fs::write(&f, "").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        let (fd, meta) = examine(t.path(), "a");
        fix(&fd, "a", meta, 0o644).apply().unwrap();
        assert_eq!(mode(&f), 0o644);
        // Applying the same fix again: the mode is no longer what was examined.
        assert!(
            fix(&fd, "a", meta, 0o644)
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
        std::fs::remove_file(&f).unwrap();
        std::os::unix::fs::symlink(&victim, &f).unwrap();
        let err = fix(&fd, "a", meta, 0o644).apply().unwrap_err();
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
        std::fs::rename(&sub, t.path().join("sub-old")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &sub).unwrap();
        fix(&fd, "a", meta, 0o644).apply().unwrap();
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
        assert!(
            fix(&fd, "a", meta, 0o666)
                .apply()
                .unwrap_err()
                .contains("looser")
        );
        assert_eq!(mode(&f), 0o600);
    }
}
