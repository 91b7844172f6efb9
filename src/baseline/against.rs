//! `diff`'s walk: the tree walked again against a snapshot's records, each entry looked up
//! by its name among its directory's entries as the walk meets it. Only what differs is
//! kept, so an unchanged tree costs one lookup per entry, and its fingerprint, not its
//! record, says it is unchanged: no record read, no sort of the whole tree, and a file is
//! read only when its size, mtime, ctime or inode changed (or with `--verify`).

use std::cmp::Ordering;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use super::diff::{self, TreeChange};
use super::store::Stored;
use super::store::listing::{Listing, NO_DIR, Slot, Stat, head};
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

/// Walk every scope against `stored` (its records verified: [`super::store::open`]) and
/// compare. Records are read again from the snapshot's file as the walk needs them: if it
/// changed meanwhile, what they said cannot be trusted, and the error says so.
pub fn walk(stored: &Stored, scopes: &[Scope], opts: &ScanOptions<'_>) -> Result<Walked, String> {
    let index = Index::new(stored);
    let seen: Vec<AtomicU64> = (0..stored.len().div_ceil(64))
        .map(|_| AtomicU64::new(0))
        .collect();
    let mut unread = Vec::new();
    let mut kept: Vec<(Record, Option<usize>)> = Vec::new();
    let mut failed: Vec<Vec<u8>> = Vec::new();
    let mut hashed = 0;
    for scope in scopes {
        let (root, wopts) = match tree::open_scope(scope, opts) {
            // Its records are not seen: the root and everything below it were removed.
            None => continue,
            Some(Ok(r)) => r,
            Some(Err(e)) => {
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
        if let Err(e) = walk::walk_root(&root, Place::Roots, &visitor, &wopts) {
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
    // A removed tree is its top record and how many lay below it: the records below are
    // not read (a removed or unreadable tree may be most of the snapshot).
    let listing = stored.listing();
    let is_seen = |i: usize| seen[i / 64].load(AtomicOrdering::Relaxed) >> (i % 64) & 1 == 1;
    let mut unseen: Vec<(usize, Option<usize>)> = Vec::new();
    let mut i = 0;
    while i < stored.len() {
        if i % 64 == 0 && seen[i / 64].load(AtomicOrdering::Relaxed) == u64::MAX {
            i += 64;
            continue;
        }
        if is_seen(i) {
            i += 1;
            continue;
        }
        let d = listing.dir_of(i as u32);
        let end = if d == NO_DIR {
            i + 1
        } else {
            listing.end(d) as usize
        };
        // Not when something below was met again (a root inside it).
        if end > i + 1 && (i + 1..end).all(|j| !is_seen(j)) {
            unseen.push((i, Some(end - i - 1)));
            i = end;
        } else {
            unseen.push((i, None));
            i += 1;
        }
    }
    let mut differ: Vec<usize> = kept.iter().filter_map(|(_, idx)| *idx).collect();
    differ.sort_unstable();
    let mut idxs: Vec<usize> = unseen
        .iter()
        .map(|&(i, _)| i)
        .chain(differ.iter().copied())
        .collect();
    idxs.sort_unstable();
    idxs.dedup();
    // Records lie in path order: so do these.
    let mut old: Vec<(usize, Record, Option<usize>)> = stored
        .records(&idxs)
        .into_iter()
        .map(|(idx, rec)| {
            let below = unseen
                .binary_search_by_key(&idx, |&(i, _)| i)
                .ok()
                .and_then(|u| unseen[u].1);
            (idx, rec, below)
        })
        .collect();
    let mut f = 0;
    old.retain(|(idx, rec, _)| {
        if differ.binary_search(idx).is_ok() {
            return true;
        }
        let path = &rec.path[..];
        // Both in path order, and what is below a path follows it.
        while f < failed.len()
            && path_cmp(&failed[f], path) == Ordering::Less
            && !is_at_or_below(path, &failed[f])
        {
            f += 1;
        }
        f == failed.len() || !is_at_or_below(path, &failed[f])
    });
    let now: Vec<Record> = kept.into_iter().map(|(r, _)| r).collect();
    let changes = diff::compare(&Subset { stored, old: &old }, &now);
    if let Some(why) = stored.changed() {
        return Err(why);
    }
    unread.extend(stored.extras_unread());
    Ok(Walked {
        changes,
        unread,
        hashed,
    })
}

fn is_at_or_below(path: &[u8], dir: &[u8]) -> bool {
    path == dir || diff::is_below(path, dir)
}

/// Some of a snapshot's records, with their numbers, in path order; a removed tree's top
/// with how many lay below it.
struct Subset<'a> {
    stored: &'a Stored,
    old: &'a [(usize, Record, Option<usize>)],
}

impl Records for Subset<'_> {
    fn len(&self) -> usize {
        self.old.len()
    }
    fn path(&self, i: usize) -> &[u8] {
        &self.old[i].1.path
    }
    fn get(&self, i: usize) -> std::borrow::Cow<'_, Record> {
        std::borrow::Cow::Borrowed(&self.old[i].1)
    }
    fn whole(&self, i: usize) -> std::borrow::Cow<'_, Record> {
        // Read again with its line hashes; if it cannot be, the comparison is refused
        // whole afterwards (see `Stored::changed`) and this one is not shown.
        match self.stored.whole(self.old[i].0) {
            Some(r) => std::borrow::Cow::Owned(r),
            None => self.get(i),
        }
    }
    fn below(&self, i: usize) -> Option<(usize, bool)> {
        let count = self.old[i].2?;
        let listing = self.stored.listing();
        let code = listing.any_below(listing.dir_of(self.old[i].0 as u32), |name| {
            diff::area_of(Path::new(std::ffi::OsStr::from_bytes(name))) == super::change::Area::Code
        });
        Some((count, code))
    }
}

/// Each record by its directory and name, from the listing made while the snapshot's
/// records were checked ([`Stored::listing`]). An entry is found by binary search among its
/// directory's: no name, however chosen by whoever can create files in the tree, makes it
/// slow. Roots (whose directory may not be in the snapshot) are found by their whole path.
struct Index<'a> {
    stored: &'a Stored,
    listing: &'a Listing,
}

impl<'a> Index<'a> {
    fn new(stored: &'a Stored) -> Index<'a> {
        Index {
            stored,
            listing: stored.listing(),
        }
    }

    /// The entry of directory `d` that may be `name`: the one whose name begins with the
    /// same eight bytes, and whether its whole name was compared (when several begin so).
    fn find(&self, d: u32, name: &[u8]) -> Option<(&'a Slot, bool)> {
        let entries = self.listing.entries(d);
        let key = head(name);
        let lo = entries.partition_point(|e| e.head < key);
        let same = &entries[lo..lo + entries[lo..].partition_point(|e| e.head == key)];
        match same {
            [] => None,
            [one] => Some((one, false)),
            _ => {
                let i = same
                    .binary_search_by(|e| self.listing.name(e).cmp(name))
                    .ok()?;
                Some((&same[i], true))
            }
        }
    }

    /// The record number of a root, by its whole path.
    fn find_root(&self, path: &[u8]) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.stored.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            // A record that cannot be read again fails the whole comparison afterwards.
            match path_cmp(&self.stored.path(mid)?, path) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Some(mid),
            }
        }
        None
    }
}

/// Where the walk is: at the roots, in a directory the snapshot has ([`Listing::entries`]), or
/// in one it does not (everything below is new, and not looked up).
#[derive(Clone, Copy)]
enum Place {
    Roots,
    In(u32),
    New,
}

struct Against<'a> {
    scope: &'a Scope,
    root: &'a Path,
    opts: &'a ScanOptions<'a>,
    index: &'a Index<'a>,
    seen: &'a [AtomicU64],
    /// Entries that differ from their record (or have none), with that record's number.
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
        let found = match place {
            Place::Roots => self
                .index
                .find_root(e.path.as_os_str().as_bytes())
                .map(|i| (i, self.index.listing.dir_of(i as u32))),
            Place::In(d) => {
                let name = e.name.as_bytes();
                let kind = EntryKind::of(&e.meta);
                match self.index.find(d, name) {
                    None => None,
                    // The same name, and the same in everything compared: unchanged, and its
                    // record is not read. A symlink's target is read to be compared.
                    Some((slot, _))
                        if kind != EntryKind::Symlink
                            && slot.print
                                == self.index.listing.prints.of(name, &Stat::of_meta(&e.meta)) =>
                    {
                        self.see(slot.idx as usize);
                        if self.opts.verify && kind == EntryKind::File {
                            // Read and hashed again; its record still need not be.
                            let rec = self.read(e, tree::record(e));
                            let prints = &self.index.listing.prints;
                            if rec.hash.map(|h| prints.content(&h)) != Some(slot.content) {
                                self.kept
                                    .lock()
                                    .expect("kept lock")
                                    .push((rec, Some(slot.idx as usize)));
                            }
                            return None;
                        }
                        return e.meta.is_dir().then_some(place_of(slot.dir));
                    }
                    Some((slot, named)) => (named || self.index.listing.name(slot) == name)
                        .then_some((slot.idx as usize, slot.dir)),
                }
            }
            Place::New => None,
        };
        if let Some((i, _)) = found {
            self.see(i);
        }
        let idx = found.map(|(i, _)| i);
        if let Some(rec) = self.differs(e, idx) {
            self.kept.lock().expect("kept lock").push((rec, idx));
        }
        e.meta
            .is_dir()
            .then(|| found.map_or(Place::New, |(_, d)| place_of(d)))
    }

    fn error(&self, error: WalkError) {
        let path = error.path.as_os_str().as_bytes().to_vec();
        self.errors
            .lock()
            .expect("errors lock")
            .push((path, error.describe()));
    }
}

/// Where the walk is below a directory of the snapshot's (or [`NO_DIR`]).
fn place_of(dir: u32) -> Place {
    if dir == NO_DIR {
        Place::New
    } else {
        Place::In(dir)
    }
}

impl Against<'_> {
    /// Record `idx` was met again.
    fn see(&self, idx: usize) {
        self.seen[idx / 64].fetch_or(1 << (idx % 64), AtomicOrdering::Relaxed);
    }

    /// Now's record of an entry when it differs from the snapshot's record number `idx` in
    /// anything a comparison looks at (type, content, symlink target, mode, owner), or has
    /// none.
    fn differs(&self, e: &Entry<'_>, idx: Option<usize>) -> Option<Record> {
        let m = &e.meta;
        let kind = EntryKind::of(m);
        // A record that cannot be read again fails the whole comparison afterwards.
        let Some(old) = idx.and_then(|i| self.index.stored.record(i)) else {
            return Some(self.read(e, tree::record(e)));
        };
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
                (!same_access || rec.target != old.target).then_some(rec)
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
        (Key::from_bytes([3; 32]), scope(t, &[]))
    }

    /// A scope of `root`, leaving out what matches `exclude`.
    fn scope(root: &Path, exclude: &[&str]) -> Scope {
        let exclude: Vec<String> = exclude.iter().map(|p| p.to_string()).collect();
        Scope {
            root: root.to_path_buf(),
            exclude: Excludes::from_patterns(&exclude).unwrap(),
            one_file_system: true,
        }
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

    /// Each change's file name and how it changed, and how many files were read.
    fn found(w: &Walked) -> (Vec<(String, How)>, u64) {
        let got = summary(w).into_iter().map(|(n, h, _)| (n, h)).collect();
        (got, w.hashed)
    }

    fn changed(names: &[&str]) -> Vec<(String, How)> {
        names
            .iter()
            .map(|n| (n.to_string(), How::Changed))
            .collect()
    }

    #[test]
    fn an_unchanged_tree_reads_no_file_and_finds_nothing() {
        let t = tempfile::tempdir().unwrap();
        let (key, scope) = setup(t.path());
        let stored = recorded(std::slice::from_ref(&scope), &key);
        let w = walk(&stored, std::slice::from_ref(&scope), &opts(&key, false)).unwrap();
        assert_eq!((w.changes.len(), w.hashed), (0, 0), "{:?}", summary(&w));
        let v = walk(&stored, std::slice::from_ref(&scope), &opts(&key, true)).unwrap();
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
        let w = walk(&stored, std::slice::from_ref(&scope), &opts(&key, false)).unwrap();
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

    /// A removed tree is counted, and ranked by the code in it, from the listing: as a tree
    /// of records read one by one would be.
    #[test]
    fn a_removed_tree_is_counted_and_ranked_whole() {
        use crate::baseline::change::Area;
        let t = tempfile::tempdir().unwrap();
        let (key, scope) = setup(t.path());
        let p = t.path();
        std::fs::create_dir_all(p.join("assets/img/icons")).unwrap();
        std::fs::write(p.join("assets/img/icons/a.svg"), "<svg/>").unwrap();
        std::fs::write(p.join("assets/site.css"), "x").unwrap();
        std::fs::create_dir(p.join("empty")).unwrap();
        let stored = recorded(std::slice::from_ref(&scope), &key);
        for gone in ["app", "assets", "empty"] {
            std::fs::remove_dir_all(p.join(gone)).unwrap();
        }
        let w = walk(&stored, std::slice::from_ref(&scope), &opts(&key, false)).unwrap();
        let got: Vec<(String, How, String, Area)> = w
            .changes
            .iter()
            .map(|c| {
                let name = c.change.subject.rsplit('/').next().unwrap().to_string();
                (name, c.change.how, c.change.detail.clone(), c.change.area)
            })
            .collect();
        let removed = |n: &str, what: &str, area| {
            (
                n.to_string(),
                How::Removed,
                format!("removed since the snapshot ({what})"),
                area,
            )
        };
        assert_eq!(
            got,
            [
                // app/lib/c.php and d.php, two levels down, are code.
                removed("app", "directory with 4 entries", Area::Code),
                removed("assets", "directory with 4 entries", Area::File),
                removed("empty", "empty directory", Area::File),
            ]
        );
    }

    /// A file whose stat is the snapshot's but whose content is not (as if written with
    /// its times put back, ctime and all) is found by `--verify` alone.
    #[test]
    fn verify_finds_a_content_change_that_kept_every_time() {
        let t = tempfile::tempdir().unwrap();
        let (key, scope) = setup(t.path());
        let mut records = tree::scan(std::slice::from_ref(&scope), &opts(&key, false)).records;
        let a = records
            .iter_mut()
            .find(|r| r.path.ends_with(b"/a.php"))
            .unwrap();
        a.hash = Some(crate::baseline::key::Digest([7; 32]));
        let stored = Stored::of(&records);
        let w = walk(&stored, std::slice::from_ref(&scope), &opts(&key, false)).unwrap();
        assert_eq!(found(&w), (vec![], 0));
        let v = walk(&stored, std::slice::from_ref(&scope), &opts(&key, true)).unwrap();
        assert_eq!(found(&v), (vec![("a.php".to_string(), How::Changed)], 4));
    }

    /// A snapshot whose file changed while the walk read records from it again is not
    /// trusted: the walk says so instead of comparing.
    #[test]
    fn a_snapshot_changed_during_the_walk_fails_it() {
        let t = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let (key, scope) = setup(t.path());
        let records = tree::scan(std::slice::from_ref(&scope), &opts(&key, false)).records;
        let mut header = crate::baseline::store::Header::for_tests(records.len() as u64);
        let path = crate::baseline::store::write(state.path(), &mut header, &records).unwrap();
        let (_, stored) = crate::baseline::store::open(&path).unwrap();
        assert!(walk(&stored, std::slice::from_ref(&scope), &opts(&key, false)).is_ok());
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(std::time::SystemTime::UNIX_EPOCH)
            .unwrap();
        let e = walk(&stored, std::slice::from_ref(&scope), &opts(&key, false)).err();
        assert!(e.is_some_and(|e| e.contains("changed while it was being read")));
    }

    #[test]
    fn overlapping_roots_report_a_change_once() {
        let t = tempfile::tempdir().unwrap();
        let (key, outer) = setup(t.path());
        let inner = scope(&t.path().join("app"), &[]);
        let scopes = [outer, inner];
        let stored = recorded(&scopes, &key);
        std::fs::write(t.path().join("app/lib/c.php"), "<?php\n//\n").unwrap();
        let w = walk(&stored, &scopes, &opts(&key, false)).unwrap();
        assert_eq!(summary(&w).len(), 1, "{:?}", summary(&w));
    }

    #[test]
    fn a_root_inside_an_excluded_directory_of_another_is_found_again() {
        let t = tempfile::tempdir().unwrap();
        let (key, _) = setup(t.path());
        let outer = scope(t.path(), &["app"]);
        let inner = scope(&t.path().join("app/lib"), &[]);
        let scopes = [outer, inner];
        let stored = recorded(&scopes, &key);
        let w = walk(&stored, &scopes, &opts(&key, false)).unwrap();
        assert_eq!((w.changes.len(), w.hashed), (0, 0), "{:?}", summary(&w));
        // The outer root's entry after the inner root's records, and one of those.
        std::fs::write(t.path().join("b.bin"), "changed").unwrap();
        std::fs::write(t.path().join("app/lib/c.php"), "<?php\n//\n").unwrap();
        let w = walk(&stored, &scopes, &opts(&key, false)).unwrap();
        assert_eq!(found(&w), (changed(&["c.php", "b.bin"]), 2));
    }

    #[test]
    fn names_that_share_their_first_bytes_are_told_apart() {
        let t = tempfile::tempdir().unwrap();
        let (key, scope) = setup(t.path());
        let p = t.path();
        // Heads alike (the first eight bytes), prefixes of each other, shorter than eight
        // bytes, not UTF-8, and a directory whose subtree lies between two names in order.
        let names: [&[u8]; 10] = [
            b"f",
            b"f.php",
            b"abcdefgh",
            b"abcdefghi",
            b"abcdefgh1",
            b"abcdefgh.php",
            b"\xff\xfe",
            b"\xff",
            b"ab.c",
            b"a_b",
        ];
        for n in names {
            std::fs::write(p.join(std::ffi::OsStr::from_bytes(n)), n).unwrap();
        }
        std::fs::create_dir(p.join("ab")).unwrap();
        std::fs::write(p.join("ab/x"), "x").unwrap();
        let stored = recorded(std::slice::from_ref(&scope), &key);
        let w = walk(&stored, std::slice::from_ref(&scope), &opts(&key, false)).unwrap();
        assert_eq!((w.changes.len(), w.hashed), (0, 0), "{:?}", summary(&w));
        std::fs::write(p.join("abcdefgh1"), "changed").unwrap();
        std::fs::remove_file(p.join(std::ffi::OsStr::from_bytes(b"\xff"))).unwrap();
        let w = walk(&stored, std::slice::from_ref(&scope), &opts(&key, false)).unwrap();
        let mut want = changed(&["abcdefgh1"]);
        want.push(("\\xff".to_string(), How::Removed));
        assert_eq!(found(&w), (want, 1));
    }
}
