//! A large file's bytes mapped read-only rather than copied: a snapshot of hundreds of
//! thousands of records is read once, at random, and copying it cost more than walking the
//! tree (every page of a fresh buffer is zeroed, then filled). The one `unsafe` of the
//! program is here, with what makes it sound.

use std::ops::Deref;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::mm::{MapFlags, ProtFlags};

use super::readcap::{self, ReadError};

/// Below this a file is simply read: a mapping costs more than a copy of a few pages.
const MAP_FROM: u64 = 1024 * 1024;

/// A file's bytes: read into memory, or mapped.
pub enum Bytes {
    Read(Vec<u8>),
    Mapped(Mapped),
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Read(v) => v,
            Bytes::Mapped(m) => m.bytes(),
        }
    }
}

/// A read-only private mapping of a whole file, unmapped when dropped.
pub struct Mapped {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is read-only and owned by this value alone; reading it from several
// threads is reading immutable memory.
unsafe impl Send for Mapped {}
// SAFETY: as above: `&Mapped` only ever gives `&[u8]`.
unsafe impl Sync for Mapped {}

impl Mapped {
    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` is a live mapping of `len` readable bytes until `drop`, and nothing
        // writes it: it is PROT_READ and private. Its file cannot shrink under it (which
        // would fault a read): only a file that no one but this user can write is mapped
        // (see `read`), and sitedoctor never rewrites a snapshot in place.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly the mapping made in `map`, unmapped once, and no
        // borrow of it outlives `self`.
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// `path`'s bytes, at most `cap` of them: a regular file of at least a mebibyte that only
/// this user can write is mapped (its pages are the page cache's: nothing is zeroed or
/// copied), anything else read as [`readcap::read_capped`] reads it.
pub fn read(path: &Path, cap: u64) -> Result<Bytes, ReadError> {
    let file = readcap::open_regular(path)?;
    let fd = OwnedFd::from(file);
    let st = rustix::fs::fstat(&fd).map_err(std::io::Error::from)?;
    let size = st.st_size.max(0) as u64;
    if size > cap {
        return Err(ReadError::TooLarge(cap));
    }
    let private = st.st_uid == rustix::process::geteuid().as_raw() && st.st_mode & 0o022 == 0;
    if size >= MAP_FROM
        && private
        && let Ok(len) = usize::try_from(size)
        && let Some(m) = map(&fd, len)
    {
        return Ok(Bytes::Mapped(m));
    }
    drop(fd);
    readcap::read_capped(path, cap).map(Bytes::Read)
}

/// Map `len` bytes of `fd`, or `None` when the kernel will not (the caller reads instead).
fn map(fd: &OwnedFd, len: usize) -> Option<Mapped> {
    // SAFETY: a fresh mapping at an address the kernel chooses aliases no Rust object; it is
    // read-only and private, and `Mapped` owns it from here on.
    let ptr = unsafe {
        rustix::mm::mmap(
            std::ptr::null_mut(),
            len,
            ProtFlags::READ,
            MapFlags::PRIVATE | MapFlags::POPULATE,
            fd,
            0,
        )
    }
    .ok()?;
    Some(Mapped {
        ptr: std::ptr::NonNull::new(ptr.cast())?,
        len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_large_private_file_is_mapped_and_others_are_read() {
        let t = tempfile::tempdir().unwrap();
        let big = t.path().join("big");
        let body: Vec<u8> = (0..MAP_FROM as usize + 7)
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&big, &body).unwrap();
        std::fs::set_permissions(&big, std::fs::Permissions::from_mode(0o600)).unwrap();
        let got = read(&big, u64::MAX).unwrap();
        assert!(matches!(got, Bytes::Mapped(_)));
        assert_eq!(&got[..], &body[..]);
        // Others may write it: it could shrink under a mapping, so it is read.
        std::fs::set_permissions(&big, std::fs::Permissions::from_mode(0o666)).unwrap();
        let got = read(&big, u64::MAX).unwrap();
        assert!(matches!(got, Bytes::Read(_)));
        assert_eq!(&got[..], &body[..]);
        let small = t.path().join("small");
        std::fs::write(&small, "x").unwrap();
        assert!(matches!(read(&small, 10).unwrap(), Bytes::Read(_)));
        assert!(matches!(read(&big, 10), Err(ReadError::TooLarge(10))));
        let fifo = t.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(matches!(read(&fifo, 10), Err(ReadError::NotRegular(_))));
    }
}
