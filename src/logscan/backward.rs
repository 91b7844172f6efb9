//! Lines of a file from its end towards its start, read in blocks: the cost is what is read,
//! not the file's size. A file that grows while it is read is read as it was when opened.
//!
//! Every byte read is copied a bounded number of times, so the cost stays linear even in a
//! file with no newline at all; a line keeps at most [`MAX_LINE`] bytes (its start, where the
//! timestamp and the message are), and reading stops at a deadline even inside one line.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::time::Instant;

const BLOCK: u64 = 64 * 1024;

/// The most of one line that is kept: its first bytes. Longer lines are cut, not refused.
pub const MAX_LINE: usize = 64 * 1024;

pub struct Backward {
    file: File,
    /// Bytes before this offset are not read yet.
    pos: u64,
    /// The end of the oldest line seen so far, whose start is not read yet (at most
    /// [`MAX_LINE`] bytes: the ones nearest its start).
    carry: Vec<u8>,
    /// Complete lines, oldest first, waiting to be handed out from the back.
    ready: Vec<Vec<u8>>,
    deadline: Option<Instant>,
    pub bytes_read: u64,
    /// Reading stopped at the deadline before the start of the file.
    pub timed_out: bool,
}

impl Backward {
    pub fn new(file: File) -> std::io::Result<Backward> {
        let len = file.metadata()?.len();
        Ok(Backward {
            file,
            pos: len,
            carry: Vec::new(),
            ready: Vec::new(),
            deadline: None,
            bytes_read: 0,
            timed_out: false,
        })
    }

    /// Stop reading (and end the lines) once `deadline` has passed.
    pub fn until(mut self, deadline: Instant) -> Backward {
        self.deadline = Some(deadline);
        self
    }

    /// The block before `pos`, short if the file was truncated under us (copytruncate
    /// rotation): keep what there is.
    fn read_block(&mut self) -> std::io::Result<Vec<u8>> {
        let start = self.pos.saturating_sub(BLOCK);
        let mut buf = vec![0u8; (self.pos - start) as usize];
        self.file.seek(SeekFrom::Start(start))?;
        let mut got = 0;
        while got < buf.len() {
            match self.file.read(&mut buf[got..])? {
                0 => break,
                n => got += n,
            }
        }
        buf.truncate(got);
        self.bytes_read += got as u64;
        self.pos = start;
        Ok(buf)
    }

    fn fill(&mut self) -> std::io::Result<bool> {
        if self.pos == 0 {
            if !self.carry.is_empty() {
                let line = std::mem::take(&mut self.carry);
                self.ready.push(line);
                return Ok(true);
            }
            return Ok(false);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.timed_out = true;
            self.pos = 0;
            // The partial line is the end of a line whose start was never read: drop it.
            self.carry.clear();
            return Ok(false);
        }
        let block = self.read_block()?;
        // Only the new block is searched: the carry holds no newline.
        let mut ends = newlines(&block);
        let Some(first) = ends.next() else {
            // No line boundary in this block: it is the earlier part of the carried line.
            self.carry = joined(&block, &self.carry);
            return Ok(true);
        };
        // Lines come out newest first: push them oldest first, so `pop` takes the newest.
        let mut prev = first;
        for end in ends {
            self.ready.push(capped(&block[prev + 1..end]));
            prev = end;
        }
        let newest = joined(&block[prev + 1..], &self.carry);
        self.ready.push(newest);
        // The piece before the first newline may continue in the block before this one.
        self.carry = capped(&block[..first]);
        Ok(true)
    }
}

/// Where the newlines in `b` are, first to last. Through std's `BufRead::skip_until` (the
/// C library's memchr): as fast in a debug build as in a release one.
fn newlines(b: &[u8]) -> impl Iterator<Item = usize> + '_ {
    use std::io::BufRead;
    let mut at = 0;
    std::iter::from_fn(move || {
        let mut rest = b.get(at..)?;
        let n = rest.skip_until(b'\n').ok()?;
        if n == 0 || b.get(at + n - 1) != Some(&b'\n') {
            return None;
        }
        at += n;
        Some(at - 1)
    })
}

/// `head` then `tail`, keeping at most [`MAX_LINE`] bytes from the start.
fn joined(head: &[u8], tail: &[u8]) -> Vec<u8> {
    let keep = MAX_LINE.saturating_sub(head.len()).min(tail.len());
    let mut v = capped(head);
    v.extend_from_slice(&tail[..keep]);
    v
}

fn capped(b: &[u8]) -> Vec<u8> {
    b[..b.len().min(MAX_LINE)].to_vec()
}

impl Iterator for Backward {
    type Item = std::io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(mut line) = self.ready.pop() {
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Some(Ok(line));
            }
            match self.fill() {
                Ok(true) => continue,
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(content: &[u8]) -> Vec<String> {
        let t = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(t.path(), content).unwrap();
        Backward::new(File::open(t.path()).unwrap())
            .unwrap()
            .map(|l| String::from_utf8_lossy(&l.unwrap()).into_owned())
            .collect()
    }

    #[test]
    fn newest_first_across_blocks() {
        let mut content = Vec::new();
        for i in 0..50_000 {
            content.extend_from_slice(format!("line {i}\r\n").as_bytes());
        }
        let l = lines(&content);
        assert_eq!(l[0], "", "the empty piece after the last newline");
        assert_eq!(l[1], "line 49999");
        assert_eq!(l.last().unwrap(), "line 0");
        assert_eq!(l.len(), 50_001);
    }

    #[test]
    fn a_line_longer_than_the_cap_keeps_its_start() {
        let mut content = b"2024-01-02 03:04:05 FATAL first ".to_vec();
        content.resize(3 * 1024 * 1024 + 17, b'x');
        content.extend_from_slice(b"\nlast");
        let l = lines(&content);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0], "last");
        assert_eq!(l[1].len(), MAX_LINE);
        assert!(l[1].starts_with("2024-01-02 03:04:05 FATAL first xxx"));
    }

    #[test]
    fn no_newline_at_all_is_one_line_read_once() {
        let t = tempfile::NamedTempFile::new().unwrap();
        t.as_file().set_len(5 * 1024 * 1024 + 3).unwrap();
        let mut b = Backward::new(File::open(t.path()).unwrap()).unwrap();
        let line = b.next().unwrap().unwrap();
        assert_eq!(line.len(), MAX_LINE);
        assert!(b.next().is_none());
        assert_eq!(b.bytes_read, 5 * 1024 * 1024 + 3);
        assert!(!b.timed_out);
    }

    #[test]
    fn a_passed_deadline_stops_reading_inside_a_line() {
        let t = tempfile::NamedTempFile::new().unwrap();
        t.as_file().set_len(64 * 1024 * 1024).unwrap();
        let mut b = Backward::new(File::open(t.path()).unwrap())
            .unwrap()
            .until(Instant::now());
        assert!(b.next().is_none(), "the unfinished line is not handed out");
        assert!(b.timed_out);
        assert!(b.bytes_read < 64 * 1024 * 1024);
    }

    #[test]
    fn no_trailing_newline_and_empty_files() {
        assert_eq!(lines(b"a\nb"), vec!["b", "a"]);
        assert!(lines(b"").is_empty());
    }
}
