//! `diff`'s walk: the tree walked again against a snapshot's records, each entry looked up
//! among its directory's entries in the snapshot as the walk meets it. Only what differs is
//! kept, so an unchanged tree costs one lookup per entry: no record, no allocation and no
//! sort of the whole tree, and a file is read only when its size, mtime, ctime or inode
//! changed (or with `--verify`).

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

/// Walk every scope against `stored` and compare.
pub fn walk(stored: &Stored, scopes: &[Scope], opts: &ScanOptions<'_>) -> Walked {
    let index = Index::new(stored);
    let seen: Vec<AtomicU64> = (0..stored.len().div_ceil(64))
        .map(|_| AtomicU64::new(0))
        .collect();
    let mut unread = Vec::new();
    let mut kept: Vec<(Record, Option<u32>)> = Vec::new();
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
        if let Err(e) = walk::walk_root(&root, Place::Root, &visitor, &wopts) {
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
    let mut old: Vec<u32> = kept.iter().filter_map(|(_, k)| *k).collect();
    let mut f = 0;
    for (w, bits) in seen.iter().enumerate() {
        let mut unseen = !bits.load(AtomicOrdering::Relaxed);
        while unseen != 0 {
            let i = w * 64 + unseen.trailing_zeros() as usize;
            unseen &= unseen - 1;
            if i >= stored.len() {
                break;
            }
            let path = stored.path(i);
            // Both in path order, and what is below a path follows it.
            while f < failed.len()
                && path_cmp(&failed[f], path) == Ordering::Less
                && !is_at_or_below(path, &failed[f])
            {
                f += 1;
            }
            if f < failed.len() && is_at_or_below(path, &failed[f]) {
                continue;
            }
            old.push(i as u32);
        }
    }
    old.sort_unstable();
    old.dedup();
    let now: Vec<Record> = kept.into_iter().map(|(r, _)| r).collect();
    Walked {
        changes: diff::compare(&Subset { stored, at: &old }, &now),
        unread,
        hashed,
    }
}

fn is_at_or_below(path: &[u8], dir: &[u8]) -> bool {
    path.starts_with(dir)
        && (path.len() == dir.len() || dir.ends_with(b"/") || path[dir.len()] == b'/')
}

/// Some of a snapshot's records, by index, in path order.
struct Subset<'a> {
    stored: &'a Stored,
    at: &'a [u32],
}

impl Records for Subset<'_> {
    fn len(&self) -> usize {
        self.at.len()
    }
    fn path(&self, i: usize) -> &[u8] {
        self.stored.path(self.at[i] as usize)
    }
    fn get(&self, i: usize) -> std::borrow::Cow<'_, Record> {
        self.stored.get(self.at[i] as usize)
    }
    fn same_as(&self, i: usize, rec: &Record) -> bool {
        self.stored.same_as(self.at[i] as usize, rec)
    }
}

/// Each directory's entries in a snapshot, in name order: the records are in path order
/// with `/` first (a directory's subtree follows it), so one pass with a stack of open
/// directories finds every record's parent.
struct Index<'a> {
    stored: &'a Stored,
    /// The entries of record `i` are `kids[from[i]..from[i + 1]]`.
    from: Vec<u32>,
    kids: Vec<u32>,
}

const NONE: u32 = u32::MAX;

impl<'a> Index<'a> {
    fn new(stored: &'a Stored) -> Index<'a> {
        let n = stored.len();
        let mut parent = vec![NONE; n];
        let mut open: Vec<u32> = Vec::new();
        for (i, p) in parent.iter_mut().enumerate() {
            let path = stored.path(i);
            while let Some(&d) = open.last() {
                if is_at_or_below(path, stored.path(d as usize)) {
                    break;
                }
                open.pop();
            }
            if let Some(&d) = open.last() {
                *p = d;
            }
            if stored.raw(i).kind == EntryKind::Dir {
                open.push(i as u32);
            }
        }
        let mut from = vec![0u32; n + 1];
        for &p in &parent {
            if p != NONE {
                from[p as usize + 1] += 1;
            }
        }
        for i in 0..n {
            from[i + 1] += from[i];
        }
        let mut fill = from.clone();
        let mut kids = vec![0u32; from[n] as usize];
        // Records in path order: each directory's entries land in name order.
        for (i, &p) in parent.iter().enumerate() {
            if p != NONE {
                kids[fill[p as usize] as usize] = i as u32;
                fill[p as usize] += 1;
            }
        }
        Index { stored, from, kids }
    }

    /// The record of a path, anywhere.
    fn find(&self, path: &[u8]) -> Option<u32> {
        let (mut lo, mut hi) = (0, self.stored.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match path_cmp(self.stored.path(mid), path) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Some(mid as u32),
            }
        }
        None
    }

    /// The record of `name` in the directory recorded at `dir`.
    fn child(&self, dir: u32, name: &[u8]) -> Option<u32> {
        let d = self.stored.path(dir as usize);
        let skip = d.len() + usize::from(!d.ends_with(b"/"));
        let kids =
            &self.kids[self.from[dir as usize] as usize..self.from[dir as usize + 1] as usize];
        kids.binary_search_by(|&k| self.stored.path(k as usize)[skip..].cmp(name))
            .ok()
            .map(|at| kids[at])
    }
}

/// Where the walk is in the snapshot: at a root (found by its path), in a directory the
/// snapshot has, or in one it does not (everything below is new).
#[derive(Clone, Copy)]
enum Place {
    Root,
    In(u32),
    New,
}

struct Against<'a> {
    scope: &'a Scope,
    root: &'a Path,
    opts: &'a ScanOptions<'a>,
    index: &'a Index<'a>,
    seen: &'a [AtomicU64],
    /// Entries that differ from their record (or have none), with that record.
    kept: Mutex<Vec<(Record, Option<u32>)>>,
    /// What could not be read: the path, and a sentence.
    errors: Mutex<Vec<(Vec<u8>, String)>>,
    hashed: AtomicU64,
}

impl Visitor<Place> for Against<'_> {
    fn visit(&self, e: &Entry<'_>, place: Place) -> Option<Place> {
        if tree::excluded(self.scope, self.root, e) {
            return None;
        }
        let at = match place {
            Place::Root => self.index.find(e.path.as_os_str().as_bytes()),
            Place::In(d) => self.index.child(d, e.name.as_bytes()),
            Place::New => None,
        };
        if let Some(k) = at {
            self.seen[k as usize / 64].fetch_or(1 << (k % 64), AtomicOrdering::Relaxed);
        }
        if let Some(rec) = self.differs(e, at) {
            self.kept.lock().expect("kept lock").push((rec, at));
        }
        e.meta.is_dir().then_some(at.map_or(Place::New, Place::In))
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
    fn differs(&self, e: &Entry<'_>, at: Option<u32>) -> Option<Record> {
        let m = &e.meta;
        let kind = EntryKind::of(m);
        let Some(k) = at else {
            return Some(self.read(e, tree::record(e)));
        };
        let old = self.index.stored.raw(k as usize);
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
        let first = tree::scan(std::slice::from_ref(&scope), &opts(&key, false));
        let stored = Stored::of(&first.records);
        let w = walk(&stored, std::slice::from_ref(&scope), &opts(&key, false));
        assert_eq!((w.changes.len(), w.hashed), (0, 0), "{:?}", summary(&w));
        let v = walk(&stored, std::slice::from_ref(&scope), &opts(&key, true));
        assert_eq!((v.changes.len(), v.hashed), (0, 4), "{:?}", summary(&v));
    }

    #[test]
    fn finds_each_kind_of_change_and_reads_only_changed_files() {
        let t = tempfile::tempdir().unwrap();
        let (key, scope) = setup(t.path());
        let first = tree::scan(std::slice::from_ref(&scope), &opts(&key, false));
        let stored = Stored::of(&first.records);
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
        let w = walk(&stored, std::slice::from_ref(&scope), &opts(&key, false));
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
        let first = tree::scan(&scopes, &opts(&key, false));
        let stored = Stored::of(&first.records);
        std::fs::write(t.path().join("app/lib/c.php"), "<?php\n//\n").unwrap();
        let w = walk(&stored, &scopes, &opts(&key, false));
        assert_eq!(summary(&w).len(), 1, "{:?}", summary(&w));
    }
}
