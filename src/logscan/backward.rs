//! Lines of a file from its end towards its start, read in blocks: the cost is what is read,
//! not the file's size. A file that grows while it is read is read as it was when opened.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

const BLOCK: u64 = 64 * 1024;

pub struct Backward {
    file: File,
    /// Bytes before this offset are not read yet.
    pos: u64,
    /// Bytes read but not yet split into lines (the start of the oldest partial line).
    carry: Vec<u8>,
    /// Complete lines, oldest first, waiting to be handed out from the back.
    ready: Vec<Vec<u8>>,
    pub bytes_read: u64,
}

impl Backward {
    pub fn new(file: File) -> std::io::Result<Backward> {
        let len = file.metadata()?.len();
        Ok(Backward {
            file,
            pos: len,
            carry: Vec::new(),
            ready: Vec::new(),
            bytes_read: 0,
        })
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
        let start = self.pos.saturating_sub(BLOCK);
        let mut buf = vec![0u8; (self.pos - start) as usize];
        self.file.seek(SeekFrom::Start(start))?;
        // A file truncated under us (copytruncate rotation) reads short: keep what there is.
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
        buf.extend_from_slice(&self.carry);
        // Lines come out newest first: push them oldest first, so `pop` takes the newest.
        let mut ends: Vec<usize> = memchr::memchr_iter(b'\n', &buf).collect();
        ends.push(buf.len());
        // The piece before the first newline may continue in the block before this one.
        self.carry = buf[..ends[0]].to_vec();
        for w in ends.windows(2) {
            self.ready.push(buf[w[0] + 1..w[1]].to_vec());
        }
        Ok(true)
    }
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
    fn no_trailing_newline_and_empty_files() {
        assert_eq!(lines(b"a\nb"), vec!["b", "a"]);
        assert!(lines(b"").is_empty());
    }
}
