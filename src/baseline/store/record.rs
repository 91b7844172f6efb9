//! A record's bytes read: the layout of [`super`]'s records, and where a record's line
//! hashes and content lie (in the record in version 1, in the extras in version 2).

use crate::baseline::key::Digest;
use crate::baseline::tree::{EntryKind, Record};

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
pub(super) fn line_hashes(raw: &[u8]) -> Vec<u32> {
    raw.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub(super) struct Cursor<'a> {
    pub buf: &'a [u8],
    pub at: usize,
    /// The snapshot's format version: where line hashes and content lie.
    pub version: u32,
    /// Version 2: the extras, when they were read; without them a record's line hashes and
    /// content are left out.
    pub extras: Option<&'a [u8]>,
    /// An offset that the extras do not hold (a forged snapshot) was met.
    pub missed: bool,
    /// The bytes ended inside a record: more may complete it (when records are read a part
    /// of the file at a time), up to `need`.
    pub short: bool,
    pub need: usize,
}

impl<'a> Cursor<'a> {
    /// Records in `buf` from `at`, of a snapshot of `version`, without the extras.
    pub fn new(buf: &'a [u8], at: usize, version: u32) -> Cursor<'a> {
        Cursor {
            buf,
            at,
            version,
            extras: None,
            missed: false,
            short: false,
            need: 0,
        }
    }
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let Some(s) = self.buf.get(self.at..end) else {
            self.short = true;
            self.need = end;
            return None;
        };
        self.at = end;
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
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
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
        let found = read(&mut Cursor::new(buf, at, 1));
        self.missed |= found.is_none();
        Some(found)
    }

    pub fn record(&mut self) -> Option<Raw<'a>> {
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
