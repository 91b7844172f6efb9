//! Where snapshots live and how one is written: a directory (readable only by its owner)
//! holding the key and one file per snapshot, each written atomically and never replaced.
//!
//! # The snapshot file (`NAME.snapshot`, version 1)
//!
//! ```text
//! sitedoctor-baseline\n        the magic line
//! {JSON header}\n              Header: version, name, created, hostname, forced,
//!                              keep_content, scopes (roots, excludes), entries, host
//! record × entries             binary, little-endian, sorted by path ('/' first)
//! BLAKE3(all of the above)     32 bytes: a truncated or altered file is refused
//! ```
//!
//! A record: `u32` path length and the path's bytes (absolute, as the kernel has them, so
//! non-UTF-8 names survive), `u8` type (0 file, 1 directory, 2 symlink, 3 other), `u32`
//! permission bits, `u32` uid, `u32` gid, `u64` size, `u64` inode, `i64`+`u32` mtime,
//! `i64`+`u32` ctime, `u8` flags (1 hash, 2 symlink target, 4 line hashes, 8 content,
//! 16 unreadable), then as flagged: the 32-byte keyed content hash; `u32` length and the
//! target; `u32` count and that many 4-byte keyed line hashes; `u32` length and the content.
//!
//! Every hash is keyed with the 32-byte key in `key` beside the snapshots, so neither a
//! content hash nor a line hash can be tested against guesses of a secret without it. The
//! content of files is kept only with `snapshot --keep-content` (never of `.env*` files).
//! A reader refuses a version it does not know rather than guess, and records that are not
//! absolute paths in strictly increasing order.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::host::HostState;
use super::key::Digest;
use super::tree::{EntryKind, Record};
use crate::sanitize;

/// The version this build writes and reads.
pub const VERSION: u32 = 1;

const MAGIC: &[u8] = b"sitedoctor-baseline\n";
const EXT: &str = "snapshot";

/// Overrides the default baseline directory (tests, and hosts that keep state elsewhere).
pub const STATE_DIR_ENV: &str = "SITEDOCTOR_STATE_DIR";

/// What a snapshot says about itself: the JSON line after the magic.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub version: u32,
    pub name: String,
    /// RFC 3339, UTC.
    pub created: String,
    /// The same moment in milliseconds since the epoch, for ordering.
    pub created_ms: i64,
    pub hostname: String,
    /// Recorded with `--force` although checks failed.
    pub forced: bool,
    pub keep_content: bool,
    /// The worst status of the checks run before recording.
    pub worst: String,
    pub scopes: Vec<ScopeRecord>,
    pub entries: u64,
    /// The host's state beside the file tree (environment, configuration, packages...).
    #[serde(default)]
    pub host: HostState,
}

impl Header {
    pub fn created_secs(&self) -> i64 {
        self.created_ms.div_euclid(1000)
    }

    /// A header for `entries` records, taken at 2026-11-30T00:00:00Z.
    #[cfg(test)]
    pub fn for_tests(entries: u64) -> Header {
        Header {
            version: VERSION,
            name: "t".into(),
            created: "2026-11-30T00:00:00Z".into(),
            created_ms: 0,
            hostname: "h".into(),
            forced: false,
            keep_content: false,
            worst: "pass".into(),
            scopes: vec![],
            entries,
            host: HostState::default(),
        }
    }
}

/// One walked root.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScopeRecord {
    /// The root's path bytes (lossless for non-UTF-8 names).
    pub root: Vec<u8>,
    /// The same, for people.
    pub shown: String,
    pub exclude: Vec<String>,
    pub one_file_system: bool,
}

/// Why a snapshot cannot be used (exit 78).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

fn err(path: &Path, why: impl std::fmt::Display) -> StoreError {
    StoreError(format!("snapshot {}: {why}", sanitize::path(path)))
}

/// The baseline directory: `--baseline`, else `$SITEDOCTOR_STATE_DIR`, else
/// `/var/lib/sitedoctor` as root, else `$XDG_STATE_HOME/sitedoctor` or
/// `~/.local/state/sitedoctor`.
pub fn default_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(STATE_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/lib/sitedoctor");
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("sitedoctor");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/".into());
    PathBuf::from(home).join(".local/state/sitedoctor")
}

/// Serialise a snapshot.
pub fn encode(header: &Header, records: &[Record]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + records.len() * 96);
    out.extend_from_slice(MAGIC);
    serde_json::to_writer(&mut out, header).expect("a header serialises");
    out.push(b'\n');
    for r in records {
        put_bytes(&mut out, &r.path);
        out.push(r.kind.code());
        for v in [r.perm, r.uid, r.gid] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&r.size.to_le_bytes());
        out.extend_from_slice(&r.ino.to_le_bytes());
        for (s, ns) in [r.mtime, r.ctime] {
            out.extend_from_slice(&s.to_le_bytes());
            out.extend_from_slice(&ns.to_le_bytes());
        }
        let flags = r.hash.is_some() as u8
            | (r.target.is_some() as u8) << 1
            | (r.lines.is_some() as u8) << 2
            | (r.content.is_some() as u8) << 3
            | (r.unreadable as u8) << 4;
        out.push(flags);
        if let Some(h) = &r.hash {
            out.extend_from_slice(&h.0);
        }
        if let Some(t) = &r.target {
            put_bytes(&mut out, t);
        }
        if let Some(lines) = &r.lines {
            out.extend_from_slice(&(lines.len() as u32).to_le_bytes());
            for l in lines {
                out.extend_from_slice(&l.to_le_bytes());
            }
        }
        if let Some(c) = &r.content {
            put_bytes(&mut out, c);
        }
    }
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// The header of a snapshot's bytes, its version checked first: a file from a newer
/// sitedoctor is named as such, not as corrupt.
fn parse_header(path: &Path, bytes: &[u8]) -> Result<(Header, usize), StoreError> {
    let rest = bytes.strip_prefix(MAGIC).ok_or_else(|| {
        err(
            path,
            "not a sitedoctor snapshot (it does not start with `sitedoctor-baseline`)",
        )
    })?;
    let end = memchr::memchr(b'\n', rest).ok_or_else(|| {
        err(
            path,
            "truncated: the header is incomplete; take a new one with `sitedoctor snapshot`",
        )
    })?;
    let value: serde_json::Value = serde_json::from_slice(&rest[..end]).map_err(|e| {
        err(
            path,
            format!("corrupted header ({e}); take a new one with `sitedoctor snapshot`"),
        )
    })?;
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == VERSION as u64 => {}
        Some(v) => {
            return Err(err(
                path,
                format!(
                    "format version {v}, which this sitedoctor does not know (it reads version {VERSION}): use the sitedoctor that wrote it, or take a new snapshot"
                ),
            ));
        }
        None => return Err(err(path, "the header has no format version")),
    }
    let header: Header =
        serde_json::from_value(value).map_err(|e| err(path, format!("corrupted header ({e})")))?;
    Ok((header, MAGIC.len() + end + 1))
}

/// A snapshot's records as the file has them: its bytes, read once into one buffer, and
/// where each record starts. A record becomes a [`Record`] only when it is asked for, so
/// reading a snapshot of hundreds of thousands of entries allocates nothing per entry.
pub struct Stored {
    bytes: Vec<u8>,
    starts: Vec<usize>,
    dirs: Vec<Span>,
}

/// A directory's record and its subtree's, by record number: the records from `idx` up to
/// (not including) `end` are the directory and everything below it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    pub idx: usize,
    pub end: usize,
    /// The next directory after the subtree's (in [`Stored::dirs`]).
    pub next: usize,
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
    pub(super) fn starts(&self) -> &[usize] {
        &self.starts
    }

    /// The directories' records and subtrees, in path order.
    pub(super) fn dirs(&self) -> &[Span] {
        &self.dirs
    }

    /// The record starting at byte `at` (one of [`Stored::starts`]).
    pub(super) fn raw_at(&self, at: usize) -> Raw<'_> {
        Cursor {
            buf: &self.bytes[..self.bytes_end()],
            at,
        }
        .record()
        .expect("every record was checked when the snapshot was read")
    }

    /// The path of the record starting at byte `at`, without reading the rest of it.
    pub(super) fn path_at(&self, at: usize) -> &[u8] {
        let n = u32::from_le_bytes(
            self.bytes[at..at + 4]
                .try_into()
                .expect("four bytes are a u32"),
        ) as usize;
        &self.bytes[at + 4..at + 4 + n]
    }

    /// Where the records end (the checksum follows).
    fn bytes_end(&self) -> usize {
        self.bytes.len() - 32
    }

    /// Whether the record at byte `at` says what `rec` says in everything a comparison
    /// looks at (see [`Records::same_as`]).
    pub(super) fn same_as_at(&self, at: usize, rec: &Record) -> bool {
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
        parse(Path::new("t"), encode(&header, records))
            .expect("encoded records parse")
            .1
    }

    /// Every record, as a list.
    #[cfg(test)]
    pub fn to_vec(&self) -> Vec<Record> {
        self.starts
            .iter()
            .map(|&at| self.raw_at(at).owned())
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

/// Read a whole snapshot: its header, and its records with every record's layout and their
/// order checked while (on another thread) its checksum is verified. A snapshot that fails
/// either is refused whole: nothing read from it is shown or acted on.
pub fn open(path: &Path) -> Result<(Header, Stored), StoreError> {
    let threads = crate::walk::default_threads();
    let bytes = crate::sys::bigread::read(path, 16 * 1024 * 1024 * 1024, threads).map_err(|e| {
        if e.is_not_found() {
            err(path, "no such file; take one with `sitedoctor snapshot`")
        } else {
            err(path, format!("cannot read it: {e}"))
        }
    })?;
    parse(path, bytes)
}

/// Below this the checksum is verified on the reading thread: a thread costs more.
const VERIFY_APART_FROM: usize = 1024 * 1024;

/// A snapshot's header and records from its bytes (see [`open`]).
fn parse(path: &Path, bytes: Vec<u8>) -> Result<(Header, Stored), StoreError> {
    let (header, body) = parse_header(path, &bytes)?;
    let Some(end) = bytes.len().checked_sub(32).filter(|&end| end >= body) else {
        return Err(damaged(path));
    };
    let (data, sum) = bytes.split_at(end);
    let intact = || blake3::hash(data).as_bytes() == sum;
    let (intact, layout) = if bytes.len() < VERIFY_APART_FROM {
        (intact(), records(path, &bytes[..end], body, header.entries))
    } else {
        std::thread::scope(|s| {
            let verifying = s.spawn(intact);
            let layout = records(path, &bytes[..end], body, header.entries);
            (
                verifying.join().expect("verifying a snapshot panicked"),
                layout,
            )
        })
    };
    if !intact {
        return Err(damaged(path));
    }
    let (starts, dirs) = layout?;
    Ok((
        header,
        Stored {
            bytes,
            starts,
            dirs,
        },
    ))
}

/// Where each of the `entries` records in `buf[body..]` starts, and each directory's span.
fn records(
    path: &Path,
    buf: &[u8],
    body: usize,
    entries: u64,
) -> Result<(Vec<usize>, Vec<Span>), StoreError> {
    let mut cur = Cursor { buf, at: body };
    let mut starts = Vec::with_capacity(entries.min(10_000_000) as usize);
    let mut dirs: Vec<Span> = Vec::new();
    // The directories the current record may be below: records are in path order with '/'
    // first, so a directory's subtree follows it.
    let mut open: Vec<(usize, &[u8])> = Vec::new();
    // Absolute paths in strictly increasing order: what every reader relies on (a lookup
    // by directory, the merge), checked rather than trusted.
    let mut prev: &[u8] = b"";
    for idx in 0..usize::try_from(entries).map_err(|_| malformed(path))? {
        starts.push(cur.at);
        let r = cur.record().ok_or_else(|| malformed(path))?;
        // No NUL either: the kernel's paths have none, and `path_cmp` ranks it with '/'.
        if !r.path.starts_with(b"/")
            || memchr::memchr(0, r.path).is_some()
            || super::tree::path_cmp(prev, r.path) != std::cmp::Ordering::Less
        {
            return Err(err(
                path,
                "its records are out of order or not absolute paths; take a new one with `sitedoctor snapshot`",
            ));
        }
        prev = r.path;
        while let Some(&(d, dir)) = open.last() {
            if super::diff::is_below(r.path, dir) {
                break;
            }
            dirs[d].end = idx;
            dirs[d].next = dirs.len();
            open.pop();
        }
        if r.kind == EntryKind::Dir {
            open.push((dirs.len(), r.path));
            dirs.push(Span {
                idx,
                end: 0,
                next: 0,
            });
        }
    }
    if cur.at != buf.len() {
        return Err(malformed(path));
    }
    for (d, _) in open {
        dirs[d].end = starts.len();
        dirs[d].next = dirs.len();
    }
    Ok((starts, dirs))
}

/// A record as it lies in the file's bytes.
pub(super) struct Raw<'a> {
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
    pub(super) fn owned(&self) -> Record {
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
            let n = self.u32()? as usize;
            Some(self.take(n.checked_mul(4)?)?)
        } else {
            None
        };
        let content = if flags & 8 != 0 {
            Some(self.bytes()?)
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

/// Write a snapshot into `dir` under a new name (never over an existing file): a temporary
/// file, mode 0600, synced, then linked into place. Returns its path.
pub fn write(dir: &Path, header: &mut Header, records: &[Record]) -> std::io::Result<PathBuf> {
    let base = header.name.clone();
    let mut tmp = tempfile::Builder::new()
        .prefix(".snapshot-")
        .tempfile_in(dir)?;
    for n in 1.. {
        let name = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        header.name = name.clone();
        let target = dir.join(format!("{name}.{EXT}"));
        if target.exists() {
            continue;
        }
        let bytes = encode(header, records);
        tmp.as_file_mut().set_len(0)?;
        tmp.as_file_mut().write_all(&bytes)?;
        tmp.as_file_mut().sync_all()?;
        match tmp.persist_noclobber(&target) {
            Ok(_) => return Ok(target),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => tmp = e.file,
            Err(e) => return Err(e.error),
        }
    }
    unreachable!("some name is free")
}

/// A snapshot in the directory, by its header.
#[derive(Debug, Clone)]
pub struct Listed {
    pub path: PathBuf,
    pub header: Header,
    pub bytes: u64,
}

/// A file named like a snapshot that cannot be read as one, and why.
pub type Bad = (PathBuf, String);

/// The snapshots in `dir`, oldest first, and the files that are not readable snapshots.
pub fn list(dir: &Path) -> Result<(Vec<Listed>, Vec<Bad>), StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((vec![], vec![])),
        Err(e) => {
            return Err(StoreError(format!(
                "cannot read the baseline directory {}: {}",
                sanitize::path(dir),
                crate::sys::io_reason(&e)
            )));
        }
    };
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().is_none_or(|x| x != EXT) {
            continue;
        }
        match read_header(&path) {
            Ok((header, bytes)) => out.push(Listed {
                path,
                header,
                bytes,
            }),
            Err(e) => bad.push((path, e.0)),
        }
    }
    out.sort_by(|a, b| {
        (a.header.created_ms, &a.header.name).cmp(&(b.header.created_ms, &b.header.name))
    });
    bad.sort();
    Ok((out, bad))
}

/// Only the header of a snapshot (for `--list` and for choosing one).
pub fn read_header(path: &Path) -> Result<(Header, u64), StoreError> {
    let file = crate::sys::readcap::open_regular(path)
        .map_err(|e| err(path, format!("cannot read it: {e}")))?;
    let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut head = Vec::new();
    let mut reader = std::io::BufReader::new(file.take(64 * 1024 * 1024));
    for _ in 0..2 {
        reader.read_until(b'\n', &mut head).map_err(|e| {
            err(
                path,
                format!("cannot read it: {}", crate::sys::io_reason(&e)),
            )
        })?;
    }
    let (header, _) = parse_header(path, &head)?;
    Ok((header, bytes))
}

/// Which snapshot `diff --since` means: a name, else a time (RFC 3339, `YYYY-MM-DD`, or an
/// age like `2h`): the newest taken at or before it. Without `since`: the newest.
pub fn choose<'l>(listed: &'l [Listed], since: Option<&str>) -> Result<&'l Listed, String> {
    let Some(since) = since else {
        return listed
            .last()
            .ok_or_else(|| "there is no snapshot yet".to_string());
    };
    if let Some(l) = listed.iter().find(|l| l.header.name == since) {
        return Ok(l);
    }
    let at_ms = parse_time(since).ok_or_else(|| {
        format!(
            "--since {since:?} is neither a snapshot's name ({}) nor a time (like 2026-11-30T10:00:00Z, 2026-11-30 or 2h)",
            names(listed)
        )
    })?;
    listed
        .iter()
        .rev()
        .find(|l| l.header.created_ms <= at_ms)
        .ok_or_else(|| format!("no snapshot was taken at or before {since}"))
}

fn names(listed: &[Listed]) -> String {
    if listed.is_empty() {
        return "there are none".into();
    }
    listed
        .iter()
        .map(|l| l.header.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Milliseconds since the epoch of a time as `--since` takes it.
fn parse_time(text: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        // The end of that day, UTC: "since the 30th" means the last snapshot of that day.
        return Some(d.and_hms_opt(23, 59, 59)?.and_utc().timestamp_millis() + 999);
    }
    // The units every duration in sitedoctor takes (capped at 10 years: no overflow below).
    let ago = crate::units::parse_duration(text).ok()?;
    Some(chrono::Utc::now().timestamp_millis() - ago.as_millis() as i64)
}

/// Keep the newest `keep` snapshots, remove the others; returns the names removed.
pub fn prune(listed: &[Listed], keep: usize) -> Result<Vec<String>, String> {
    let n = listed.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for l in &listed[..n] {
        std::fs::remove_file(&l.path).map_err(|e| {
            format!(
                "cannot remove {}: {}",
                sanitize::path(&l.path),
                crate::sys::io_reason(&e)
            )
        })?;
        removed.push(l.header.name.clone());
    }
    Ok(removed)
}

/// A new snapshot's name: its UTC time, `20261130T101500Z`.
pub fn new_name(now: chrono::DateTime<chrono::Utc>) -> String {
    now.format("%Y%m%dT%H%M%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(entries: u64) -> Header {
        Header {
            name: "n".into(),
            ..Header::for_tests(entries)
        }
    }

    fn record(path: &[u8]) -> Record {
        Record {
            path: path.to_vec(),
            kind: EntryKind::File,
            perm: 0o644,
            uid: 1,
            gid: 2,
            size: 3,
            ino: 4,
            mtime: (5, 6),
            ctime: (-7, 8),
            hash: Some(Digest([9; 32])),
            target: None,
            lines: Some(vec![1, 2, u32::MAX]),
            content: Some(b"x\n".to_vec()),
            unreadable: false,
        }
    }

    #[test]
    fn round_trips_and_refuses_any_damage() {
        let dir = tempfile::tempdir().unwrap();
        let recs = vec![record(b"/a"), record(b"/a/\xff")];
        let mut h = header(2);
        let path = write(dir.path(), &mut h, &recs).unwrap();
        let (back, got) = open(&path).unwrap();
        assert_eq!(got.to_vec(), recs);
        assert_eq!(back.name, "n");
        let again = write(dir.path(), &mut header(2), &recs).unwrap();
        assert!(again.ends_with("n-2.snapshot"), "{}", again.display());
        let bytes = std::fs::read(&path).unwrap();
        for cut in [bytes.len() - 1, bytes.len() - 40, 30] {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            assert!(open(&path).unwrap_err().0.contains("truncated"));
        }
        let mut flipped = bytes.clone();
        let last = flipped.len() - 50;
        flipped[last] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert!(open(&path).unwrap_err().0.contains("corrupted"));
    }

    #[test]
    fn records_out_of_order_or_relative_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for recs in [
            vec![record(b"/b"), record(b"/a")],
            vec![record(b"/a"), record(b"/a")],
            vec![record(b"a")],
            vec![record(b"/a\0b")],
        ] {
            let path = write(dir.path(), &mut header(recs.len() as u64), &recs).unwrap();
            let e = open(&path).unwrap_err().0;
            assert!(e.contains("out of order or not absolute"), "{e}");
            std::fs::remove_file(path).unwrap();
        }
    }

    #[test]
    fn a_large_snapshot_verified_beside_its_layout_is_refused_when_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let recs: Vec<Record> = (0..40)
            .map(|i| Record {
                content: Some(vec![b'x'; 32 * 1024]),
                ..record(format!("/a/{i:03}").as_bytes())
            })
            .collect();
        let path = write(dir.path(), &mut header(40), &recs).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.len() > VERIFY_APART_FROM);
        assert_eq!(open(&path).unwrap().1.to_vec(), recs);
        // Inside a record's content: its layout stays valid, only the checksum tells.
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert!(open(&path).unwrap_err().0.contains("corrupted"));
    }
}
