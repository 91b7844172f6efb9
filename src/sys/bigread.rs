//! Reading a large file whole, with several threads: a snapshot of hundreds of thousands of
//! records is tens of megabytes, and filling fresh memory costs more than the copy (every
//! page is faulted in and zeroed by the kernel; on a virtual machine each fault is dear).
//! The pages of each part are faulted in on its own core.

use std::os::unix::fs::FileExt;
use std::path::Path;

use super::readcap::{self, ReadError};

/// Below this one thread reads: starting others costs more than they save.
const PARALLEL_FROM: usize = 4 * 1024 * 1024;

/// `path`'s bytes, at most `cap` of them, read as [`readcap::read_capped`] reads (a FIFO or
/// device refused without blocking), a large file in `threads` parts at once. A file that
/// shrinks while it is read is an error; one that grows is read to its size when opened.
pub fn read(path: &Path, cap: u64, threads: usize) -> Result<Vec<u8>, ReadError> {
    let file = readcap::open_regular(path)?;
    let size = file.metadata()?.len();
    if size > cap {
        return Err(ReadError::TooLarge(cap));
    }
    let size = usize::try_from(size).map_err(|_| ReadError::TooLarge(cap))?;
    Ok(read_prefix(&file, size, threads)?)
}

/// The first `size` bytes of an open file, a large part read in `threads` parts at once. A
/// file shorter than that is an error.
pub fn read_prefix(file: &std::fs::File, size: usize, threads: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; size];
    let threads = threads.clamp(1, 16);
    let shrank = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            std::io::Error::other("it shrank while it was being read")
        } else {
            e
        }
    };
    if size < PARALLEL_FROM || threads == 1 {
        file.read_exact_at(&mut buf, 0).map_err(shrank)?;
        return Ok(buf);
    }
    let part = size.div_ceil(threads);
    std::thread::scope(|s| {
        let reads: Vec<_> = buf
            .chunks_mut(part)
            .enumerate()
            .map(|(i, chunk)| s.spawn(move || file.read_exact_at(chunk, (i * part) as u64)))
            .collect();
        reads
            .into_iter()
            .try_for_each(|r| r.join().expect("a reading thread panicked"))
    })
    .map_err(shrank)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_file_is_read_in_parts_whole_and_in_order() {
        let t = tempfile::tempdir().unwrap();
        let big = t.path().join("big");
        let body: Vec<u8> = (0..PARALLEL_FROM + 4099).map(|i| (i % 251) as u8).collect();
        std::fs::write(&big, &body).unwrap();
        for threads in [1, 2, 3, 8] {
            assert_eq!(read(&big, u64::MAX, threads).unwrap(), body, "{threads}");
        }
        assert!(matches!(read(&big, 10, 2), Err(ReadError::TooLarge(10))));
        let small = t.path().join("small");
        std::fs::write(&small, "x").unwrap();
        assert_eq!(read(&small, 10, 2).unwrap(), b"x");
        let fifo = t.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(matches!(read(&fifo, 10, 2), Err(ReadError::NotRegular(_))));
    }
}
