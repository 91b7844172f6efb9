//! Reading a whole file safely: capped in size, never blocking on a FIFO or a device, and
//! (for files found under a directory another user can write) never through a symlink.

use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

/// Configuration files, `.env` files and `.htaccess` files are small; anything larger
/// than this is refused rather than read into memory.
pub const DEFAULT_CAP: u64 = 4 * 1024 * 1024;

/// Why a capped read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}", super::io_reason(.0))]
    Io(#[from] std::io::Error),
    #[error("not a regular file (it is {0}); refusing to read it")]
    NotRegular(&'static str),
    #[error("larger than {} (refusing to read more)", crate::units::fmt_bytes(*.0))]
    TooLarge(u64),
}

impl ReadError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == std::io::ErrorKind::PermissionDenied)
    }
}

/// Read `path` whole (following symlinks, as a person's `cat` would), at most `cap` bytes.
/// A FIFO, socket or device is refused without blocking: it is opened non-blocking and
/// examined before any read.
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
    .map_err(std::io::Error::from)?;
    read_fd(fd, cap)
}

/// Read `name` inside the directory `dir` whole, without following a symlink at `name`
/// (the directory handle itself was reached without following any), at most `cap` bytes.
pub fn read_capped_at(dir: &impl AsFd, name: &OsStr, cap: u64) -> Result<Vec<u8>, ReadError> {
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .map_err(|e| {
        if e == rustix::io::Errno::LOOP {
            return std::io::Error::other("it is a symlink (not followed)");
        }
        std::io::Error::from(e)
    })?;
    read_fd(fd, cap)
}

/// Open `path` for reading (following symlinks) only if it is a regular file: a FIFO,
/// socket or device is refused at once instead of blocking the reader.
pub fn open_regular(path: &Path) -> Result<std::fs::File, ReadError> {
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
    .map_err(std::io::Error::from)?;
    regular(&fd)?;
    Ok(std::fs::File::from(fd))
}

/// Refuse anything but a regular file, naming what it is.
fn regular(fd: &OwnedFd) -> Result<(), ReadError> {
    let st = rustix::fs::fstat(fd).map_err(std::io::Error::from)?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => Ok(()),
        FileType::Directory => Err(ReadError::NotRegular("a directory")),
        FileType::Fifo => Err(ReadError::NotRegular("a FIFO")),
        FileType::Socket => Err(ReadError::NotRegular("a socket")),
        FileType::CharacterDevice => Err(ReadError::NotRegular("a character device")),
        FileType::BlockDevice => Err(ReadError::NotRegular("a block device")),
        _ => Err(ReadError::NotRegular("not a file")),
    }
}

/// Read a UTF-8 text file with [`read_capped`]; invalid UTF-8 is replaced, never fatal.
pub fn read_text_capped(path: &Path, cap: u64) -> Result<String, ReadError> {
    read_capped(path, cap).map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn read_fd(fd: OwnedFd, cap: u64) -> Result<Vec<u8>, ReadError> {
    regular(&fd)?;
    let st = rustix::fs::fstat(&fd).map_err(std::io::Error::from)?;
    if st.st_size as u64 > cap {
        return Err(ReadError::TooLarge(cap));
    }
    let mut buf = Vec::with_capacity(st.st_size.max(0) as usize);
    // A file that grows while read is still bounded: read at most one byte past the cap.
    std::fs::File::from(fd)
        .take(cap + 1)
        .read_to_end(&mut buf)?;
    if buf.len() as u64 > cap {
        return Err(ReadError::TooLarge(cap));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_small_file() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("a");
        std::fs::write(&p, "hello").unwrap();
        assert_eq!(read_capped(&p, 10).unwrap(), b"hello");
        assert!(matches!(read_capped(&p, 4), Err(ReadError::TooLarge(4))));
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("fifo");
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let e = read_capped(&p, 10).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
    }

    #[test]
    fn a_directory_and_a_missing_file_are_errors() {
        let t = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_capped(t.path(), 10),
            Err(ReadError::NotRegular(_))
        ));
        assert!(
            read_capped(&t.path().join("none"), 10)
                .unwrap_err()
                .is_not_found()
        );
    }

    #[test]
    fn at_a_handle_a_symlink_is_not_followed() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("secret"), "root only").unwrap();
        std::os::unix::fs::symlink(t.path().join("secret"), t.path().join("link")).unwrap();
        let dir = std::fs::File::open(t.path()).unwrap();
        let e = read_capped_at(&dir, OsStr::new("link"), 100).unwrap_err();
        assert!(e.to_string().contains("symlink"), "{e}");
        assert_eq!(
            read_capped_at(&dir, OsStr::new("secret"), 100).unwrap(),
            b"root only"
        );
    }
}
