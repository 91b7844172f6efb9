//! The file tree of a snapshot: one record per entry under the web roots, walked like the
//! permissions check walks (no symlink followed, one filesystem, the same excludes), with a
//! keyed content hash and keyed line hashes of each regular file: what `snapshot` records.
//! `diff` walks against a snapshot instead ([`super::against`]), with the same pieces.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rustix::fs::{FileType, Mode, OFlags};

use super::key::{Digest, Key};
use super::lines;
use crate::checks::Excludes;
use crate::walk::{self, Entry, Meta, WalkError};

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// A FIFO, socket or device: recorded, never opened.
    Other,
}

impl EntryKind {
    pub fn of(meta: &Meta) -> EntryKind {
        match meta.file_type() {
            FileType::RegularFile => EntryKind::File,
            FileType::Directory => EntryKind::Dir,
            FileType::Symlink => EntryKind::Symlink,
            _ => EntryKind::Other,
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(c: u8) -> Option<EntryKind> {
        [
            EntryKind::File,
            EntryKind::Dir,
            EntryKind::Symlink,
            EntryKind::Other,
        ]
        .get(c as usize)
        .copied()
    }

    pub fn noun(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "directory",
            EntryKind::Symlink => "symlink",
            EntryKind::Other => "special file",
        }
    }
}

/// One entry of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The absolute path, as the bytes the kernel has (not necessarily UTF-8).
    pub path: Vec<u8>,
    pub kind: EntryKind,
    /// Permission bits (setuid, setgid, sticky included).
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub ino: u64,
    pub mtime: (i64, u32),
    pub ctime: (i64, u32),
    /// Keyed hash of a regular file's content.
    pub hash: Option<Digest>,
    /// A symlink's target.
    pub target: Option<Vec<u8>>,
    /// Keyed line hashes of a text file up to [`lines::MAX_TEXT`].
    pub lines: Option<Vec<u32>>,
    /// The content itself, with `snapshot --keep-content`.
    pub content: Option<Vec<u8>>,
    /// A regular file that could not be read (no hash).
    pub unreadable: bool,
}

impl Record {
    pub fn path(&self) -> &Path {
        Path::new(std::ffi::OsStr::from_bytes(&self.path))
    }
}

/// Records sorted by [`path_cmp`], by index: a list of them, or some of a snapshot's records
/// read from its bytes one at a time (`against::Subset`), without copying the others.
pub trait Records: Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The path of record `i`.
    fn path(&self, i: usize) -> &[u8];
    /// Record `i`, perhaps without its line hashes and kept content (see [`Records::whole`]).
    fn get(&self, i: usize) -> Cow<'_, Record>;
    /// Record `i` with its line hashes and kept content: what showing a content change
    /// needs, and only that (a snapshot keeps them apart, read when first needed).
    fn whole(&self, i: usize) -> Cow<'_, Record> {
        self.get(i)
    }
    /// How many entries lie below record `i`, a directory, when none of them is in this list
    /// (a removed tree, counted without reading it), and whether code is among them; `None`
    /// when they are listed after it.
    fn below(&self, _i: usize) -> Option<(usize, bool)> {
        None
    }
    /// Whether record `i` says what `rec` says in everything a comparison looks at (type,
    /// content hash, symlink target, mode, owner).
    fn same_as(&self, i: usize, rec: &Record) -> bool {
        let r = self.get(i);
        (r.kind, r.hash, &r.target, r.perm, r.uid, r.gid)
            == (rec.kind, rec.hash, &rec.target, rec.perm, rec.uid, rec.gid)
    }
}

impl Records for [Record] {
    fn len(&self) -> usize {
        <[Record]>::len(self)
    }
    fn path(&self, i: usize) -> &[u8] {
        &self[i].path
    }
    fn get(&self, i: usize) -> Cow<'_, Record> {
        Cow::Borrowed(&self[i])
    }
}

impl Records for Vec<Record> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }
    fn path(&self, i: usize) -> &[u8] {
        &self[i].path
    }
    fn get(&self, i: usize) -> Cow<'_, Record> {
        Cow::Borrowed(&self[i])
    }
}

/// Path order with `/` before every other byte, so that a directory's entries follow it
/// without a gap (`a/b`, `a/b/c`, `a/b-x`): what lets the merge fold a removed tree into one line.
pub fn path_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    // The common prefix eight bytes at a time: this runs for every lookup and every sort step.
    let mut i = 0;
    while i + 8 <= n && a[i..i + 8] == b[i..i + 8] {
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    if i == n {
        return a.len().cmp(&b.len());
    }
    let key = |c: u8| if c == b'/' { 0 } else { c };
    key(a[i]).cmp(&key(b[i]))
}

/// What one scan covers: a root and what it leaves out.
pub struct Scope {
    pub root: PathBuf,
    pub exclude: Excludes,
    pub one_file_system: bool,
}

/// How to scan.
pub struct ScanOptions<'a> {
    pub key: &'a Key,
    /// Read and hash every file, whatever its stat says (`diff --verify`); [`scan`] always
    /// does.
    pub verify: bool,
    /// Keep the content of text files (not `.env*`) in the records.
    pub keep_content: bool,
    pub threads: usize,
}

/// What a scan saw.
pub struct Scanned {
    /// Sorted by [`path_cmp`].
    pub records: Vec<Record>,
    /// Parts of the tree that could not be read, one sentence each.
    pub unread: Vec<String>,
    /// Files read and hashed.
    pub hashed: u64,
}

/// Walk every scope and return its records, sorted, every file read and hashed (what
/// `snapshot` records). A root that does not exist has no records.
pub fn scan(scopes: &[Scope], opts: &ScanOptions<'_>) -> Scanned {
    let mut out = Scanned {
        records: Vec::new(),
        unread: Vec::new(),
        hashed: 0,
    };
    for scope in scopes {
        let (root, wopts) = match open_scope(scope, opts) {
            None => continue,
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                out.unread.push(e.describe());
                continue;
            }
        };
        let visitor = TreeVisitor {
            scope,
            root: &root.path,
            opts,
            records: Mutex::new(Vec::with_capacity(1 << 16)),
            errors: Mutex::new(Vec::new()),
            hashed: std::sync::atomic::AtomicU64::new(0),
        };
        if let Err(e) = walk::walk_root(&root, (), &visitor, &wopts) {
            out.unread.push(e.describe());
        }
        let records = visitor.records.into_inner().expect("records lock");
        if out.records.is_empty() {
            // Moved, not copied: tens of megabytes for a large tree.
            out.records = records;
        } else {
            out.records.extend(records);
        }
        out.unread
            .extend(visitor.errors.into_inner().expect("errors lock"));
        out.hashed += visitor.hashed.into_inner();
    }
    sort(&mut out.records);
    // Overlapping roots (one inside another) list their shared entries twice.
    out.records.dedup_by(|a, b| a.path == b.path);
    out
}

/// A scope's root opened, and how it is walked (the same for `snapshot` and `diff`, which
/// must see the same entries): `None` when the root does not exist (it has no records).
pub(super) fn open_scope(
    scope: &Scope,
    opts: &ScanOptions<'_>,
) -> Option<Result<(walk::Root, walk::Options), WalkError>> {
    let root = match walk::Root::open(&scope.root) {
        Ok(r) => r,
        Err(e) if e.errno == rustix::io::Errno::NOENT => return None,
        Err(e) => return Some(Err(e)),
    };
    let wopts = walk::Options {
        one_file_system: scope.one_file_system,
        deadline: None,
        threads: opts.threads.max(1),
    };
    Some(Ok((root, wopts)))
}

/// Sort by [`path_cmp`]: the paths with their indices (a record is ten times larger than
/// that pair, and moving records dominated the sort), then each record swapped into place.
fn sort(records: &mut [Record]) {
    let mut pairs: Vec<(&[u8], usize)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.path.as_slice(), i))
        .collect();
    pairs.sort_unstable_by(|a, b| path_cmp(a.0, b.0));
    // `from[k]`: where the record that belongs at `k` is now. Each cycle of the permutation
    // is followed once; a place done points at itself.
    let mut from: Vec<usize> = pairs.into_iter().map(|(_, i)| i).collect();
    for start in 0..from.len() {
        let mut k = start;
        while from[k] != k {
            let src = from[k];
            from[k] = k;
            if src == start {
                break;
            }
            records.swap(k, src);
            k = src;
        }
    }
}

struct TreeVisitor<'a> {
    scope: &'a Scope,
    root: &'a Path,
    opts: &'a ScanOptions<'a>,
    records: Mutex<Vec<Record>>,
    errors: Mutex<Vec<String>>,
    hashed: std::sync::atomic::AtomicU64,
}

impl walk::Visitor<()> for TreeVisitor<'_> {
    fn visit(&self, e: &Entry<'_>, _: ()) -> Option<()> {
        if excluded(self.scope, self.root, e) {
            return None;
        }
        let mut rec = record(e);
        if rec.kind == EntryKind::File {
            self.hashed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if let Err(error) = read_at(e, self.opts, &mut rec) {
            self.error(error);
        }
        self.records.lock().expect("records lock").push(rec);
        (EntryKind::of(&e.meta) == EntryKind::Dir).then_some(())
    }

    fn error(&self, error: WalkError) {
        self.errors
            .lock()
            .expect("errors lock")
            .push(error.describe());
    }
}

/// Whether the scope leaves this entry out (never its root).
pub(super) fn excluded(scope: &Scope, root: &Path, e: &Entry<'_>) -> bool {
    e.depth > 0 && !scope.exclude.is_empty() && scope.exclude.matches(root, e.path, e.name)
}

/// An entry's record from what the walk saw: no hash, no symlink target yet ([`read_at`]).
pub(super) fn record(e: &Entry<'_>) -> Record {
    let m = &e.meta;
    Record {
        path: e.path.as_os_str().as_bytes().to_vec(),
        kind: EntryKind::of(m),
        perm: m.perm(),
        uid: m.uid,
        gid: m.gid,
        size: m.size,
        ino: m.ino,
        mtime: (m.mtime, m.mtime_nsec),
        ctime: (m.ctime, m.ctime_nsec),
        hash: None,
        target: None,
        lines: None,
        content: None,
        unreadable: false,
    }
}

/// Fill in what reading the entry gives, through its directory's handle: a regular file's
/// hashes (the file opened without following a symlink and non-blocking, so a FIFO swapped
/// in is never waited on), a symlink's target. A file that cannot be read is marked so.
pub(super) fn read_at(
    e: &Entry<'_>,
    opts: &ScanOptions<'_>,
    rec: &mut Record,
) -> Result<(), WalkError> {
    let fail = |errno| WalkError {
        path: e.path.to_path_buf(),
        errno,
    };
    match rec.kind {
        EntryKind::File => {
            let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
            let read = rustix::fs::openat(e.at, e.at_name, flags, Mode::empty())
                .and_then(|fd| read_hashes(fd, opts, rec.size));
            match read {
                Ok(h) => set(rec, h, opts.keep_content),
                Err(errno) => {
                    rec.unreadable = true;
                    return Err(fail(errno));
                }
            }
        }
        EntryKind::Symlink => {
            let t = rustix::fs::readlinkat(e.at, e.at_name, Vec::new()).map_err(fail)?;
            rec.target = Some(t.into_bytes());
        }
        _ => {}
    }
    Ok(())
}

fn set(rec: &mut Record, (hash, lines, content): Hashes, keep: bool) {
    rec.hash = Some(hash);
    rec.lines = lines;
    let name = rec.path.rsplit(|&c| c == b'/').next().unwrap_or(&rec.path);
    rec.content = content.filter(|_| keep && !name.starts_with(b".env"));
}

type Hashes = (Digest, Option<Vec<u32>>, Option<Vec<u8>>);

/// Files larger than this are not read to be hashed (see [`read_hashes`]).
pub const MAX_HASHED: u64 = 1024 * 1024 * 1024;

/// Hash an opened file, refusing anything but a regular file (a FIFO swapped in since the walk
/// saw it is opened non-blocking and never read).
fn read_hashes(
    fd: std::os::fd::OwnedFd,
    opts: &ScanOptions<'_>,
    size: u64,
) -> Result<Hashes, rustix::io::Errno> {
    let st = rustix::fs::fstat(&fd)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(rustix::io::Errno::NOENT);
    }
    let mut hasher = opts.key.hasher();
    if st.st_size as u64 > MAX_HASHED {
        // Not read: whoever can write the tree could make every `diff` read a sparse file
        // of terabytes. Its hash is of what the kernel says of it instead, so any change to
        // it (the change time cannot be set back) still shows as a change of its content.
        hasher.update(b"too large to read: size, mtime, ctime, inode\0");
        for n in [
            st.st_size as i64,
            st.st_mtime as i64,
            st.st_mtime_nsec as i64,
            st.st_ctime as i64,
            st.st_ctime_nsec as i64,
            st.st_ino as i64,
        ] {
            hasher.update(&n.to_le_bytes());
        }
        return Ok((Digest::of(&hasher), None, None));
    }
    let mut file = std::fs::File::from(fd);
    let io =
        |e: std::io::Error| rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO);
    if size <= lines::MAX_TEXT {
        let mut all = Vec::with_capacity(size as usize + 1);
        // One byte more than the cap: a file that grew past it is hashed whole below.
        (&mut file)
            .take(lines::MAX_TEXT + 1)
            .read_to_end(&mut all)
            .map_err(io)?;
        hasher.update(&all);
        if all.len() as u64 <= lines::MAX_TEXT {
            let hashes = lines::hashes(opts.key, &all);
            let content = (opts.keep_content && hashes.is_some()).then_some(all);
            return Ok((Digest::of(&hasher), hashes, content));
        }
    }
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok((Digest::of(&hasher), None, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_followed_by_its_entries() {
        let mut v: Vec<&[u8]> = vec![b"/a/b-x", b"/a/b/c", b"/a/b", b"/a"];
        v.sort_by(|a, b| path_cmp(a, b));
        assert_eq!(v, [&b"/a"[..], b"/a/b", b"/a/b/c", b"/a/b-x"]);
    }

    #[test]
    fn records_are_sorted_by_path() {
        let paths: Vec<Vec<u8>> = (0..500u32)
            .map(|i| format!("/r/{}/{}", (i * 7919) % 13, (i * 104_729) % 500).into_bytes())
            .collect();
        let mut records: Vec<Record> = paths
            .iter()
            .map(|p| Record {
                path: p.clone(),
                kind: EntryKind::File,
                perm: 0,
                uid: 0,
                gid: 0,
                size: p.len() as u64,
                ino: 0,
                mtime: (0, 0),
                ctime: (0, 0),
                hash: None,
                target: None,
                lines: None,
                content: None,
                unreadable: false,
            })
            .collect();
        sort(&mut records);
        let mut want = paths;
        want.sort_by(|a, b| path_cmp(a, b));
        let got: Vec<&Vec<u8>> = records.iter().map(|r| &r.path).collect();
        assert_eq!(got, want.iter().collect::<Vec<_>>());
        assert!(records.iter().all(|r| r.size == r.path.len() as u64));
    }

    #[test]
    fn a_file_past_the_hashing_cap_is_known_by_its_stat_not_read() {
        let t = tempfile::tempdir().unwrap();
        let big = t.path().join("big.log");
        // Sparse: reading it would take seconds; it must not be read.
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_HASHED * 2).unwrap();
        let key = crate::baseline::key::Key::from_bytes([5; 32]);
        let scope = Scope {
            root: t.path().to_path_buf(),
            exclude: crate::checks::Excludes::default(),
            one_file_system: true,
        };
        let opts = ScanOptions {
            key: &key,
            verify: false,
            keep_content: false,
            threads: 1,
        };
        let hash_now = || {
            let s = scan(std::slice::from_ref(&scope), &opts);
            let r = s
                .records
                .iter()
                .find(|r| r.path.ends_with(b"big.log"))
                .unwrap();
            assert_eq!(r.lines, None);
            r.hash.unwrap()
        };
        let first = hash_now();
        assert_eq!(hash_now(), first, "the same file, the same hash");
        // The same content (all zeros), another mtime: a change all the same.
        f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
        assert_ne!(hash_now(), first);
    }
}
