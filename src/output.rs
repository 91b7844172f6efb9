//! Writing the report (`--output`, `init`): a regular file is replaced atomically; a FIFO, a
//! character device or an inherited descriptor (`/dev/stdout`, `/dev/fd/N`) is written as it
//! is; anything else — a directory, a block device, a socket, a symlink another user planted
//! in a shared directory — is refused, never replaced.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use crate::sanitize;
use crate::sys::io_reason;

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
    refuse_shared_symlinks(path).map_err(fail)?;
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
        refuse_foreign_link_to_device(path).map_err(fail)?;
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
        if e.raw_os_error() == Some(nix::libc::EBADF) {
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

/// Refuse a symlink on the way to `path` that sits in a sticky world-writable directory
/// (`/tmp`) and belongs to someone other than us or that directory's owner: what the
/// kernel's `protected_symlinks` refuses to follow, whether or not it is switched on here.
fn refuse_shared_symlinks(path: &Path) -> Result<(), String> {
    let me = rustix::process::geteuid().as_raw();
    let mut prefixes: Vec<&Path> = path
        .ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    prefixes.reverse();
    for p in prefixes {
        let Ok(link) = std::fs::symlink_metadata(p) else {
            return Ok(());
        };
        if !link.file_type().is_symlink() || link.uid() == me {
            continue;
        }
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let Ok(d) = std::fs::metadata(dir) else {
            continue;
        };
        let shared = d.mode() & 0o1002 == 0o1002;
        if shared && link.uid() != d.uid() {
            return Err(format!(
                "{} is a symlink owned by {} in {}, a directory everyone may write to; \
                 sitedoctor does not follow it (another user could point it anywhere). \
                 Write the report somewhere only you can write to",
                sanitize::path(p),
                crate::sys::users::user_name(link.uid()),
                sanitize::path(dir)
            ));
        }
    }
    Ok(())
}

/// A symlink at `path` is written through to a device or FIFO only when root or we own it:
/// whoever may write the directory of a report could otherwise point it at `/dev/port`.
/// (A link to a regular file is harmless: the rename replaces the link, not its target.)
fn refuse_foreign_link_to_device(path: &Path) -> Result<(), String> {
    let me = rustix::process::geteuid().as_raw();
    match std::fs::symlink_metadata(path) {
        Ok(l) if l.file_type().is_symlink() && l.uid() != 0 && l.uid() != me => Err(format!(
            "it is a symlink owned by {} that leads to a device or FIFO; sitedoctor writes \
             through such a link only when root owns it: give the device's own path",
            crate::sys::users::user_name(l.uid())
        )),
        _ => Ok(()),
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
/// directory, synced, mode 0644 whatever the umask (node_exporter must read it), renamed over.
/// The rename replaces a symlink at `path` itself, never the file it points to.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let fail = |e: &std::io::Error| WriteError::new(path, reason(e));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".sitedoctor-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
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
        .and_then(|_| {
            tmp.as_file()
                .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        })
        .map_err(|e| fail(&e))?;
    tmp.persist(path).map_err(|e| fail(&e.error))?;
    Ok(())
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
