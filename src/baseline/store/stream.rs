//! A snapshot's records read once, a part at a time: one thread reads each part and adds it
//! to the checksum while this one checks the records' layout and order and lists each
//! directory's entries. The parts are a few buffers used over and over, so reading tens of
//! megabytes of records fills no fresh memory (on a virtual machine each fresh page costs a
//! fault), and the checksum, the reading and the checking go on at once.

use std::path::Path;
use std::sync::mpsc;

use super::listing::{Lister, Listing};
use super::record::Cursor;
use super::stored::Backing;
use super::{StoreError, err};

/// The size of a part: small enough to stay in the cache between the two threads.
pub(super) const PART: usize = 256 * 1024;
/// Parts in flight: the reader stays ahead of the checker.
const PARTS: usize = 4;

/// What a stream of records gave: where each record starts (and, last, where they end), and
/// each directory's entries.
pub(super) struct Read {
    pub starts: Vec<u64>,
    pub listing: Listing,
}

/// The snapshot's bytes from 0 to `end` (where the checksum lies) read from `from`: `head`
/// (the magic line and the header, as first read) must be what they begin with, the
/// records after it laid out right, in order, `entries` of them, of format `version`, and
/// the checksum right. A checksum that is wrong is told before anything else: the records'
/// layout is then no one's.
pub(super) fn read(
    path: &Path,
    from: &Backing,
    head: &[u8],
    end: u64,
    entries: u64,
    version: u32,
) -> Result<Read, StoreError> {
    std::thread::scope(|s| {
        let (full, parts) = mpsc::sync_channel::<Vec<u8>>(PARTS);
        let (give_back, spare) = mpsc::channel::<Vec<u8>>();
        let reader = s.spawn(move || -> std::io::Result<bool> {
            let mut sum = blake3::Hasher::new();
            let mut at = 0u64;
            let mut made = 0;
            while at < end {
                let mut part = match spare.try_recv() {
                    Ok(p) => p,
                    Err(_) if made < PARTS => {
                        made += 1;
                        Vec::new()
                    }
                    Err(_) => match spare.recv() {
                        Ok(p) => p,
                        // The checker is gone (it panicked): nothing is waiting.
                        Err(_) => return Ok(false),
                    },
                };
                let n = PART.min(usize::try_from(end - at).unwrap_or(PART));
                part.resize(n, 0);
                from.read_at(&mut part, at)?;
                sum.update(&part);
                if full.send(part).is_err() {
                    return Ok(false);
                }
                at += n as u64;
            }
            drop(full);
            let mut want = [0u8; 32];
            from.read_at(&mut want, end)?;
            Ok(sum.finalize().as_bytes() == &want)
        });
        let bytes = end.saturating_sub(head.len() as u64);
        let mut check = Check::new(path, head, entries, bytes, version);
        for part in parts.iter() {
            check.part(&part);
            // The reader may be done already.
            let _ = give_back.send(part);
        }
        let intact = reader.join().expect("reading a snapshot panicked");
        match intact {
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(damaged(path)),
            Err(e) => Err(err(
                path,
                format!("cannot read it: {}", crate::sys::io_reason(&e)),
            )),
            Ok(false) => Err(damaged(path)),
            Ok(true) => check.finish(),
        }
    })
}

/// The checker's side: the parts in order, each record as soon as its bytes are all in.
struct Check<'p> {
    path: &'p Path,
    head: &'p [u8],
    entries: u64,
    version: u32,
    /// Bytes taken so far (the next part's offset in the file).
    at: u64,
    /// Where the records end.
    end: u64,
    /// The header's bytes as read again, until they are all in.
    seen_head: Vec<u8>,
    /// A record's first bytes, from the end of a part, waiting for the rest.
    carry: Vec<u8>,
    starts: Vec<u64>,
    lister: Lister,
    /// The last record's path: the next must come after it.
    prev: Vec<u8>,
    /// Why the records cannot be used, once known (the rest is read only for the checksum).
    failed: Option<StoreError>,
}

impl<'p> Check<'p> {
    /// A check of `entries` records of `version` in `bytes` bytes after `head`.
    fn new(path: &'p Path, head: &'p [u8], entries: u64, bytes: u64, version: u32) -> Check<'p> {
        // Room for no more records than the bytes can hold (a record is at least 59 bytes),
        // whatever the header claims.
        let room = usize::try_from(entries.min(bytes / 59).min(10_000_000)).unwrap_or(usize::MAX);
        Check {
            path,
            head,
            entries,
            version,
            at: 0,
            end: head.len() as u64 + bytes,
            seen_head: Vec::new(),
            carry: Vec::new(),
            starts: Vec::with_capacity(room + 1),
            lister: Lister::new(room),
            prev: Vec::new(),
            failed: None,
        }
    }

    fn part(&mut self, part: &[u8]) {
        let base = self.at;
        self.at += part.len() as u64;
        if self.failed.is_some() {
            return;
        }
        let mut rest = part;
        // The header again: the bytes the checksum covers must be those first read.
        if self.seen_head.len() < self.head.len() {
            let n = (self.head.len() - self.seen_head.len()).min(rest.len());
            self.seen_head.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if self.seen_head.len() == self.head.len() && self.seen_head != self.head {
                self.failed = Some(err(
                    self.path,
                    "it changed while it was being read; run the comparison again",
                ));
                return;
            }
        }
        let offset = base + (part.len() - rest.len()) as u64;
        if let Err(e) = self.records(rest, offset) {
            self.failed = Some(e);
        }
    }

    /// The records in `bytes`, which lie at `offset` in the file, after those before.
    fn records(&mut self, mut bytes: &[u8], mut offset: u64) -> Result<(), StoreError> {
        // A record begun in an earlier part: its bytes a little at a time until it is whole
        // (a record is usually a hundred-odd bytes; an old one with its line hashes more).
        while !self.carry.is_empty() && !bytes.is_empty() {
            let had = self.carry.len();
            let n = bytes.len().min(had.max(4096));
            let mut carry = std::mem::take(&mut self.carry);
            carry.extend_from_slice(&bytes[..n]);
            let mut cur = Cursor::new(&carry, 0, self.version);
            match cur.record() {
                Some(r) => {
                    let used = cur.at - had;
                    self.one(&r, offset - had as u64)?;
                    bytes = &bytes[used..];
                    offset += used as u64;
                    carry.clear();
                    self.carry = carry;
                    // Now empty: the loop ends, and the records after it are read below.
                }
                None if cur.short => {
                    self.beyond(offset - had as u64, cur.need)?;
                    bytes = &bytes[n..];
                    offset += n as u64;
                    self.carry = carry;
                }
                None => return Err(malformed(self.path)),
            }
        }
        let mut cur = Cursor::new(bytes, 0, self.version);
        while cur.at < bytes.len() {
            let at = cur.at;
            match cur.record() {
                Some(r) => self.one(&r, offset + at as u64)?,
                None if cur.short => {
                    self.beyond(offset + at as u64, cur.need - at)?;
                    self.carry.extend_from_slice(&bytes[at..]);
                    break;
                }
                None => return Err(malformed(self.path)),
            }
        }
        Ok(())
    }

    /// A record starting at `at` that needs `need` bytes so far: malformed when they run past
    /// the records' end (a length gone wrong), rather than gathered until the end is met.
    fn beyond(&self, at: u64, need: usize) -> Result<(), StoreError> {
        if at.saturating_add(need as u64) > self.end {
            return Err(malformed(self.path));
        }
        Ok(())
    }

    /// A whole record, starting at `at` in the file.
    fn one(&mut self, r: &super::record::Raw<'_>, at: u64) -> Result<(), StoreError> {
        let idx = self.starts.len() as u64;
        if idx >= self.entries {
            return Err(malformed(self.path));
        }
        // Absolute paths in strictly increasing order: what every reader relies on (a
        // lookup by directory, the merge), checked rather than trusted. No NUL either: the
        // kernel's paths have none, and `path_cmp` ranks it with '/'.
        if !r.path.starts_with(b"/")
            || memchr::memchr(0, r.path).is_some()
            || crate::baseline::tree::path_cmp(&self.prev, r.path) != std::cmp::Ordering::Less
        {
            return Err(err(
                self.path,
                "its records are out of order or not absolute paths; take a new one with `sitedoctor snapshot`",
            ));
        }
        self.prev.clear();
        self.prev.extend_from_slice(r.path);
        self.starts.push(at);
        let idx = u32::try_from(idx).map_err(|_| malformed(self.path))?;
        self.lister.add(idx, r).map_err(|_| malformed(self.path))
    }

    fn finish(mut self) -> Result<Read, StoreError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if self.seen_head.len() < self.head.len() {
            return Err(damaged(self.path));
        }
        if !self.carry.is_empty() || self.starts.len() as u64 != self.entries {
            return Err(malformed(self.path));
        }
        let count = u32::try_from(self.entries).map_err(|_| malformed(self.path))?;
        self.starts.push(self.at);
        Ok(Read {
            starts: self.starts,
            listing: self
                .lister
                .finish(count)
                .map_err(|_| malformed(self.path))?,
        })
    }
}

/// Why a snapshot's records cannot be used: its checksum is wrong.
pub(super) fn damaged(path: &Path) -> StoreError {
    err(
        path,
        "truncated or corrupted (its checksum does not match); take a new one with `sitedoctor snapshot`",
    )
}

/// Why a snapshot's records cannot be used although its checksum matches: they were
/// written wrong (not by this sitedoctor).
pub(super) fn malformed(path: &Path) -> StoreError {
    err(
        path,
        "its records are malformed although its checksum matches; take a new one with `sitedoctor snapshot`",
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::record;
    use super::super::{Header, encode_as, parse_header};
    use super::*;
    use crate::baseline::tree::Record;

    #[test]
    fn a_length_gone_wrong_is_refused_where_it_is_met() {
        let recs: Vec<Record> = (0..8000)
            .map(|i| record(format!("/a/{i:05}").as_bytes()))
            .collect();
        let [head, body, ..] = encode_as(2, &Header::for_tests(8000), &recs);
        let (header, at) = parse_header(Path::new("t"), &head).unwrap();
        assert_eq!(at, head.len());
        let end = (head.len() + body.len()) as u64;
        let bytes = [&head[..], &body[..]].concat();
        let part = &bytes[..PART];
        // Whole: nothing wrong after the first part.
        let mut check = Check::new(Path::new("t"), &head, header.entries, end - at as u64, 2);
        check.part(part);
        assert!(check.failed.is_none());
        // The second record's path length made past the end of the records: the first part
        // tells, and nothing of the rest is gathered.
        let mut bad = bytes.clone();
        let mut first = Cursor::new(&bytes, at, 2);
        first.record().unwrap();
        let second = first.at;
        assert_eq!(&bad[second..second + 4], &8u32.to_le_bytes());
        bad[second..second + 4].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
        let mut check = Check::new(Path::new("t"), &head, header.entries, end - at as u64, 2);
        check.part(&bad[..PART]);
        let e = check.failed.as_ref().expect("refused").0.clone();
        assert!(e.contains("malformed"), "{e}");
        assert!(check.carry.is_empty());
    }
}
