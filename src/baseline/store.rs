//! Where snapshots live and how one is written: a directory (readable only by its owner)
//! holding the key and one file per snapshot, each written atomically and never replaced.
//!
//! # The snapshot file (`NAME.snapshot`, version 2)
//!
//! ```text
//! sitedoctor-baseline\n        the magic line
//! {JSON header}\n              Header: version, name, created, hostname, forced,
//!                              keep_content, scopes (roots, excludes), entries, host,
//!                              extras (the length and BLAKE3 hash of the extras)
//! record × entries             binary, little-endian, sorted by path ('/' first)
//! BLAKE3(all of the above)     32 bytes: a truncated or altered file is refused
//! extras                       the records' line hashes and kept content
//! ```
//!
//! A record: `u32` path length and the path's bytes (absolute, as the kernel has them, so
//! non-UTF-8 names survive), `u8` type (0 file, 1 directory, 2 symlink, 3 other), `u32`
//! permission bits, `u32` uid, `u32` gid, `u64` size, `u64` inode, `i64`+`u32` mtime,
//! `i64`+`u32` ctime, `u8` flags (1 hash, 2 symlink target, 4 line hashes, 8 content,
//! 16 unreadable), then as flagged: the 32-byte keyed content hash; `u32` length and the
//! target; a `u64` offset into the extras of the line hashes (there: `u32` count and that
//! many 4-byte keyed line hashes); a `u64` offset into the extras of the content (there:
//! `u32` length and the content).
//!
//! The line hashes are most of a snapshot of real code (4 bytes a line, a few hundred lines
//! a file) and are needed only for a file whose content changed, so they lie apart: `diff`
//! reads and verifies the records, and the extras only when it shows changed lines. Their
//! hash is in the header, which the records' checksum covers: altered extras cost only the
//! changed lines, and `diff` says so (exit 3).
//!
//! Version 1 (still read) had no extras: the line hashes and content lay in the records.
//!
//! Every hash is keyed with the 32-byte key in `key` beside the snapshots, so neither a
//! content hash nor a line hash can be tested against guesses of a secret without it. The
//! content of files is kept only with `snapshot --keep-content` (never of `.env*` files).
//! A reader refuses a version it does not know rather than guess, and records that are not
//! absolute paths in strictly increasing order.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub(in crate::baseline) mod listing;
mod record;
mod stored;
mod stream;

pub use stored::{Stored, open};

use super::host::HostState;
use super::tree::Record;
use crate::sanitize;

/// The version this build writes (it reads this one and version 1).
pub const VERSION: u32 = 2;

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
    /// Where the line hashes and kept content are (version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extras: Option<Extras>,
}

/// The extras section at the end of a snapshot: its length, and its BLAKE3 hash (hex).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extras {
    pub len: u64,
    pub blake3: String,
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
            extras: None,
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

pub(super) fn err(path: &Path, why: impl std::fmt::Display) -> StoreError {
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

/// Serialise a snapshot (in the version this build writes).
pub fn encode(header: &Header, records: &[Record]) -> Vec<u8> {
    encode_as(VERSION, header, records).concat()
}

/// A snapshot's bytes in the order the file has them: the magic and the header, the
/// records, their checksum, the extras. Apart, so that no copy of them all is made to write
/// them.
type Parts = [Vec<u8>; 4];

/// Serialise a snapshot in format `version` (1 or 2).
fn encode_as(version: u32, header: &Header, records: &[Record]) -> Parts {
    let mut body = Vec::with_capacity(records.len() * 96);
    let mut extras = Vec::new();
    for r in records {
        put_bytes(&mut body, &r.path);
        body.push(r.kind.code());
        for v in [r.perm, r.uid, r.gid] {
            body.extend_from_slice(&v.to_le_bytes());
        }
        body.extend_from_slice(&r.size.to_le_bytes());
        body.extend_from_slice(&r.ino.to_le_bytes());
        for (s, ns) in [r.mtime, r.ctime] {
            body.extend_from_slice(&s.to_le_bytes());
            body.extend_from_slice(&ns.to_le_bytes());
        }
        let flags = r.hash.is_some() as u8
            | (r.target.is_some() as u8) << 1
            | (r.lines.is_some() as u8) << 2
            | (r.content.is_some() as u8) << 3
            | (r.unreadable as u8) << 4;
        body.push(flags);
        if let Some(h) = &r.hash {
            body.extend_from_slice(&h.0);
        }
        if let Some(t) = &r.target {
            put_bytes(&mut body, t);
        }
        // In version 1 in the record; in version 2 in the extras, the record saying where.
        let mut apart = |body: &mut Vec<u8>, data: &dyn Fn(&mut Vec<u8>)| {
            if version == 1 {
                data(body);
            } else {
                body.extend_from_slice(&(extras.len() as u64).to_le_bytes());
                data(&mut extras);
            }
        };
        if let Some(lines) = &r.lines {
            apart(&mut body, &|out| {
                out.extend_from_slice(&(lines.len() as u32).to_le_bytes());
                for l in lines {
                    out.extend_from_slice(&l.to_le_bytes());
                }
            });
        }
        if let Some(c) = &r.content {
            apart(&mut body, &|out| put_bytes(out, c));
        }
    }
    let mut header = header.clone();
    header.version = version;
    header.extras = (version > 1).then(|| Extras {
        len: extras.len() as u64,
        blake3: blake3::hash(&extras).to_hex().to_string(),
    });
    let mut head = MAGIC.to_vec();
    serde_json::to_writer(&mut head, &header).expect("a header serialises");
    head.push(b'\n');
    let mut sum = blake3::Hasher::new();
    sum.update(&head);
    sum.update(&body);
    let sum = sum.finalize().as_bytes().to_vec();
    [head, body, sum, extras]
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// The header of a snapshot's bytes, its version checked first: a file from a newer
/// sitedoctor is named as such, not as corrupt.
pub(super) fn parse_header(path: &Path, bytes: &[u8]) -> Result<(Header, usize), StoreError> {
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
        Some(v) if v == 1 || v == VERSION as u64 => {}
        Some(v) => {
            return Err(err(
                path,
                format!(
                    "format version {v}, which this sitedoctor does not know (it reads versions 1 to {VERSION}): use the sitedoctor that wrote it, or take a new snapshot"
                ),
            ));
        }
        None => return Err(err(path, "the header has no format version")),
    }
    let header: Header =
        serde_json::from_value(value).map_err(|e| err(path, format!("corrupted header ({e})")))?;
    // Version 2 has extras, version 1 none: a header that says otherwise was not written
    // by sitedoctor.
    if header.extras.is_some() != (header.version >= 2) {
        return Err(err(
            path,
            "corrupted header (its extras do not match its version); take a new one with `sitedoctor snapshot`",
        ));
    }
    Ok((header, MAGIC.len() + end + 1))
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
        let parts = encode_as(VERSION, header, records);
        tmp.as_file_mut().set_len(0)?;
        // After a name taken meanwhile, from the start again (not after a hole).
        std::io::Seek::rewind(tmp.as_file_mut())?;
        let mut out = std::io::BufWriter::new(tmp.as_file_mut());
        for part in &parts {
            out.write_all(part)?;
        }
        out.flush()?;
        drop(out);
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
    let head = head_of(&file).map_err(|e| {
        err(
            path,
            format!("cannot read it: {}", crate::sys::io_reason(&e)),
        )
    })?;
    let (header, _) = parse_header(path, &head)?;
    Ok((header, bytes))
}

/// A snapshot's first two lines (the magic and the header), at most 64 MiB of them.
pub(super) fn head_of(file: &std::fs::File) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut reader = std::io::BufReader::new(file.take(64 * 1024 * 1024));
    for _ in 0..2 {
        reader.read_until(b'\n', &mut head)?;
    }
    Ok(head)
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
    use crate::baseline::key::Digest;
    use crate::baseline::tree::EntryKind;

    fn header(entries: u64) -> Header {
        Header {
            name: "n".into(),
            ..Header::for_tests(entries)
        }
    }

    pub(super) fn record(path: &[u8]) -> Record {
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
    fn a_snapshot_of_many_parts_is_read_whole_and_refused_when_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let recs: Vec<Record> = (0..12_000)
            .map(|i| record(format!("/a/{i:05}").as_bytes()))
            .collect();
        let path = write(dir.path(), &mut header(recs.len() as u64), &recs).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let extras = open(&path).unwrap().0.extras.unwrap().len as usize;
        assert!(bytes.len() - extras > 3 * stream::PART);
        assert_eq!(open(&path).unwrap().1.to_vec(), recs);
        // Inside a record's hash: its layout stays valid, only the checksum tells.
        let mut flipped = bytes.clone();
        flipped[(bytes.len() - extras) / 2] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert!(open(&path).unwrap_err().0.contains("corrupted"));
    }

    #[test]
    fn a_record_longer_than_a_part_is_read_across_parts() {
        // Version 1 keeps line hashes in the record: a long file's record spans parts.
        let dir = tempfile::tempdir().unwrap();
        let mut long = record(b"/a/b");
        long.lines = Some((0..3 * stream::PART as u32 / 4 + 11).collect());
        let recs = vec![record(b"/a"), long, record(b"/a/c")];
        let path = dir.path().join("old.snapshot");
        std::fs::write(&path, encode_as(1, &header(3), &recs).concat()).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > 3 * stream::PART as u64);
        assert_eq!(open(&path).unwrap().1.to_vec(), recs);
        // Cut inside it (checksum made again): the records are malformed, not misread.
        let bytes = encode_as(1, &header(3), &recs[..2]).concat();
        let cut = &bytes[..bytes.len() - 32 - 100];
        let sum = blake3::hash(cut);
        std::fs::write(&path, [cut, sum.as_bytes()].concat()).unwrap();
        let e = open(&path).unwrap_err().0;
        assert!(e.contains("malformed"), "{e}");
    }

    #[test]
    fn a_header_longer_than_a_part_and_no_records_are_read() {
        let dir = tempfile::tempdir().unwrap();
        for recs in [vec![], vec![record(b"/a")]] {
            let mut h = header(recs.len() as u64);
            h.hostname = "h".repeat(stream::PART + 7);
            let path = dir.path().join("long.snapshot");
            std::fs::write(&path, encode_as(2, &h, &recs).concat()).unwrap();
            let (back, stored) = open(&path).unwrap();
            assert_eq!(back.hostname.len(), stream::PART + 7);
            assert_eq!(stored.to_vec(), recs);
        }
    }

    #[test]
    fn a_snapshot_changed_after_it_was_read_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let recs = vec![record(b"/a"), record(b"/a/b")];
        let path = write(dir.path(), &mut header(2), &recs).unwrap();
        let (_, stored) = open(&path).unwrap();
        assert_eq!(stored.changed(), None);
        assert_eq!(
            stored.record(1).unwrap(),
            Record {
                lines: None,
                content: None,
                ..recs[1].clone()
            }
        );
        // Its times changed (a write in place, which sitedoctor never does): what is read
        // from it is not trusted, even where it reads right.
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
        assert!(stored.record(1).is_some());
        assert!(stored.changed().is_some());
        let (_, stored) = open(&path).unwrap();
        assert_eq!(stored.changed(), None);
        // Cut short: a record read again is not one.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() / 2);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(bytes.len() as u64)
            .unwrap();
        assert_eq!(stored.record(1), None);
        let why = stored.changed().unwrap();
        assert!(why.contains("changed while it was being read"), "{why}");
    }

    #[test]
    fn damaged_extras_leave_the_records_usable_and_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let recs = vec![record(b"/a"), record(b"/a/b")];
        let path = write(dir.path(), &mut header(2), &recs).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let (_, stored) = open(&path).unwrap();
        assert_eq!(
            stored.extras_unread(),
            None,
            "not read before they are needed"
        );
        let got = stored.to_vec();
        assert_eq!((got[1].hash, got[1].lines.clone()), (recs[1].hash, None));
        let why = stored.extras_unread().unwrap();
        assert!(why.contains("hash does not match"), "{why}");
    }

    #[test]
    fn a_version_1_snapshot_is_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let recs = vec![record(b"/a"), record(b"/a/\xff")];
        let path = dir.path().join("old.snapshot");
        std::fs::write(&path, encode_as(1, &header(2), &recs).concat()).unwrap();
        let (back, stored) = open(&path).unwrap();
        assert_eq!((back.version, back.extras), (1, None));
        assert_eq!(stored.to_vec(), recs);
        assert_eq!(stored.extras_unread(), None);
        // And it is refused when damaged, as ever.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[60] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(open(&path).is_err());
    }

    #[test]
    fn a_header_whose_extras_do_not_match_its_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let recs = vec![record(b"/a")];
        let path = dir.path().join("x.snapshot");
        for (from, to, version) in [(2, 1, 2), (1, 2, 1)] {
            let bytes = encode_as(version, &header(1), &recs).concat();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            assert!(text.contains(&format!("\"version\":{from},")));
            let forged = bytes_replace(
                &bytes,
                format!("\"version\":{from},"),
                format!("\"version\":{to},"),
            );
            std::fs::write(&path, forged).unwrap();
            let e = open(&path).unwrap_err().0;
            assert!(e.contains("extras do not match its version"), "{e}");
        }
    }

    fn bytes_replace(bytes: &[u8], from: String, to: String) -> Vec<u8> {
        let at = bytes
            .windows(from.len())
            .position(|w| w == from.as_bytes())
            .unwrap();
        [&bytes[..at], to.as_bytes(), &bytes[at + from.len()..]].concat()
    }

    #[test]
    fn extras_that_do_not_hold_a_record_s_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let recs = vec![record(b"/a")];
        let [head, body, _, extras] = encode_as(2, &header(1), &recs);
        // Extras cut short, with a header (and so a checksum) that vouches for them: the
        // record's offsets point past them.
        let short = &extras[..2];
        let mut h: Header = parse_header(Path::new("x"), &head).unwrap().0;
        h.extras = Some(Extras {
            len: 2,
            blake3: blake3::hash(short).to_hex().to_string(),
        });
        let mut head = MAGIC.to_vec();
        serde_json::to_writer(&mut head, &h).unwrap();
        head.push(b'\n');
        let sum = blake3::hash(&[&head[..], &body[..]].concat());
        let path = dir.path().join("x.snapshot");
        std::fs::write(&path, [&head[..], &body, sum.as_bytes(), short].concat()).unwrap();
        let (_, stored) = open(&path).unwrap();
        let got = stored.to_vec();
        assert_eq!((got[0].lines.clone(), got[0].content.clone()), (None, None));
        let why = stored.extras_unread().unwrap();
        assert!(why.contains("not all where its records say"), "{why}");
    }

    #[test]
    fn a_snapshot_past_the_size_cap_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), &mut header(1), &[record(b"/a")]).unwrap();
        // A good header, then a sparse run: nothing may be allocated for it, or read.
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(17 * 1024 * 1024 * 1024).unwrap();
        let e = open(&path).unwrap_err().0;
        assert!(e.contains("cannot read it: larger than"), "{e}");
    }
}
