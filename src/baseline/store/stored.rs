//! Reading a snapshot for `diff`: its records read once, checked and listed by directory
//! ([`super::stream`]), then each read again from the file only when something asks for it
//! (an entry that changed, a record not met again); its extras (line hashes, kept content)
//! read and verified only when something needs them. The format is in [`super`].

use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use super::listing::Listing;
use super::record::Cursor;
use super::stream::damaged;
use super::{Extras, Header, StoreError, err, head_of, parse_header};
use crate::baseline::tree::Record;

/// A snapshot whose records were checked, and where each lies in the file.
pub struct Stored {
    from: Backing,
    version: u32,
    /// Where each record starts in the file, in path order, and then where they end (the
    /// checksum follows).
    starts: Vec<u64>,
    listing: Listing,
    /// Version 2: the extras, read (after the checksum) and verified against the header's
    /// hash the first time they are needed, or why they could not be.
    extras: OnceLock<Result<Vec<u8>, String>>,
    expect: Option<Extras>,
    /// A record's line hashes or content were not where it said.
    missed: AtomicBool,
    /// A record read again was not one: the file changed since it was checked.
    changed: AtomicBool,
    /// The file as it was when opened (its inode, size and mtime), to tell later whether it
    /// changed: snapshots are never written in place, so one that did was not ours to read.
    /// Not its ctime: a hard link made or removed (`snapshot --prune`, a backup) changes it.
    opened: Option<[i64; 4]>,
}

/// Where a snapshot's bytes are read from.
pub(super) enum Backing {
    File(std::fs::File),
    /// Tests: a snapshot encoded in memory.
    #[cfg(test)]
    Bytes(Vec<u8>),
}

impl Backing {
    pub(super) fn read_at(&self, buf: &mut [u8], at: u64) -> std::io::Result<()> {
        match self {
            Backing::File(f) => f.read_exact_at(buf, at),
            #[cfg(test)]
            Backing::Bytes(b) => {
                let from = usize::try_from(at).map_err(std::io::Error::other)?;
                let src = b
                    .get(from..from + buf.len())
                    .ok_or(std::io::ErrorKind::UnexpectedEof)?;
                buf.copy_from_slice(src);
                Ok(())
            }
        }
    }

    fn id(&self) -> Option<[i64; 4]> {
        match self {
            Backing::File(f) => f.metadata().ok().map(|m| id_of(&m)),
            #[cfg(test)]
            Backing::Bytes(_) => None,
        }
    }
}

/// What tells whether a snapshot's file changed (see [`Stored::changed`]).
fn id_of(m: &std::fs::Metadata) -> [i64; 4] {
    [m.ino() as i64, m.size() as i64, m.mtime(), m.mtime_nsec()]
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stored({} records)", self.len())
    }
}

impl Stored {
    /// How many records there are.
    pub(in crate::baseline) fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Every directory's entries, listed while the records were checked.
    pub(in crate::baseline) fn listing(&self) -> &Listing {
        &self.listing
    }

    /// Record `idx` (without its line hashes and content when they lie in the extras: see
    /// [`Stored::whole`]); `None` when it is not what was checked (see [`Stored::changed`]).
    pub(in crate::baseline) fn record(&self, idx: usize) -> Option<Record> {
        self.records(&[idx]).pop().map(|(_, r)| r)
    }

    /// Record `idx` whole: its line hashes and content read from the extras when they can
    /// be (see [`Stored::extras_unread`]).
    pub(in crate::baseline) fn whole(&self, idx: usize) -> Option<Record> {
        let bytes = self.bytes(idx, idx + 1)?;
        let mut cursor = Cursor::new(&bytes, 0, self.version);
        cursor.extras = self.extras();
        let r = self.checked(cursor.record().filter(|_| cursor.at == bytes.len()))?;
        if cursor.missed {
            self.missed.store(true, Ordering::Relaxed);
        }
        Some(r.owned())
    }

    /// The records numbered `idxs` (increasing), each with its number, those that lie
    /// together read at once. One that is not what was checked is left out (see
    /// [`Stored::changed`]).
    pub(in crate::baseline) fn records(&self, idxs: &[usize]) -> Vec<(usize, Record)> {
        /// Records read in one go at most (a removed tree may be most of the snapshot).
        const RUN: u64 = 4 * 1024 * 1024;
        let mut out = Vec::with_capacity(idxs.len());
        let mut i = 0;
        while i < idxs.len() {
            let from = idxs[i];
            let mut to = i + 1;
            while to < idxs.len()
                && idxs[to] == idxs[to - 1] + 1
                && self.starts[idxs[to] + 1] - self.starts[from] <= RUN
            {
                to += 1;
            }
            let last = idxs[to - 1];
            if let Some(bytes) = self.bytes(from, last + 1) {
                let mut cursor = Cursor::new(&bytes, 0, self.version);
                for idx in from..=last {
                    let want = (self.starts[idx + 1] - self.starts[from]) as usize;
                    match self.checked(cursor.record().filter(|_| cursor.at == want)) {
                        Some(r) => out.push((idx, r.owned())),
                        None => break,
                    }
                }
            }
            i = to;
        }
        out
    }

    /// The path of record `idx`.
    pub(in crate::baseline) fn path(&self, idx: usize) -> Option<Vec<u8>> {
        let bytes = self.bytes(idx, idx + 1)?;
        self.checked(Cursor::new(&bytes, 0, self.version).bytes())
            .map(<[u8]>::to_vec)
    }

    /// The bytes of records `from` up to (not including) `to`.
    fn bytes(&self, from: usize, to: usize) -> Option<Vec<u8>> {
        let (at, end) = (self.starts[from], self.starts[to]);
        let mut bytes = vec![0u8; usize::try_from(end - at).ok()?];
        let read = self.from.read_at(&mut bytes, at);
        self.checked(read.ok()).map(|()| bytes)
    }

    /// What was read again, or `None` (and the snapshot marked changed) when it could not be.
    fn checked<T>(&self, read: Option<T>) -> Option<T> {
        if read.is_none() {
            self.changed.store(true, Ordering::Relaxed);
        }
        read
    }

    /// Why what was read of the snapshot cannot be trusted: it changed since it was checked
    /// (a record read again was not one, or its file is not as it was).
    pub(in crate::baseline) fn changed(&self) -> Option<String> {
        (self.changed.load(Ordering::Relaxed) || self.from.id() != self.opened)
            .then(|| "changed while it was being read; run the comparison again".to_string())
    }

    /// The extras, read and verified the first time they are asked for.
    fn extras(&self) -> Option<&[u8]> {
        let expect = self.expect.as_ref()?;
        self.extras
            .get_or_init(|| {
                let len = usize::try_from(expect.len).map_err(|_| "they are too large")?;
                let at = self.starts.last().expect("an end") + 32;
                let mut bytes = vec![0u8; len];
                self.from
                    .read_at(&mut bytes, at)
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
            _ if self.missed.load(Ordering::Relaxed) => Some(
                "the snapshot's line hashes are not all where its records say (it was not written by sitedoctor): some changed lines are not shown".to_string(),
            ),
            _ => None,
        }
    }

    /// A snapshot of these records, as `diff` reads it.
    #[cfg(test)]
    pub fn of(records: &[Record]) -> Stored {
        let header = Header::for_tests(records.len() as u64);
        let bytes = super::encode(&header, records);
        let size = bytes.len() as u64;
        let (_, body) = parse_header(Path::new("t"), &bytes).expect("an encoded header");
        let head = bytes[..body].to_vec();
        read(Path::new("t"), Backing::Bytes(bytes), size, &head, None)
            .expect("encoded records read")
            .1
    }

    /// Every record, as a list.
    #[cfg(test)]
    pub fn to_vec(&self) -> Vec<Record> {
        (0..self.len())
            .map(|i| self.whole(i).expect("a record"))
            .collect()
    }
}

/// Read a snapshot: its header, and its records with every record's layout and their order
/// checked while (on another thread) their checksum is verified. A snapshot that fails
/// either is refused whole: nothing read from it is shown or acted on. The extras are read
/// when something needs them ([`Stored::whole`]), from the same open file.
pub fn open(path: &Path) -> Result<(Header, Stored), StoreError> {
    let cannot = |e: crate::sys::readcap::ReadError| {
        if e.is_not_found() {
            err(path, "no such file; take one with `sitedoctor snapshot`")
        } else {
            err(path, format!("cannot read it: {e}"))
        }
    };
    let file = crate::sys::readcap::open_regular(path).map_err(cannot)?;
    let meta = file.metadata().map_err(|e| cannot(e.into()))?;
    let size = meta.len();
    if size > MAX_SIZE {
        return Err(cannot(crate::sys::readcap::ReadError::TooLarge(MAX_SIZE)));
    }
    let head = head_of(&file).map_err(|e| cannot(e.into()))?;
    read(path, Backing::File(file), size, &head, Some(id_of(&meta)))
}

/// No snapshot is read past this (a sparse or runaway file is refused, not allocated).
const MAX_SIZE: u64 = 16 * 1024 * 1024 * 1024;

/// A snapshot of `size` bytes in `from`, whose first lines (as first read) are `head`, and
/// which was `opened` so.
fn read(
    path: &Path,
    from: Backing,
    size: u64,
    head: &[u8],
    opened: Option<[i64; 4]>,
) -> Result<(Header, Stored), StoreError> {
    let (header, body) = parse_header(path, head)?;
    // Version 2: the records end where the extras begin.
    let extras = header.extras.as_ref().map_or(0, |x| x.len);
    let end = size
        .checked_sub(extras)
        .and_then(|n| n.checked_sub(32))
        .filter(|&n| n >= body as u64)
        .ok_or_else(|| damaged(path))?;
    let read = super::stream::read(
        path,
        &from,
        &head[..body],
        end,
        header.entries,
        header.version,
    )?;
    let expect = header.extras.clone();
    let version = header.version;
    Ok((
        header,
        Stored {
            from,
            version,
            starts: read.starts,
            listing: read.listing,
            extras: OnceLock::new(),
            expect,
            missed: AtomicBool::new(false),
            changed: AtomicBool::new(false),
            opened,
        },
    ))
}
