//! Reading a large part of a file with several threads: a snapshot's records (hundreds of
//! thousands of them) are tens of megabytes, and filling fresh memory costs more than the
//! copy (every page is faulted in and zeroed by the kernel; on a virtual machine each fault
//! is dear). The pages of each part are faulted in on its own core.

use std::os::unix::fs::FileExt;

/// Below this one thread reads: starting others costs more than they save.
const PARALLEL_FROM: usize = 4 * 1024 * 1024;

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
        let file = std::fs::File::open(&big).unwrap();
        for threads in [1, 2, 3, 8] {
            assert_eq!(
                read_prefix(&file, body.len(), threads).unwrap(),
                body,
                "{threads}"
            );
            let part = PARALLEL_FROM + 7;
            assert_eq!(read_prefix(&file, part, threads).unwrap(), body[..part]);
        }
        let e = read_prefix(&file, body.len() + 1, 2).unwrap_err();
        assert!(e.to_string().contains("shrank"), "{e}");
    }
}
