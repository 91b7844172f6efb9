//! `diff`'s walk: the tree walked again against a snapshot's records, each entry looked up
//! by its path in the snapshot as the walk meets it. Only what differs is kept, so an
//! unchanged tree costs one lookup per entry: no record, no allocation and no sort of the
//! whole tree, and a file is read only when its size, mtime, ctime or inode changed (or with
//! `--verify`).

use std::cmp::Ordering;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use super::diff::{self, TreeChange};
use super::store::Stored;
use super::tree::{self, EntryKind, Record, Records, ScanOptions, Scope, path_cmp};
use crate::walk::{self, Entry, Visitor, WalkError};

/// What walking against a snapshot found.
pub struct Walked {
    /// In path order, as [`diff::compare`] gives them.
    pub changes: Vec<TreeChange>,
    /// Parts of the tree that could not be read, one sentence each.
    pub unread: Vec<String>,
    /// Files read and hashed.
    pub hashed: u64,
}

/// Walk every scope against `stored` and compare. `verify` runs meanwhile on another thread,
/// while the snapshot is indexed: the walk starts (and reads files) only when it says the
/// snapshot is intact, and `None` is returned when it is not.
pub fn walk(
    stored: &Stored,
    scopes: &[Scope],
    opts: &ScanOptions<'_>,
    verify: impl FnOnce() -> bool + Send,
) -> Option<Walked> {
    let (intact, index) = std::thread::scope(|s| {
        let intact = s.spawn(verify);
        let index = Index::new(stored);
        (
            intact.join().expect("verifying the snapshot panicked"),
            index,
        )
    });
    if !intact {
        return None;
    }
    // By the index's slot, not the record: the slot is what a lookup has at hand.
    let seen: Vec<AtomicU64> = (0..index.table.len().div_ceil(64))
        .map(|_| AtomicU64::new(0))
        .collect();
    let mut unread = Vec::new();
    let mut kept: Vec<(Record, Option<usize>)> = Vec::new();
    let mut failed: Vec<Vec<u8>> = Vec::new();
    let mut hashed = 0;
    for scope in scopes {
        let root = match walk::Root::open(&scope.root) {
            Ok(r) => r,
            // Its records are not seen: the root and everything below it were removed.
            Err(e) if e.errno == rustix::io::Errno::NOENT => continue,
            Err(e) => {
                failed.push(scope.root.as_os_str().as_bytes().to_vec());
                unread.push(e.describe());
                continue;
            }
        };
        let visitor = Against {
            scope,
            root: &root.path,
            opts,
            index: &index,
            seen: &seen,
            kept: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
            hashed: AtomicU64::new(0),
        };
        let wopts = walk::Options {
            one_file_system: scope.one_file_system,
            deadline: None,
            threads: opts.threads.max(1),
        };
        if let Err(e) = walk::walk_root(&root, Place::In(ROOTS), &visitor, &wopts) {
            failed.push(e.path.as_os_str().as_bytes().to_vec());
            unread.push(e.describe());
        }
        kept.extend(visitor.kept.into_inner().expect("kept lock"));
        for (path, why) in visitor.errors.into_inner().expect("errors lock") {
            failed.push(path);
            unread.push(why);
        }
        hashed += visitor.hashed.into_inner();
    }
    // Now's side: what differs, in path order; overlapping roots saw some entries twice.
    kept.sort_unstable_by(|a, b| path_cmp(&a.0.path, &b.0.path));
    kept.dedup_by(|a, b| a.0.path == b.0.path);
    // The snapshot's side: the records of what differs, and those not seen again — removed,
    // unless below a part that could not be read now (those are "not compared", in `unread`).
    failed.sort_unstable_by(|a, b| path_cmp(a, b));
    let mut unseen: Vec<usize> = Vec::new();
    for (w, bits) in seen.iter().enumerate() {
        let mut left = !bits.load(AtomicOrdering::Relaxed);
        while left != 0 {
            let slot = w * 64 + left.trailing_zeros() as usize;
            left &= left - 1;
            if let Some(&at) = index.table.get(slot).filter(|&&at| at != NONE) {
                unseen.push(at as usize);
            }
        }
    }
    // Records lie in path order: their offsets sort them.
    unseen.sort_unstable();
    let mut f = 0;
    unseen.retain(|&at| {
        let path = stored.path_at(at);
        // Both in path order, and what is below a path follows it.
        while f < failed.len()
            && path_cmp(&failed[f], path) == Ordering::Less
            && !is_at_or_below(path, &failed[f])
        {
            f += 1;
        }
        f == failed.len() || !is_at_or_below(path, &failed[f])
    });
    let mut old = unseen;
    old.extend(kept.iter().filter_map(|(_, at)| *at));
    old.sort_unstable();
    old.dedup();
    let now: Vec<Record> = kept.into_iter().map(|(r, _)| r).collect();
    Some(Walked {
        changes: diff::compare(&Subset { stored, at: &old }, &now),
        unread,
        hashed,
    })
}

fn is_at_or_below(path: &[u8], dir: &[u8]) -> bool {
    path == dir || diff::is_below(path, dir)
}

/// Some of a snapshot's records, by where they start in its bytes, in path order.
struct Subset<'a> {
    stored: &'a Stored,
    at: &'a [usize],
}

impl Records for Subset<'_> {
    fn len(&self) -> usize {
        self.at.len()
    }
    fn path(&self, i: usize) -> &[u8] {
        self.stored.path_at(self.at[i])
    }
    fn get(&self, i: usize) -> std::borrow::Cow<'_, Record> {
        std::borrow::Cow::Owned(self.stored.raw_at(self.at[i]).owned())
    }
    fn same_as(&self, i: usize, rec: &Record) -> bool {
        self.stored.same_as_at(self.at[i], rec)
    }
}

/// Each record by its directory and name. Every directory of the snapshot has its own
/// region of one table, holding where its entries' records start in the snapshot's bytes:
/// the entries of a directory are looked up one after another, so the region and their
/// records (which lie together) stay in the cache. Roots (records without a directory in the
/// snapshot) are in a region of their own, by their whole path. Names come from whoever can
/// create files in the tree, so the hash is SipHash with a random key: no set of names makes
/// lookups slow.
struct Index<'a> {
    stored: &'a Stored,
    /// Open addressing, linear probing within each region, at most half full; [`NONE`] is an
    /// empty slot.
    table: Vec<u64>,
    /// `[0]`: the roots' region; then each directory record's, in record order.
    dirs: Vec<Dir>,
    keys: std::hash::RandomState,
}

struct Dir {
    /// Where the directory's record starts ([`NONE`] for the roots' region).
    at: u64,
    /// Its region: `table[start..start + mask + 1]`, or none (`mask` 0) for a directory that
    /// had no entries.
    start: usize,
    mask: usize,
    /// How many bytes of an entry's path come before its name.
    skip: usize,
    /// Where the records of the directory's subtree end (they follow its own).
    end: u64,
}

const NONE: u64 = u64::MAX;

/// The region of the records without a directory in the snapshot.
const ROOTS: u32 = 0;

impl<'a> Index<'a> {
    fn new(stored: &'a Stored) -> Index<'a> {
        let starts = stored.starts();
        let mut dirs = vec![Dir {
            at: NONE,
            start: 0,
            mask: 0,
            skip: 0,
            end: 0,
        }];
        // Each record's directory: records are in path order with '/' first, so a
        // directory's subtree follows it and a stack of open directories finds them.
        let mut parent: Vec<u32> = Vec::with_capacity(starts.len());
        let mut open: Vec<u32> = Vec::new();
        for &at in starts {
            let path = stored.path_at(at);
            while let Some(&d) = open.last() {
                let dir = stored.path_at(dirs[d as usize].at as usize);
                if diff::is_below(path, dir) {
                    break;
                }
                dirs[d as usize].end = at as u64;
                open.pop();
            }
            // A root inside another root whose directory is not recorded (it was excluded)
            // is among the roots, by its whole path, as `find_root` looks for it.
            let d = open
                .last()
                .copied()
                .filter(|&d| !path[dirs[d as usize].skip..].contains(&b'/'))
                .unwrap_or(ROOTS);
            parent.push(d);
            if stored.kind_at(at) == EntryKind::Dir {
                open.push(dirs.len() as u32);
                dirs.push(Dir {
                    at: at as u64,
                    start: 0,
                    mask: 0,
                    skip: path.len() + usize::from(!path.ends_with(b"/")),
                    end: 0,
                });
            }
        }
        let last = stored.bytes_end() as u64;
        for d in open {
            dirs[d as usize].end = last;
        }
        let mut count = vec![0usize; dirs.len()];
        for &d in &parent {
            count[d as usize] += 1;
        }
        let mut end = 0;
        for (dir, &c) in dirs.iter_mut().zip(&count) {
            let size = if c == 0 {
                0
            } else {
                (2 * c).next_power_of_two()
            };
            dir.start = end;
            dir.mask = size.saturating_sub(1);
            end += size;
        }
        let mut index = Index {
            stored,
            table: vec![NONE; end],
            dirs,
            keys: std::hash::RandomState::new(),
        };
        for (&at, &d) in starts.iter().zip(&parent) {
            let dir = &index.dirs[d as usize];
            let name = &stored.path_at(at)[dir.skip..];
            let mut h = index.hash(name);
            while index.table[dir.start + (h & dir.mask)] != NONE {
                h = h.wrapping_add(1);
            }
            index.table[dir.start + (h & dir.mask)] = at as u64;
        }
        index
    }

    fn hash(&self, name: &[u8]) -> usize {
        use std::hash::BuildHasher;
        self.keys.hash_one(name) as usize
    }

    /// The slot of the record of `name` in directory `d` (in [`ROOTS`], a whole path).
    fn find(&self, d: u32, name: &[u8]) -> Option<usize> {
        let dir = &self.dirs[d as usize];
        if dir.mask == 0 {
            // A directory that had no entries (a region has at least two slots).
            return None;
        }
        let mut h = self.hash(name);
        loop {
            let slot = dir.start + (h & dir.mask);
            let at = self.table[slot];
            if at == NONE {
                return None;
            }
            if &self.stored.path_at(at as usize)[dir.skip..] == name {
                return Some(slot);
            }
            h = h.wrapping_add(1);
        }
    }

    /// The slot of a root's record: in the roots' region, or (a root inside another root)
    /// in its directory's.
    fn find_root(&self, path: &[u8]) -> Option<usize> {
        if let Some(slot) = self.find(ROOTS, path) {
            return Some(slot);
        }
        let cut = path.iter().rposition(|&c| c == b'/')?;
        let (parent, name) = (&path[..cut.max(1)], &path[cut + 1..]);
        let starts = self.stored.starts();
        let i = starts
            .binary_search_by(|&at| path_cmp(self.stored.path_at(at), parent))
            .ok()?;
        self.find(self.dir(starts[i])?, name)
    }

    /// Where the record in `slot` starts.
    fn at(&self, slot: usize) -> usize {
        self.table[slot] as usize
    }

    /// The region of the directory whose record starts at `at`, if it has one.
    fn dir(&self, at: usize) -> Option<u32> {
        self.dirs[1..]
            .binary_search_by_key(&(at as u64), |d| d.at)
            .ok()
            .map(|i| i as u32 + 1)
    }
}

/// Where the walk is: in a directory the snapshot has (its region), or in one it does not
/// (everything below is new, and not looked up).
#[derive(Clone, Copy)]
enum Place {
    In(u32),
    New,
}

struct Against<'a> {
    scope: &'a Scope,
    root: &'a Path,
    opts: &'a ScanOptions<'a>,
    index: &'a Index<'a>,
    seen: &'a [AtomicU64],
    /// Entries that differ from their record (or have none), with where that record starts.
    kept: Mutex<Vec<(Record, Option<usize>)>>,
    /// What could not be read: the path, and a sentence.
    errors: Mutex<Vec<(Vec<u8>, String)>>,
    hashed: AtomicU64,
}

impl Visitor<Place> for Against<'_> {
    fn visit(&self, e: &Entry<'_>, place: Place) -> Option<Place> {
        if tree::excluded(self.scope, self.root, e) {
            return None;
        }
        let slot = match place {
            Place::In(ROOTS) => self.index.find_root(e.path.as_os_str().as_bytes()),
            Place::In(d) => self.index.find(d, e.name.as_bytes()),
            Place::New => None,
        };
        if let Some(s) = slot {
            self.seen[s / 64].fetch_or(1 << (s % 64), AtomicOrdering::Relaxed);
        }
        let at = slot.map(|s| self.index.at(s));
        if let Some(rec) = self.differs(e, at) {
            self.kept.lock().expect("kept lock").push((rec, at));
        }
        e.meta.is_dir().then(|| {
            at.and_then(|at| self.index.dir(at))
                .map_or(Place::New, Place::In)
        })
    }

    /// A directory's entries are looked up in its records in whatever order the directory
    /// lists them: read its records in order first (when they are few), so that memory is
    /// fetched ahead rather than waited for at each lookup.
    fn entering(&self, place: Place) {
        if let Place::In(d) = place
            && d != ROOTS
        {
            let dir = &self.index.dirs[d as usize];
            let bytes = self.index.stored.bytes(dir.at as usize..dir.end as usize);
            if bytes.len() <= 256 * 1024 {
                let lines: u64 = bytes.iter().step_by(64).map(|&b| u64::from(b)).sum();
                std::hint::black_box(lines);
            }
        }
    }

    fn error(&self, error: WalkError) {
        let path = error.path.as_os_str().as_bytes().to_vec();
        self.errors
            .lock()
            .expect("errors lock")
            .push((path, error.describe()));
    }
}

impl Against<'_> {
    /// Now's record of an entry when it differs from the snapshot's record `at` in anything
    /// a comparison looks at (type, content, symlink target, mode, owner), or has none.
    fn differs(&self, e: &Entry<'_>, at: Option<usize>) -> Option<Record> {
        let m = &e.meta;
        let kind = EntryKind::of(m);
        let Some(at) = at else {
            return Some(self.read(e, tree::record(e)));
        };
        let old = self.index.stored.raw_at(at);
        let same_access = (old.kind, old.perm, old.uid, old.gid) == (kind, m.perm(), m.uid, m.gid);
        match kind {
            EntryKind::File => {
                let same_stat = (old.size, old.mtime, old.ctime, old.ino)
                    == (
                        m.size,
                        (m.mtime, m.mtime_nsec),
                        (m.ctime, m.ctime_nsec),
                        m.ino,
                    );
                if self.opts.verify || !same_stat || old.hash.is_none() || old.kind != kind {
                    let rec = self.read(e, tree::record(e));
                    (!same_access || rec.hash != old.hash).then_some(rec)
                } else {
                    // The same file by what the kernel says: its content hash is the snapshot's.
                    (!same_access).then(|| Record {
                        hash: old.hash,
                        ..tree::record(e)
                    })
                }
            }
            EntryKind::Symlink => {
                let rec = self.read(e, tree::record(e));
                (!same_access || rec.target.as_deref() != old.target).then_some(rec)
            }
            _ => (!same_access).then(|| tree::record(e)),
        }
    }

    /// A record with what reading the entry gives (see [`tree::read_at`]).
    fn read(&self, e: &Entry<'_>, mut rec: Record) -> Record {
        if rec.kind == EntryKind::File {
            self.hashed.fetch_add(1, AtomicOrdering::Relaxed);
        }
        if let Err(error) = tree::read_at(e, self.opts, &mut rec) {
            self.error(error);
        }
        rec
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::change::How;
    use crate::baseline::key::Key;
    use crate::checks::Excludes;

    fn setup(t: &Path) -> (Key, Scope) {
        std::fs::create_dir_all(t.join("app/lib")).unwrap();
        std::fs::write(t.join("a.php"), "<?php\necho 1;\n").unwrap();
        std::fs::write(t.join("b.bin"), b"\0\x01").unwrap();
        std::fs::write(t.join("app/lib/c.php"), "<?php\n").unwrap();
        std::fs::write(t.join("app/lib/d.php"), "<?php\n").unwrap();
        std::os::unix::fs::symlink("a.php", t.join("app/link")).unwrap();
        let scope = Scope {
            root: t.to_path_buf(),
            exclude: Excludes::default(),
            one_file_system: true,
        };
        (Key::from_bytes([3; 32]), scope)
    }

    fn opts(key: &Key, verify: bool) -> ScanOptions<'_> {
        ScanOptions {
            key,
            verify,
            keep_content: false,
            threads: 2,
        }
    }

    /// A snapshot of the scopes as they are now.
    fn recorded(scopes: &[Scope], key: &Key) -> Stored {
        Stored::of(&tree::scan(scopes, &opts(key, false)).records)
    }

    fn summary(w: &Walked) -> Vec<(String, How, String)> {
        w.changes
            .iter()
            .map(|c| {
                let name = c.change.subject.rsplit('/').next().unwrap().to_string();
                (name, c.change.how, c.change.detail.clone())
            })
            .collect()
    }

    #[test]
    fn an_unchanged_tree_reads_no_file_and_finds_nothing() {
        let t = tempfile::tempdir().unwrap();
        let (key, scope) = setup(t.path());
        let stored = recorded(std::slice::from_ref(&scope), &key);
        let w = walk(
            &stored,
            std::slice::from_ref(&scope),
            &opts(&key, false),
            || true,
        )
        .unwrap();
        assert_eq!((w.changes.len(), w.hashed), (0, 0), "{:?}", summary(&w));
        let v = walk(
            &stored,
            std::slice::from_ref(&scope),
            &opts(&key, true),
            || true,
        )
        .unwrap();
        assert_eq!((v.changes.len(), v.hashed), (0, 4), "{:?}", summary(&v));
    }

    #[test]
    fn finds_each_kind_of_change_and_reads_only_changed_files() {
        let t = tempfile::tempdir().unwrap();
        let (key, scope) = setup(t.path());
        let stored = recorded(std::slice::from_ref(&scope), &key);
        let p = t.path();
        std::fs::write(p.join("a.php"), "<?php\necho 2;\n").unwrap();
        std::fs::set_permissions(
            p.join("b.bin"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        std::fs::remove_dir_all(p.join("app/lib")).unwrap();
        std::fs::create_dir(p.join("new")).unwrap();
        std::fs::write(p.join("new/e.php"), "x").unwrap();
        std::fs::remove_file(p.join("app/link")).unwrap();
        std::os::unix::fs::symlink("b.bin", p.join("app/link")).unwrap();
        let w = walk(
            &stored,
            std::slice::from_ref(&scope),
            &opts(&key, false),
            || true,
        )
        .unwrap();
        let got = summary(&w);
        let names: Vec<(&str, How)> = got.iter().map(|(n, h, _)| (n.as_str(), *h)).collect();
        assert_eq!(
            names,
            [
                ("a.php", How::Changed),
                ("lib", How::Removed),
                ("link", How::Changed),
                ("b.bin", How::Changed),
                ("new", How::Added),
            ],
            "{got:?}"
        );
        assert!(got[0].2.contains("line 2"), "{got:?}");
        assert!(got[1].2.contains("2 entries"), "{got:?}");
        assert!(got[3].2.contains("0644 → 0600"), "{got:?}");
        assert!(got[4].2.contains("1 entry"), "{got:?}");
        // a.php, b.bin (a chmod changes the ctime) and the new new/e.php; not app/lib/*.
        assert_eq!(w.hashed, 3);
    }

    #[test]
    fn overlapping_roots_report_a_change_once() {
        let t = tempfile::tempdir().unwrap();
        let (key, outer) = setup(t.path());
        let inner = Scope {
            root: t.path().join("app"),
            exclude: Excludes::default(),
            one_file_system: true,
        };
        let scopes = [outer, inner];
        let stored = recorded(&scopes, &key);
        std::fs::write(t.path().join("app/lib/c.php"), "<?php\n//\n").unwrap();
        let w = walk(&stored, &scopes, &opts(&key, false), || true).unwrap();
        assert_eq!(summary(&w).len(), 1, "{:?}", summary(&w));
    }

    #[test]
    fn a_root_inside_an_excluded_directory_of_another_is_found_again() {
        let t = tempfile::tempdir().unwrap();
        let (key, _) = setup(t.path());
        let outer = Scope {
            root: t.path().to_path_buf(),
            exclude: Excludes::from_patterns(&["app".to_string()]).unwrap(),
            one_file_system: true,
        };
        let inner = Scope {
            root: t.path().join("app/lib"),
            exclude: Excludes::default(),
            one_file_system: true,
        };
        let scopes = [outer, inner];
        let stored = recorded(&scopes, &key);
        let w = walk(&stored, &scopes, &opts(&key, false), || true).unwrap();
        assert_eq!((w.changes.len(), w.hashed), (0, 0), "{:?}", summary(&w));
    }

    #[test]
    fn a_snapshot_that_is_not_intact_is_not_walked() {
        let t = tempfile::tempdir().unwrap();
        let (key, scope) = setup(t.path());
        let stored = recorded(std::slice::from_ref(&scope), &key);
        std::fs::write(t.path().join("a.php"), "changed").unwrap();
        assert!(
            walk(
                &stored,
                std::slice::from_ref(&scope),
                &opts(&key, false),
                || false
            )
            .is_none()
        );
    }
}
