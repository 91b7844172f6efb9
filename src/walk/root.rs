//! Where a walk starts: the configured path resolved once, component by component with
//! `O_PATH | O_NOFOLLOW` handles (as OpenSSH's `secure_path` and sudo judge a path), so the
//! walk gets the very directory that was judged, and `fix --apply` knows whether someone
//! other than root could have chosen where that path leads.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use super::{Meta, WalkError};
use crate::sys::users;

/// The kernel's own limit on symlinks followed while resolving one path.
const MAX_SYMLINKS: usize = 40;

/// Directories `fix --apply` never changes modes in as a whole: the system's own.
const SYSTEM_DIRS: &[&str] = &[
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/efi",
    "/etc",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/lost+found",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/snap",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/include",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/local",
    "/usr/local/bin",
    "/usr/local/etc",
    "/usr/local/lib",
    "/usr/local/sbin",
    "/usr/sbin",
    "/usr/share",
    "/usr/src",
    "/var",
    "/var/backups",
    "/var/cache",
    "/var/lib",
    "/var/local",
    "/var/lock",
    "/var/log",
    "/var/mail",
    "/var/opt",
    "/var/run",
    "/var/spool",
    "/var/tmp",
];

/// Trees that are the kernel's, the system's or root's all the way down: nothing below them
/// is a site's own directory (a site lives in /var/www, /srv, /usr/share/nginx/html, /home/USER
/// or /opt, which are refused only as a whole).
const SYSTEM_TREES: &[&str] = &[
    "/bin",
    "/boot",
    "/dev",
    "/efi",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/snap",
    "/sys",
    "/usr/bin",
    "/usr/include",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/local/bin",
    "/usr/local/etc",
    "/usr/local/lib",
    "/usr/local/sbin",
    "/usr/sbin",
    "/var/backups",
    "/var/cache",
    "/var/lib",
    "/var/log",
    "/var/mail",
    "/var/spool",
];

/// A check's root, resolved and open.
#[derive(Debug)]
pub struct Root {
    /// Opened for reading (`O_NONBLOCK`, so a FIFO cannot stall it): what the walk reads.
    pub fd: OwnedFd,
    /// The path as configured.
    pub configured: PathBuf,
    /// The absolute path without symlinks that `fd` was reached by.
    pub path: PathBuf,
    pub meta: Meta,
    /// Why `fix --apply` must change nothing below it, when it must not.
    pub untrusted: Option<Distrust>,
}

/// Why a root is not ours to change in bulk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Distrust {
    /// A symlink on the way belongs to another user, who could point it anywhere.
    LinkOwner { link: PathBuf, owner: u32 },
    /// A symlink on the way sits below a directory another user can change (`why`: "owned
    /// by deploy", "writable by everyone"), so they could replace it.
    LinkDir {
        link: PathBuf,
        dir: PathBuf,
        why: String,
    },
    /// The root is one of the system's own directories (`/etc`, `/usr`, `/var/lib`…).
    SystemDir,
}

/// One directory of the resolved path so far.
struct Step {
    fd: OwnedFd,
    name: OsString,
    /// The first directory from `/` down to this one that a user other than root (or us)
    /// could change, and why.
    unsafe_dir: Option<(PathBuf, String)>,
}

impl Root {
    /// Resolve `configured` (relative paths against the working directory) without ever
    /// following a symlink blindly: each one is read, judged and its target resolved the
    /// same way. A symlink at the end is followed too (the user named it).
    pub fn open(configured: &Path) -> Result<Root, WalkError> {
        let fail = |errno| WalkError {
            path: configured.to_path_buf(),
            errno,
        };
        let absolute = if configured.is_absolute() {
            configured.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| fail(Errno::from_io_error(&e).unwrap_or(Errno::NOENT)))?
                .join(configured)
        };
        let mut r = Resolver::start().map_err(fail)?;
        r.push_front(&absolute);
        r.run().map_err(fail)?;
        r.finish(configured).map_err(fail)
    }
}

struct Resolver {
    stack: Vec<Step>,
    pending: VecDeque<OsString>,
    symlinks: usize,
    untrusted: Option<Distrust>,
    euid: u32,
}

impl Resolver {
    fn start() -> Result<Resolver, Errno> {
        let euid = rustix::process::geteuid().as_raw();
        let fd = rustix::fs::open("/", path_flags() | OFlags::DIRECTORY, Mode::empty())?;
        let st = rustix::fs::fstat(&fd)?;
        let unsafe_dir = dir_trouble(&st, euid).map(|why| (PathBuf::from("/"), why));
        Ok(Resolver {
            stack: vec![Step {
                fd,
                name: OsString::new(),
                unsafe_dir,
            }],
            pending: VecDeque::new(),
            symlinks: 0,
            untrusted: None,
            euid,
        })
    }

    /// Queue the components of `path` before what is left to resolve.
    fn push_front(&mut self, path: &Path) {
        if path.is_absolute() {
            self.stack.truncate(1);
        }
        for c in path.components().rev() {
            match c {
                Component::Normal(n) => self.pending.push_front(n.to_os_string()),
                Component::ParentDir => self.pending.push_front(OsString::from("..")),
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            }
        }
    }

    fn current(&self) -> PathBuf {
        let mut p = PathBuf::from("/");
        for s in &self.stack[1..] {
            p.push(&s.name);
        }
        p
    }

    fn run(&mut self) -> Result<(), Errno> {
        while let Some(name) = self.pending.pop_front() {
            if name == ".." {
                if self.stack.len() > 1 {
                    self.stack.pop();
                }
                continue;
            }
            let top = self.stack.last().expect("the stack holds / at least");
            let fd = rustix::fs::openat(&top.fd, name.as_os_str(), path_flags(), Mode::empty())?;
            let st = rustix::fs::fstat(&fd)?;
            match FileType::from_raw_mode(st.st_mode) {
                FileType::Symlink => self.follow(&name, &st)?,
                FileType::Directory => {
                    let here = self.current().join(&name);
                    let unsafe_dir = top
                        .unsafe_dir
                        .clone()
                        .or_else(|| dir_trouble(&st, self.euid).map(|why| (here, why)));
                    self.stack.push(Step {
                        fd,
                        name,
                        unsafe_dir,
                    });
                }
                _ if self.pending.is_empty() => self.stack.push(Step {
                    fd,
                    name,
                    unsafe_dir: None,
                }),
                _ => return Err(Errno::NOTDIR),
            }
        }
        Ok(())
    }

    /// A symlink on the way: judge who could have chosen its target, then resolve that.
    fn follow(&mut self, name: &OsStr, st: &Stat) -> Result<(), Errno> {
        self.symlinks += 1;
        if self.symlinks > MAX_SYMLINKS {
            return Err(Errno::LOOP);
        }
        let top = self.stack.last().expect("the stack holds / at least");
        let target = rustix::fs::readlinkat(&top.fd, name, Vec::new())?;
        let link = self.current().join(name);
        if self.untrusted.is_none() {
            self.untrusted = link_trouble(link, st, top.unsafe_dir.as_ref(), self.euid);
        }
        let target = PathBuf::from(OsStr::from_bytes(target.as_bytes()));
        self.push_front(&target);
        Ok(())
    }

    fn finish(mut self, configured: &Path) -> Result<Root, Errno> {
        let path = self.current();
        let last = self.stack.pop().expect("the stack holds / at least");
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = match self.stack.last() {
            Some(parent) => {
                rustix::fs::openat(&parent.fd, last.name.as_os_str(), flags, Mode::empty())?
            }
            None => rustix::fs::open("/", flags, Mode::empty())?,
        };
        let st = rustix::fs::fstat(&fd)?;
        let judged = rustix::fs::fstat(&last.fd)?;
        if (st.st_dev, st.st_ino) != (judged.st_dev, judged.st_ino) {
            return Err(Errno::AGAIN); // replaced while it was being opened
        }
        let untrusted = match self.untrusted {
            None if is_system_dir(&path) => Some(Distrust::SystemDir),
            u => u,
        };
        Ok(Root {
            fd,
            configured: configured.to_path_buf(),
            path,
            meta: Meta::from_stat(&st),
            untrusted,
        })
    }
}

fn path_flags() -> OFlags {
    OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

/// Whether someone other than root or us could change what a directory holds.
fn dir_trouble(st: &Stat, euid: u32) -> Option<String> {
    let mode = st.st_mode & 0o7777;
    if st.st_uid != 0 && st.st_uid != euid {
        return Some(format!("owned by {}", users::user_name(st.st_uid)));
    }
    // A sticky directory (/tmp) lets others remove only what they own.
    if mode & 0o1000 != 0 {
        return None;
    }
    if mode & 0o002 != 0 {
        return Some("writable by everyone".into());
    }
    if mode & 0o020 != 0 {
        return Some(format!(
            "writable by the group {}",
            users::group_name(st.st_gid)
        ));
    }
    None
}

/// Why a symlink on the way could point anywhere its owner (or its directory's) likes.
fn link_trouble(
    link: PathBuf,
    st: &Stat,
    unsafe_dir: Option<&(PathBuf, String)>,
    euid: u32,
) -> Option<Distrust> {
    if st.st_uid != 0 && st.st_uid != euid {
        return Some(Distrust::LinkOwner {
            link,
            owner: st.st_uid,
        });
    }
    let (dir, why) = unsafe_dir?;
    Some(Distrust::LinkDir {
        link,
        dir: dir.clone(),
        why: why.clone(),
    })
}

fn is_system_dir(path: &Path) -> bool {
    SYSTEM_DIRS.iter().any(|d| path == Path::new(d))
        || SYSTEM_TREES.iter().any(|d| path.starts_with(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn resolves_relative_links_and_dotdot_once() {
        let t = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(t.path()).unwrap();
        chmod(&base, 0o755);
        std::fs::create_dir_all(base.join("releases/5/public")).unwrap();
        symlink("releases/5", base.join("current")).unwrap();
        let r = Root::open(&base.join("current/public/../public")).unwrap();
        assert_eq!(r.path, base.join("releases/5/public"));
        assert!(r.meta.is_dir());
        assert_eq!(r.untrusted, None, "root's own link in root's own directory");
    }

    #[test]
    fn a_link_owned_by_another_user_is_untrusted() {
        let t = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(t.path()).unwrap();
        chmod(&base, 0o755);
        std::fs::create_dir(base.join("site")).unwrap();
        symlink("site", base.join("current")).unwrap();
        std::os::unix::fs::lchown(base.join("current"), Some(65534), Some(65534)).unwrap();
        let r = Root::open(&base.join("current")).unwrap();
        assert_eq!(r.path, base.join("site"));
        assert_eq!(
            r.untrusted,
            Some(Distrust::LinkOwner {
                link: base.join("current"),
                owner: 65534
            })
        );
    }

    #[test]
    fn a_link_in_a_directory_another_user_can_write_is_untrusted() {
        let t = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(t.path()).unwrap();
        chmod(&base, 0o755);
        std::fs::create_dir_all(base.join("theirs")).unwrap();
        std::fs::create_dir_all(base.join("site")).unwrap();
        symlink(base.join("site"), base.join("theirs/link")).unwrap();
        std::os::unix::fs::chown(base.join("theirs"), Some(65534), None).unwrap();
        let r = Root::open(&base.join("theirs/link")).unwrap();
        assert_eq!(r.path, base.join("site"));
        assert_eq!(
            r.untrusted,
            Some(Distrust::LinkDir {
                link: base.join("theirs/link"),
                dir: base.join("theirs"),
                why: "owned by nobody".into()
            })
        );
        // A directory owned by someone else but without a symlink in it is fine: the walk
        // holds the handle it judged.
        let r = Root::open(&base.join("theirs")).unwrap();
        assert_eq!(r.untrusted, None);
    }

    #[test]
    fn system_directories_are_untrusted() {
        for p in ["/", "/etc", "/usr", "/var/lib", "/etc/ssl", "/proc/self"] {
            let r = Root::open(Path::new(p)).unwrap();
            assert_eq!(r.untrusted, Some(Distrust::SystemDir), "{p}");
        }
    }

    #[test]
    fn below_roots_home_state_logs_and_programs_nothing_is_a_sites() {
        for p in [
            "/root/.ssh",
            "/root",
            "/var/lib/mysql",
            "/var/log/nginx",
            "/var/spool/cron/crontabs",
            "/var/cache/apt",
            "/var/backups/db",
            "/bin/x",
            "/sbin/x",
            "/lib/x86_64-linux-gnu",
            "/lib32/x",
            "/lib64/x",
            "/libx32/x",
            "/usr/bin/x",
            "/usr/sbin/x",
            "/usr/lib/php",
            "/usr/libexec/x",
            "/usr/include/x",
            "/usr/local/bin/x",
            "/usr/local/sbin/x",
            "/usr/local/lib/python3",
            "/snap/core/1",
            "/run/php",
            "/etc/nginx",
        ] {
            assert!(is_system_dir(Path::new(p)), "{p} must be refused");
        }
        // A system directory itself is refused, but sites live below these.
        for p in [
            "/",
            "/usr",
            "/usr/local",
            "/usr/share",
            "/var",
            "/home",
            "/srv",
            "/opt",
        ] {
            assert!(is_system_dir(Path::new(p)), "{p} itself must be refused");
        }
        for p in [
            "/usr/share/nginx/html",
            "/var/www",
            "/var/www/html",
            "/srv/app",
            "/home/deploy/public_html",
            "/opt/app/public",
            "/tmp/site",
            "/mnt/data/site",
            "/media/site",
            "/usr/local/share/site",
            "/var/library",
            "/rootfs/site",
        ] {
            assert!(!is_system_dir(Path::new(p)), "{p} must stay fixable");
        }
    }

    #[test]
    fn loops_and_missing_paths_are_errors() {
        let t = tempfile::tempdir().unwrap();
        symlink("b", t.path().join("a")).unwrap();
        symlink("a", t.path().join("b")).unwrap();
        assert_eq!(
            Root::open(&t.path().join("a")).unwrap_err().errno,
            Errno::LOOP
        );
        assert_eq!(
            Root::open(&t.path().join("nope/x")).unwrap_err().errno,
            Errno::NOENT
        );
    }
}
