//! Each directory's entries in a snapshot, listed while its records are checked: the first
//! eight bytes of each name, a fingerprint of the name and of everything `diff` compares
//! without reading the file (a symlink's target is read, and compared with its record), and
//! the record's number. `diff` finds an entry among its
//! directory's by the eight bytes, and an entry whose fingerprint is now's is unchanged
//! without its record being read again: an unchanged tree costs a walk and, per entry, a
//! search in a small array that the walking thread has in its cache.

use super::record::Raw;
use crate::baseline::key::Digest;
use crate::baseline::tree::EntryKind;
use crate::walk::Meta;

/// An entry of a directory.
#[derive(Debug, Clone, Copy)]
pub(in crate::baseline) struct Slot {
    /// The first eight bytes of the name (see [`head`]).
    pub head: u64,
    /// The fingerprint ([`Prints::of`]) of the name and of what the record says.
    pub print: u64,
    /// A file's content hash, folded ([`Prints::content`]): what `diff --verify` compares a
    /// file hashed again with. 0 for anything else.
    pub content: u64,
    /// The record's number.
    pub idx: u32,
    /// The directory's number when the entry is one ([`Listing::entries`]), or [`NO_DIR`].
    pub dir: u32,
    /// Where the name lies in the listing's names ([`Listing::name`]), and its length.
    name_at: u32,
    name_len: u32,
}

pub(in crate::baseline) const NO_DIR: u32 = u32::MAX;

/// The first eight bytes of a name, zero-padded, as a number that orders as they do: where
/// the first eight bytes of two names differ, so do their heads, in the same order.
pub(in crate::baseline) fn head(name: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = name.len().min(8);
    b[..n].copy_from_slice(&name[..n]);
    u64::from_be_bytes(b)
}

/// What a fingerprint covers: what [`crate::baseline::against`] compares to decide that an
/// entry is unchanged without reading it. A file's size, inode and times only for a file
/// whose content hash the snapshot has: any other file is read again, and a directory's
/// times change with its entries, which are compared on their own.
pub(in crate::baseline) struct Stat {
    pub kind: EntryKind,
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    /// A hashed file's size, inode, mtime and ctime.
    pub file: Option<FileStat>,
}

/// A file's size, inode, mtime and ctime (seconds and nanoseconds).
pub(in crate::baseline) type FileStat = (u64, u64, (i64, u32), (i64, u32));

impl Stat {
    /// What the snapshot's record says.
    pub fn of_record(r: &Raw<'_>) -> Stat {
        Stat {
            kind: r.kind,
            perm: r.perm,
            uid: r.uid,
            gid: r.gid,
            file: (r.kind == EntryKind::File && r.hash.is_some())
                .then_some((r.size, r.ino, r.mtime, r.ctime)),
        }
    }

    /// What the kernel says now, of an entry that would be hashed.
    pub fn of_meta(m: &Meta) -> Stat {
        let kind = EntryKind::of(m);
        Stat {
            kind,
            perm: m.perm(),
            uid: m.uid,
            gid: m.gid,
            file: (kind == EntryKind::File).then_some((
                m.size,
                m.ino,
                (m.mtime, m.mtime_nsec),
                (m.ctime, m.ctime_nsec),
            )),
        }
    }
}

/// Fingerprints under a key drawn anew by each process, which never leaves it: whoever can
/// change files in the tree can neither learn the key nor test guesses of it, so a change
/// keeps its entry's fingerprint only by chance (one in 2^64). The mixing is foldhash's, fast
/// and not a cryptographic MAC: what makes it hard to aim at is the secret, short-lived key
/// (and a ctime that no one can set), not a proof.
pub(in crate::baseline) struct Prints {
    key: [u64; 3],
}

impl Prints {
    pub fn new() -> Prints {
        // Seeded from the operating system's random source, as std's hash maps are.
        let draw = |n: u64| {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::hash::RandomState::new().build_hasher();
            h.write_u64(n);
            h.finish()
        };
        Prints {
            key: [draw(0), draw(1), draw(2) | 1],
        }
    }

    /// The fingerprint of an entry named `name` that says `s`.
    pub fn of(&self, name: &[u8], s: &Stat) -> u64 {
        let [k0, k1, k2] = self.key;
        // Two 64-bit words at a time, each pair folded into the running value by one
        // 128-bit multiplication (as in foldhash and wyhash).
        let mut h = k2;
        let mut pair = |a: u64, b: u64| h = fold(a ^ h ^ k0, b ^ k1);
        pair(
            u64::from(s.perm) | u64::from(s.uid) << 32,
            u64::from(s.gid) | u64::from(s.kind.code()) << 32 | (name.len() as u64) << 40,
        );
        if let Some((size, ino, mtime, ctime)) = s.file {
            pair(size, ino);
            pair(mtime.0 as u64, ctime.0 as u64);
            pair(u64::from(mtime.1) | u64::from(ctime.1) << 32, 0);
        }
        // The name's bytes, every one of them in some word: with its length (above), which
        // words overlap cannot make two names alike.
        let n = name.len();
        let word = |at: usize| u64::from_le_bytes(name[at..at + 8].try_into().expect("8 bytes"));
        let half = |at: usize| {
            u64::from(u32::from_le_bytes(
                name[at..at + 4].try_into().expect("4 bytes"),
            ))
        };
        match n {
            0..4 if n > 0 => pair(
                u64::from(name[0]) | u64::from(name[n / 2]) << 8 | u64::from(name[n - 1]) << 16,
                0,
            ),
            0..4 => {}
            4..8 => pair(half(0), half(n - 4)),
            8..=16 => pair(word(0), word(n - 8)),
            _ => {
                let mut at = 0;
                while at + 16 < n {
                    pair(word(at), word(at + 8));
                    at += 16;
                }
                pair(word(n - 16), word(n - 8));
            }
        }
        fold(h, k2)
    }

    /// A content hash folded to 64 bits under the key.
    pub fn content(&self, hash: &Digest) -> u64 {
        let [k0, k1, k2] = self.key;
        let w =
            |i: usize| u64::from_le_bytes(hash.0[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        let h = fold(w(0) ^ k2 ^ k0, w(1) ^ k1);
        fold(fold(w(2) ^ h ^ k0, w(3) ^ k1), k2)
    }
}

fn fold(a: u64, b: u64) -> u64 {
    let m = u128::from(a) * u128::from(b);
    (m as u64) ^ (m >> 64) as u64
}

/// Every directory's entries, in name order, by directory number (the order of the
/// directories' records).
pub(in crate::baseline) struct Listing {
    slots: Vec<Slot>,
    /// Every listed name, one after another.
    names: Vec<u8>,
    /// By directory number.
    dirs: Vec<Dir>,
    pub prints: Prints,
}

/// A directory of the snapshot's, by record numbers.
#[derive(Debug, Clone, Copy, Default)]
struct Dir {
    /// Its own record's (increasing with the directory's number).
    record: u32,
    /// The first record after its subtree.
    end: u32,
    /// Where its entries lie in the listing's slots.
    from: u32,
    to: u32,
}

impl Listing {
    /// An entry's name.
    pub fn name(&self, slot: &Slot) -> &[u8] {
        &self.names[slot.name_at as usize..][..slot.name_len as usize]
    }

    /// Directory `d`'s entries, in name order.
    pub fn entries(&self, d: u32) -> &[Slot] {
        let dir = self.dirs[d as usize];
        &self.slots[dir.from as usize..dir.to as usize]
    }

    /// The number of the first record after directory `d`'s subtree.
    pub fn end(&self, d: u32) -> u32 {
        self.dirs[d as usize].end
    }

    /// Whether any entry in directory `d`'s subtree has a name that `pred` holds for.
    pub fn any_below(&self, d: u32, pred: impl Fn(&[u8]) -> bool) -> bool {
        let end = self.end(d);
        // The directories of the subtree follow it in number, up to the first past its end.
        let last = self.dirs.partition_point(|dir| dir.record < end);
        (d as usize..last).any(|sub| self.entries(sub as u32).iter().any(|e| pred(self.name(e))))
    }

    /// The directory whose record is number `idx`, if it is one.
    pub fn dir_of(&self, idx: u32) -> u32 {
        self.dirs
            .binary_search_by_key(&idx, |dir| dir.record)
            .map_or(NO_DIR, |d| d as u32)
    }
}

/// Builds a [`Listing`] from the records in path order (see [`super::stored`]): the
/// directories the current record may be below are open, each gathering its entries.
pub(super) struct Lister {
    listing: Listing,
    /// The open directories: number, path, and the entries met so far.
    open: Vec<(u32, Vec<u8>, Vec<Slot>)>,
    /// Paths and lists of closed directories, kept for the next to open.
    spare: Vec<(Vec<u8>, Vec<Slot>)>,
}

/// Why a snapshot cannot be listed: its names or records are more than the listing counts
/// (a file far past any real tree's).
#[derive(Debug)]
pub(super) struct TooLarge;

impl Lister {
    pub fn new(entries: usize) -> Lister {
        Lister {
            listing: Listing {
                slots: Vec::with_capacity(entries),
                names: Vec::with_capacity(entries.saturating_mul(12)),
                dirs: Vec::new(),
                prints: Prints::new(),
            },
            open: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// The next record, number `idx`, after every record before it in path order.
    pub fn add(&mut self, idx: u32, r: &Raw<'_>) -> Result<(), TooLarge> {
        while let Some((_, dir, _)) = self.open.last() {
            if crate::baseline::diff::is_below(r.path, dir) {
                break;
            }
            self.close(idx)?;
        }
        let is_dir = r.kind == EntryKind::Dir;
        let number = u32::try_from(self.listing.dirs.len()).map_err(|_| TooLarge)?;
        if let Some((_, dir, list)) = self.open.last_mut() {
            let skip = dir.len() + usize::from(!dir.ends_with(b"/"));
            let name = &r.path[skip..];
            // Not a root inside an excluded directory (`a/b` below `.`): that is found by
            // its path, and a '/' would break the order of the names.
            if !name.contains(&b'/') {
                let names = &mut self.listing.names;
                list.push(Slot {
                    head: head(name),
                    print: self.listing.prints.of(name, &Stat::of_record(r)),
                    content: r.hash.map_or(0, |h| self.listing.prints.content(&h)),
                    idx,
                    dir: if is_dir { number } else { NO_DIR },
                    name_at: u32::try_from(names.len()).map_err(|_| TooLarge)?,
                    name_len: name.len() as u32,
                });
                names.extend_from_slice(name);
            }
        }
        if is_dir {
            self.listing.dirs.push(Dir {
                record: idx,
                ..Dir::default()
            });
            let (mut path, list) = self.spare.pop().unwrap_or_default();
            path.clear();
            path.extend_from_slice(r.path);
            self.open.push((number, path, list));
        }
        Ok(())
    }

    /// Close the innermost open directory: record `end` is the first after its subtree.
    fn close(&mut self, end: u32) -> Result<(), TooLarge> {
        let (d, path, mut list) = self.open.pop().expect("an open directory");
        let slots = &mut self.listing.slots;
        let from = u32::try_from(slots.len()).map_err(|_| TooLarge)?;
        slots.extend_from_slice(&list);
        let to = u32::try_from(slots.len()).map_err(|_| TooLarge)?;
        self.listing.dirs[d as usize] = Dir {
            end,
            from,
            to,
            ..self.listing.dirs[d as usize]
        };
        list.clear();
        self.spare.push((path, list));
        Ok(())
    }

    /// The listing, once all `count` records were added.
    pub fn finish(mut self, count: u32) -> Result<Listing, TooLarge> {
        while !self.open.is_empty() {
            self.close(count)?;
        }
        Ok(self.listing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(size: u64) -> Stat {
        Stat {
            kind: EntryKind::File,
            perm: 0o644,
            uid: 1,
            gid: 2,
            file: Some((size, 7, (100, 5), (200, 6))),
        }
    }

    /// Names of every length up to 40 bytes, and names alike but for one byte anywhere or
    /// for their length, each have their own fingerprint.
    #[test]
    fn every_byte_and_the_length_of_a_name_count() {
        let p = Prints::new();
        let mut seen = std::collections::HashSet::new();
        let mut names: Vec<Vec<u8>> = Vec::new();
        for len in 0..=40usize {
            let base: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            for at in 0..len {
                let mut n = base.clone();
                n[at] = b'Z';
                names.push(n);
            }
            // Zero bytes are not in names, but a padded word must not stand for them either.
            names.push(base);
        }
        for n in &names {
            assert!(
                seen.insert(p.of(n, &file(1))),
                "{:?}",
                String::from_utf8_lossy(n)
            );
        }
        assert_eq!(seen.len(), names.len());
    }

    /// A change in anything compared changes the fingerprint.
    #[test]
    fn every_field_compared_counts() {
        let p = Prints::new();
        let base = p.of(b"index.php", &file(1));
        assert_eq!(base, p.of(b"index.php", &file(1)));
        let changed = [
            Stat {
                perm: 0o666,
                ..file(1)
            },
            Stat { uid: 0, ..file(1) },
            Stat { gid: 0, ..file(1) },
            Stat {
                kind: EntryKind::Other,
                ..file(1)
            },
            file(2),
            Stat {
                file: Some((1, 8, (100, 5), (200, 6))),
                ..file(1)
            },
            Stat {
                file: Some((1, 7, (101, 5), (200, 6))),
                ..file(1)
            },
            Stat {
                file: Some((1, 7, (100, 4), (200, 6))),
                ..file(1)
            },
            Stat {
                file: Some((1, 7, (100, 5), (201, 6))),
                ..file(1)
            },
            Stat {
                file: Some((1, 7, (100, 5), (200, 7))),
                ..file(1)
            },
            // A file whose content the snapshot has no hash of is read again.
            Stat {
                file: None,
                ..file(1)
            },
        ];
        for s in &changed {
            assert_ne!(base, p.of(b"index.php", s));
        }
        // Another process draws another key.
        assert_ne!(base, Prints::new().of(b"index.php", &file(1)));
    }
}
