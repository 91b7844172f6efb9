//! Writing the report (`--output`, `init`): a regular file is replaced atomically, keeping its
//! permissions (and, as root, its owner); a FIFO, a character device or an inherited descriptor
//! (`/dev/stdout`, `/dev/fd/N`) is written as it is; anything else — a directory, a block
//! device, a socket — is refused, never replaced. A symlink owned by another user than root
//! or us is never followed, wherever it is on the way.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use crate::sanitize;
use crate::sys::io_reason;

/// Symlinks followed before giving up, as the kernel's `MAXSYMLINKS`.
const MAX_SYMLINKS: usize = 40;

/// The mode of a new report: node_exporter, running as its own user, must read it.
const NEW_MODE: u32 = 0o644;

/// Why the report could not be written: "cannot write PATH: why".
#[derive(Debug, thiserror::Error)]
#[error("cannot write {shown}: {why}")]
pub struct WriteError {
    shown: String,
    why: String,
}

impl WriteError {
    fn new(path: &Path, why: impl Into<String>) -> WriteError {
        WriteError {
            shown: sanitize::path(path),
            why: why.into(),
        }
    }
}

/// Write `bytes` to standard output; a closed pipe (`sitedoctor | head`) ends quietly.
pub fn to_stdout(bytes: &[u8]) -> Result<(), WriteError> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|_| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(WriteError {
            shown: "the report to standard output".into(),
            why: reason(&e),
        }),
        _ => Ok(()),
    }
}

/// Write `bytes` to `path`, by what `path` is (see the module documentation).
pub fn to_path(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let fail = |why: String| WriteError::new(path, why);
    if let Some(n) = inherited_fd(path) {
        return write_inherited(n, bytes).map_err(fail);
    }
    refuse_foreign_symlinks(path).map_err(fail)?;
    let meta = match std::fs::metadata(path) {
        Ok(m) => Some(m),
        // Nothing there yet, or a symlink to nothing: a new file replaces it.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(fail(reason(&e))),
    };
    let Some(meta) = meta else {
        return write_atomic(path, bytes);
    };
    let ft = meta.file_type();
    if ft.is_file() {
        write_atomic(path, bytes)
    } else if ft.is_fifo() || ft.is_char_device() {
        write_stream(path, &meta, bytes).map_err(fail)
    } else if ft.is_dir() {
        Err(fail(
            "it is a directory: give a file name inside it, like DIR/report.txt".into(),
        ))
    } else if ft.is_block_device() {
        Err(fail(
            "it is a block device (a disk): refusing to write a report over it".into(),
        ))
    } else {
        Err(fail(
            "it is a socket: the report goes to a file, a FIFO or a character device".into(),
        ))
    }
}

/// `/dev/stdout`, `/dev/stderr`, `/dev/fd/N`, `/proc/self/fd/N`: the descriptor number.
fn inherited_fd(path: &Path) -> Option<i32> {
    let b = path.as_os_str().as_bytes();
    match b {
        b"/dev/stdin" => return Some(0),
        b"/dev/stdout" => return Some(1),
        b"/dev/stderr" => return Some(2),
        _ => {}
    }
    let n = b
        .strip_prefix(b"/dev/fd/")
        .or_else(|| b.strip_prefix(b"/proc/self/fd/"))?;
    if n.is_empty() || n.len() > 9 || !n.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(n).ok()?.parse().ok()
}

/// Write to the descriptor this process inherited as `n`, as a shell's `>&N` would: a dup of
/// it, not a fresh open of `/proc/self/fd/N` (which fails on a socket, as under systemd).
fn write_inherited(n: i32, bytes: &[u8]) -> Result<(), String> {
    let fd = dup_inherited(n).map_err(|e| {
        if e.raw_os_error() == Some(rustix::io::Errno::BADF.raw_os_error()) {
            format!("descriptor {n} is not open")
        } else {
            reason(&e)
        }
    })?;
    match write_all(&fd, bytes) {
        // Like stdout: a reader that went away ends the run quietly.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| reason(&e)),
    }
}

fn dup_inherited(n: i32) -> std::io::Result<OwnedFd> {
    let dup = |fd: std::os::fd::BorrowedFd<'_>| rustix::io::fcntl_dupfd_cloexec(fd, 3);
    let own = match n {
        0 => dup(std::io::stdin().as_fd()),
        1 => dup(std::io::stdout().as_fd()),
        2 => dup(std::io::stderr().as_fd()),
        _ => by_pidfd(n),
    };
    match own {
        Ok(fd) => Ok(fd),
        Err(e) if e == rustix::io::Errno::BADF => Err(e.into()),
        // Without pidfd_getfd (old kernel, seccomp): reopening works for all but sockets.
        Err(_) => rustix::fs::open(
            format!("/proc/self/fd/{n}"),
            OFlags::WRONLY | OFlags::NOCTTY | OFlags::CLOEXEC | OFlags::APPEND,
            Mode::empty(),
        )
        .map_err(Into::into),
    }
}

/// A copy of this process's descriptor `n`, taken through a pidfd (no `unsafe` needed).
fn by_pidfd(n: i32) -> rustix::io::Result<OwnedFd> {
    use std::os::fd::AsRawFd;
    let me = rustix::process::pidfd_open(
        rustix::process::getpid(),
        rustix::process::PidfdFlags::empty(),
    )?;
    // The pidfd took the lowest free number: if that is `n`, `n` was not open.
    if me.as_raw_fd() == n {
        return Err(rustix::io::Errno::BADF);
    }
    rustix::process::pidfd_getfd(me, n, rustix::process::PidfdGetfdFlags::empty())
}

/// Refuse a symlink anywhere on the way to `path` (the path itself, a directory above it, or
/// where a link leads) that belongs to someone other than root or us: its owner could point it
/// at a directory only root may write to, or at `/dev/port`. Stricter than the kernel's
/// `protected_symlinks`, which judges only links in sticky directories. Links root or we own
/// are followed, and what they lead to is judged in turn.
fn refuse_foreign_symlinks(path: &Path) -> Result<(), String> {
    let me = rustix::process::geteuid().as_raw();
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| format!("cannot tell the current directory ({})", reason(&e)))?
            .join(path)
    };
    let mut cur = PathBuf::from("/");
    let mut todo: VecDeque<OsString> = VecDeque::new();
    push_front(&mut todo, &abs);
    let mut links = 0;
    while let Some(name) = todo.pop_front() {
        if name == ".." {
            cur.pop(); // `cur` holds no symlink: its parent is the real one
            continue;
        }
        let next = cur.join(&name);
        let Ok(meta) = std::fs::symlink_metadata(&next) else {
            return Ok(()); // nothing there yet: nobody's link to follow
        };
        if !meta.file_type().is_symlink() {
            cur = next;
            continue;
        }
        if meta.uid() != 0 && meta.uid() != me {
            return Err(format!(
                "{} is a symlink owned by {} (uid {}), who could point it anywhere; sitedoctor \
                 does not follow another user's symlink. Give the path it leads to, or write \
                 the report somewhere only root or you can change",
                sanitize::path(&next),
                crate::sys::users::user_name(meta.uid()),
                meta.uid()
            ));
        }
        links += 1;
        match std::fs::read_link(&next) {
            // A loop, or gone: writing will fail and say so.
            Ok(target) if links <= MAX_SYMLINKS => {
                if target.is_absolute() {
                    cur = PathBuf::from("/");
                }
                push_front(&mut todo, &target);
            }
            _ => return Ok(()),
        }
    }
    Ok(())
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

/// Open a FIFO or a character device found at `path` and write to it as it is. The open does
/// not wait for a FIFO's reader, and the opened file must be the one examined.
fn write_stream(path: &Path, seen: &std::fs::Metadata, bytes: &[u8]) -> Result<(), String> {
    let fifo = seen.file_type().is_fifo();
    let mut flags = OFlags::WRONLY | OFlags::NOCTTY | OFlags::CLOEXEC | OFlags::NONBLOCK;
    if !std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        flags |= OFlags::NOFOLLOW;
    }
    let fd = rustix::fs::open(path, flags, Mode::empty()).map_err(|e| match e {
        rustix::io::Errno::NXIO if fifo => {
            "it is a FIFO and no process is reading from it (start the reader first)".into()
        }
        e => reason(&e.into()),
    })?;
    let st = rustix::fs::fstat(&fd).map_err(|e| reason(&e.into()))?;
    if st.st_dev != seen.dev() || st.st_ino != seen.ino() {
        return Err("it was replaced while being opened; nothing was written".into());
    }
    // Blocking from here on: a slow reader is waited for, not an error.
    let fl = rustix::fs::fcntl_getfl(&fd).map_err(|e| reason(&e.into()))?;
    rustix::fs::fcntl_setfl(&fd, fl.difference(OFlags::NONBLOCK)).map_err(|e| reason(&e.into()))?;
    write_all(&fd, bytes).map_err(|e| match e.kind() {
        std::io::ErrorKind::BrokenPipe => {
            "the reader closed it before the whole report was written".into()
        }
        _ => reason(&e),
    })
}

/// Write everything; a descriptor someone else made non-blocking is waited on, not failed.
fn write_all(fd: &OwnedFd, mut bytes: &[u8]) -> std::io::Result<()> {
    use rustix::event::{PollFd, PollFlags, poll};
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(rustix::io::Errno::AGAIN) => {
                let mut fds = [PollFd::new(fd, PollFlags::OUT)];
                poll(&mut fds, None)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Replace the regular file at `path` (or create it) atomically: a temporary file in the same
/// directory, synced, given the replaced file's permissions (and, as root, its owner and
/// group: a textfile collector's file stays its own) or else mode 0644 whatever the umask
/// (node_exporter must read it), renamed over. The rename replaces a symlink at `path`
/// itself, never the file it points to.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let fail = |e: &std::io::Error| WriteError::new(path, reason(e));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // What is replaced: the file itself, not what a symlink there leads to.
    let old = std::fs::symlink_metadata(path)
        .ok()
        .filter(std::fs::Metadata::is_file);
    let mut tmp = tempfile::Builder::new()
        .prefix(".sitedoctor-")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(|e| {
            WriteError::new(
                path,
                format!(
                    "{} (cannot create a file in {})",
                    reason(&e),
                    sanitize::path(dir)
                ),
            )
        })?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .and_then(|_| take_over(tmp.as_file(), old.as_ref()))
        .map_err(|e| fail(&e))?;
    tmp.persist(path).map_err(|e| fail(&e.error))?;
    Ok(())
}

/// Give the new file what the admin gave the old one: its permission bits (never setuid,
/// setgid or sticky: a report is no program) and, as root, its owner and group. The owner
/// first, since a change of owner clears those bits.
fn take_over(new: &std::fs::File, old: Option<&std::fs::Metadata>) -> std::io::Result<()> {
    let Some(old) = old else {
        return new.set_permissions(std::fs::Permissions::from_mode(NEW_MODE));
    };
    if rustix::process::geteuid().is_root() {
        std::os::unix::fs::fchown(new, Some(old.uid()), Some(old.gid()))?;
    }
    new.set_permissions(std::fs::Permissions::from_mode(old.mode() & 0o777))
}

/// The operating system's reason, without Rust's "(os error N)" or the path of a
/// temporary file that some wrappers add.
fn reason(e: &std::io::Error) -> String {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(code) = err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::raw_os_error)
        {
            return io_reason(&std::io::Error::from_raw_os_error(code));
        }
        cur = err.source();
    }
    io_reason(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inherited_descriptor_names() {
        let fd = |s: &str| inherited_fd(Path::new(s));
        assert_eq!(fd("/dev/stdout"), Some(1));
        assert_eq!(fd("/dev/stderr"), Some(2));
        assert_eq!(fd("/dev/fd/7"), Some(7));
        assert_eq!(fd("/proc/self/fd/12"), Some(12));
        for not in [
            "/dev/fd/",
            "/dev/fd/+1",
            "/dev/fd/1x",
            "/dev/fd/99999999999",
            "out",
        ] {
            assert_eq!(fd(not), None, "{not}");
        }
    }

    #[test]
    fn a_wrapped_error_reads_as_the_os_reason_alone() {
        let t = tempfile::tempdir().unwrap();
        let e = tempfile::Builder::new()
            .tempfile_in(t.path().join("missing"))
            .unwrap_err();
        assert_eq!(reason(&e), "No such file or directory");
    }
}
