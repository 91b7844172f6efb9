//! Reading a snapshot for `diff`: its records verified and indexed by directory, each read
//! in place when it is asked for, and its extras (line hashes, kept content) read and
//! verified only when something needs them. The format is in [`super`].

use std::path::Path;
use std::sync::OnceLock;

use super::listing::{Lister, Listing};
use super::{Extras, Header, StoreError, err, head_of, parse_header};
use crate::baseline::key::Digest;
use crate::baseline::tree::{EntryKind, Record};

/// A snapshot's records as the file has them: its bytes, read once into one buffer, and
/// where each record starts. A record becomes a [`Record`] only when it is asked for, so
/// reading a snapshot of hundreds of thousands of entries allocates nothing per entry.
pub struct Stored {
    /// The magic line, the header, the records and their checksum.
    bytes: Vec<u8>,
    version: u32,
    starts: Vec<usize>,
    listing: Listing,
    /// Version 2: the extras, read (from `file`, after `bytes`) and verified against the
    /// header's hash the first time they are needed, or why they could not be.
    extras: OnceLock<Result<Vec<u8>, String>>,
    file: Option<std::fs::File>,
    expect: Option<Extras>,
    /// A record's line hashes or content were not where it said.
    missed: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Stored({} records, {} bytes)",
            self.starts.len(),
            self.bytes.len()
        )
    }
}

impl Stored {
    /// Where each record starts in the bytes, in path order.
    pub(in crate::baseline) fn starts(&self) -> &[usize] {
        &self.starts
    }

    /// Every directory's entries, listed while the records were checked.
    pub(in crate::baseline) fn listing(&self) -> &Listing {
        &self.listing
    }

    /// The record starting at byte `at` (one of [`Stored::starts`]), without its line hashes
    /// and content when they lie in the extras (see [`Stored::full_at`]).
    pub(in crate::baseline) fn raw_at(&self, at: usize) -> Raw<'_> {
        self.cursor(at, None)
            .record()
            .expect("every record was checked when the snapshot was read")
    }

    /// The record starting at byte `at`, whole: its line hashes and content read from the
    /// extras, when they can be (see [`Stored::extras_unread`]).
    pub(in crate::baseline) fn full_at(&self, at: usize) -> Raw<'_> {
        let mut cursor = self.cursor(at, self.extras());
        let raw = cursor
            .record()
            .expect("every record was checked when the snapshot was read");
        if cursor.missed {
            self.missed
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        raw
    }

    fn cursor<'s>(&'s self, at: usize, extras: Option<&'s [u8]>) -> Cursor<'s> {
        Cursor {
            buf: &self.bytes[..self.bytes_end()],
            at,
            version: self.version,
            extras,
            missed: false,
        }
    }

    /// The extras, read and verified the first time they are asked for.
    fn extras(&self) -> Option<&[u8]> {
        let expect = self.expect.as_ref()?;
        self.extras
            .get_or_init(|| {
                let file = self.file.as_ref().ok_or("they were not read")?;
                let len = usize::try_from(expect.len).map_err(|_| "they are too large")?;
                let at = self.bytes.len() as u64;
                let mut bytes = vec![0u8; len];
                std::os::unix::fs::FileExt::read_exact_at(file, &mut bytes, at)
                    .map_err(|e| crate::sys::io_reason(&e))?;
                if blake3::hash(&bytes).to_hex().as_str() != expect.blake3 {
                    return Err("their hash does not match the header's".to_string());
                }
                Ok(bytes)
            })
            .as_deref()
            .ok()
    }

    /// Why the extras (line hashes, kept content) could not be read, once something needed
    /// them: changed lines are then not shown.
    pub(in crate::baseline) fn extras_unread(&self) -> Option<String> {
        match self.extras.get() {
            Some(Err(why)) => Some(format!(
                "the snapshot's line hashes could not be read ({why}): changed lines are not shown"
            )),
            _ if self.missed.load(std::sync::atomic::Ordering::Relaxed) => Some(
                "the snapshot's line hashes are not all where its records say (it was not written by sitedoctor): some changed lines are not shown".to_string(),
            ),
            _ => None,
        }
    }

    /// The path of the record starting at byte `at`, without reading the rest of it.
    pub(in crate::baseline) fn path_at(&self, at: usize) -> &[u8] {
        self.cursor(at, None)
            .bytes()
            .expect("every record was checked when the snapshot was read")
    }

    /// Where the records end (the checksum follows).
    fn bytes_end(&self) -> usize {
        self.bytes.len() - 32
    }

    /// Whether the record at byte `at` says what `rec` says in everything a comparison
    /// looks at (see [`Records::same_as`]).
    pub(in crate::baseline) fn same_as_at(&self, at: usize, rec: &Record) -> bool {
        let r = self.raw_at(at);
        (r.kind, r.hash, r.target, r.perm, r.uid, r.gid)
            == (
                rec.kind,
                rec.hash,
                rec.target.as_deref(),
                rec.perm,
                rec.uid,
                rec.gid,
            )
    }

    /// A snapshot of these records, as `diff` reads it.
    #[cfg(test)]
    pub fn of(records: &[Record]) -> Stored {
        let header = Header::for_tests(records.len() as u64);
        let mut bytes = super::encode(&header, records);
        let (header, _) = parse_header(Path::new("t"), &bytes).expect("an encoded header");
        let extras = bytes.split_off(bytes.len() - header.extras.expect("version 2").len as usize);
        let stored = parse(Path::new("t"), bytes, None)
            .expect("encoded records parse")
            .1;
        stored
            .extras
            .set(Ok(extras))
            .expect("nothing read them yet");
        stored
    }

    /// Every record, as a list.
    #[cfg(test)]
    pub fn to_vec(&self) -> Vec<Record> {
        self.starts
            .iter()
            .map(|&at| self.full_at(at).owned())
            .collect()
    }
}

/// Why a snapshot's records cannot be used: its checksum is wrong.
fn damaged(path: &Path) -> StoreError {
    err(
        path,
        "truncated or corrupted (its checksum does not match); take a new one with `sitedoctor snapshot`",
    )
}

/// Why a snapshot's records cannot be used although its checksum matches: they were
/// written wrong (not by this sitedoctor).
fn malformed(path: &Path) -> StoreError {
    err(
        path,
        "its records are malformed although its checksum matches; take a new one with `sitedoctor snapshot`",
    )
}

/// Read a snapshot: its header, and its records with every record's layout and their order
/// checked while (on another thread) their checksum is verified. A snapshot that fails
/// either is refused whole: nothing read from it is shown or acted on. The extras are read
/// when something needs them ([`Stored::full_at`]), from the same open file.
pub fn open(path: &Path) -> Result<(Header, Stored), StoreError> {
    let cannot = |e: crate::sys::readcap::ReadError| {
        if e.is_not_found() {
            err(path, "no such file; take one with `sitedoctor snapshot`")
        } else {
            err(path, format!("cannot read it: {e}"))
        }
    };
    let file = crate::sys::readcap::open_regular(path).map_err(cannot)?;
    let size = file.metadata().map_err(|e| cannot(e.into()))?.len();
    if size > MAX_SIZE {
        return Err(cannot(crate::sys::readcap::ReadError::TooLarge(MAX_SIZE)));
    }
    let (header, body) = parse_header(path, &head_of(&file).map_err(|e| cannot(e.into()))?)?;
    // Version 2: the records end where the extras begin.
    let extras = header.extras.as_ref().map_or(0, |x| x.len);
    let records = size
        .checked_sub(extras)
        .filter(|&n| n >= body as u64 + 32)
        .ok_or_else(|| damaged(path))?;
    let records = usize::try_from(records).map_err(|_| damaged(path))?;
    let bytes = crate::sys::bigread::read_prefix(&file, records, crate::walk::default_threads())
        .map_err(|e| cannot(e.into()))?;
    parse(path, bytes, Some(file))
}

/// No snapshot is read past this (a sparse or runaway file is refused, not allocated).
const MAX_SIZE: u64 = 16 * 1024 * 1024 * 1024;

/// Below this the checksum is verified on the reading thread: a thread costs more.
pub(super) const VERIFY_APART_FROM: usize = 1024 * 1024;

/// A snapshot's header and records from its bytes up to the records' checksum (see
/// [`open`]); its extras are in `file`, after those bytes.
fn parse(
    path: &Path,
    bytes: Vec<u8>,
    file: Option<std::fs::File>,
) -> Result<(Header, Stored), StoreError> {
    // The header from these bytes, which the checksum covers, not the one `open` read first
    // to learn where the records end: the file may have changed in between.
    let (header, body) = parse_header(path, &bytes)?;
    let Some(end) = bytes.len().checked_sub(32).filter(|&end| end >= body) else {
        return Err(damaged(path));
    };
    let (data, sum) = bytes.split_at(end);
    let intact = || blake3::hash(data).as_bytes() == sum;
    let version = header.version;
    let layout = |buf| records(path, buf, body, header.entries, version);
    let (intact, layout) = if bytes.len() < VERIFY_APART_FROM {
        (intact(), layout(data))
    } else {
        std::thread::scope(|s| {
            let verifying = s.spawn(intact);
            let layout = layout(data);
            (
                verifying.join().expect("verifying a snapshot panicked"),
                layout,
            )
        })
    };
    if !intact {
        return Err(damaged(path));
    }
    let (starts, listing) = layout?;
    let expect = header.extras.clone();
    Ok((
        header,
        Stored {
            bytes,
            version,
            starts,
            listing,
            extras: OnceLock::new(),
            file,
            expect,
            missed: Default::default(),
        },
    ))
}

/// Where each of the `entries` records in `buf[body..]` starts, and each directory's
/// entries.
fn records(
    path: &Path,
    buf: &[u8],
    body: usize,
    entries: u64,
    version: u32,
) -> Result<(Vec<usize>, Listing), StoreError> {
    let mut cur = Cursor {
        buf,
        at: body,
        version,
        extras: None,
        missed: false,
    };
    // Record numbers are u32 in the listing: far more than a 16 GiB file can hold.
    let entries = u32::try_from(entries).map_err(|_| malformed(path))?;
    let mut starts = Vec::with_capacity(entries.min(10_000_000) as usize);
    let mut lister = Lister::new(entries.min(10_000_000) as usize);
    // Absolute paths in strictly increasing order: what every reader relies on (a lookup
    // by directory, the merge), checked rather than trusted.
    let mut prev: &[u8] = b"";
    for idx in 0..entries {
        starts.push(cur.at);
        let r = cur.record().ok_or_else(|| malformed(path))?;
        // No NUL either: the kernel's paths have none, and `path_cmp` ranks it with '/'.
        if !r.path.starts_with(b"/")
            || memchr::memchr(0, r.path).is_some()
            || crate::baseline::tree::path_cmp(prev, r.path) != std::cmp::Ordering::Less
        {
            return Err(err(
                path,
                "its records are out of order or not absolute paths; take a new one with `sitedoctor snapshot`",
            ));
        }
        prev = r.path;
        lister.add(idx, &r);
    }
    if cur.at != buf.len() {
        return Err(malformed(path));
    }
    Ok((starts, lister.finish()))
}

/// A record as it lies in the file's bytes.
pub(in crate::baseline) struct Raw<'a> {
    pub path: &'a [u8],
    pub kind: EntryKind,
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub ino: u64,
    pub mtime: (i64, u32),
    pub ctime: (i64, u32),
    pub hash: Option<Digest>,
    pub target: Option<&'a [u8]>,
    /// The line hashes' little-endian bytes.
    pub lines: Option<&'a [u8]>,
    pub content: Option<&'a [u8]>,
    pub unreadable: bool,
}

impl Raw<'_> {
    pub(in crate::baseline) fn owned(&self) -> Record {
        Record {
            path: self.path.to_vec(),
            kind: self.kind,
            perm: self.perm,
            uid: self.uid,
            gid: self.gid,
            size: self.size,
            ino: self.ino,
            mtime: self.mtime,
            ctime: self.ctime,
            hash: self.hash,
            target: self.target.map(<[u8]>::to_vec),
            lines: self.lines.map(line_hashes),
            content: self.content.map(<[u8]>::to_vec),
            unreadable: self.unreadable,
        }
    }
}

/// Line hashes from their little-endian bytes.
fn line_hashes(raw: &[u8]) -> Vec<u32> {
    raw.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
    /// The snapshot's format version: where line hashes and content lie.
    version: u32,
    /// Version 2: the extras, when they were read; without them a record's line hashes and
    /// content are left out.
    extras: Option<&'a [u8]>,
    /// An offset that the extras do not hold (a forged snapshot) was met.
    missed: bool,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.buf.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    /// Line hashes or content: in version 1 here, read by `read`; in version 2 in the
    /// extras, at the offset here. `None` when the record is malformed; `Some(None)` when
    /// the extras were not read (or, forged, do not hold it).
    fn apart(
        &mut self,
        read: impl Fn(&mut Cursor<'a>) -> Option<&'a [u8]>,
    ) -> Option<Option<&'a [u8]>> {
        if self.version == 1 {
            return read(self).map(Some);
        }
        let at = usize::try_from(self.u64()?).ok()?;
        let Some(buf) = self.extras else {
            return Some(None);
        };
        let found = read(&mut Cursor {
            buf,
            at,
            version: 1,
            extras: None,
            missed: false,
        });
        self.missed |= found.is_none();
        Some(found)
    }

    fn record(&mut self) -> Option<Raw<'a>> {
        let path = self.bytes()?;
        let kind = EntryKind::from_code(self.u8()?)?;
        let (perm, uid, gid) = (self.u32()?, self.u32()?, self.u32()?);
        let (size, ino) = (self.u64()?, self.u64()?);
        let mtime = (self.u64()? as i64, self.u32()?);
        let ctime = (self.u64()? as i64, self.u32()?);
        let flags = self.u8()?;
        let hash = if flags & 1 != 0 {
            Some(Digest(self.take(32)?.try_into().ok()?))
        } else {
            None
        };
        let target = if flags & 2 != 0 {
            Some(self.bytes()?)
        } else {
            None
        };
        let lines = if flags & 4 != 0 {
            self.apart(|c| {
                let n = c.u32()? as usize;
                c.take(n.checked_mul(4)?)
            })?
        } else {
            None
        };
        let content = if flags & 8 != 0 {
            self.apart(Cursor::bytes)?
        } else {
            None
        };
        Some(Raw {
            path,
            kind,
            perm,
            uid,
            gid,
            size,
            ino,
            mtime,
            ctime,
            hash,
            target,
            lines,
            content,
            unreadable: flags & 16 != 0,
        })
    }
}
