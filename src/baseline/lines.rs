//! Keyed per-line hashes of text files, and the line ranges that differ between two of them:
//! how `diff` says "lines 86-90 changed" without a copy of the old content.

use super::key::Key;

/// Files larger than this get a content hash only, no line hashes.
pub const MAX_TEXT: u64 = 256 * 1024;

/// Lines beyond this count are not hashed one by one (a minified bundle).
const MAX_LINES: usize = 20_000;

/// Whether `bytes` reads as text: no NUL byte, as `grep` and `git` judge it.
pub fn is_text(bytes: &[u8]) -> bool {
    memchr::memchr(0, bytes).is_none()
}

/// A 4-byte keyed hash of every line (without its newline), or `None` for a file that is
/// not text or has too many lines. Four bytes are plenty to find which lines changed: the
/// whole file's 32-byte hash already says whether anything did.
pub fn hashes(key: &Key, bytes: &[u8]) -> Option<Vec<u32>> {
    if !is_text(bytes) {
        return None;
    }
    let mut out = Vec::new();
    for line in split(bytes) {
        if out.len() == MAX_LINES {
            return None;
        }
        let d = key.hash(line);
        out.push(u32::from_le_bytes([d.0[0], d.0[1], d.0[2], d.0[3]]));
    }
    Some(out)
}

/// The lines of `bytes`, without their `\n` (a last line without one counts).
pub fn split(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let empty = bytes.is_empty();
    body.split(|&b| b == b'\n').filter(move |_| !empty)
}

/// One place where the files differ: lines `old` of the old file became lines `new` of the
/// new one (0-based, end exclusive; either may be empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    pub old: std::ops::Range<usize>,
    pub new: std::ops::Range<usize>,
}

impl Hunk {
    /// The changed lines in the new file, 1-based and inclusive; a deletion is shown as the
    /// line it happened before (or the last line).
    pub fn new_lines(&self, new_len: usize) -> (u64, u64) {
        if self.new.is_empty() {
            let at = (self.new.start + 1).min(new_len.max(1)) as u64;
            (at, at)
        } else {
            (self.new.start as u64 + 1, self.new.end as u64)
        }
    }
}

/// The longest middle part compared line by line; beyond it, the middle is one hunk.
const MAX_MIDDLE: usize = 4_000;

/// Where `old` and `new` differ, in order: common prefix and suffix trimmed, then a longest
/// common subsequence over what is left (a single hunk when that is too large).
pub fn hunks(old: &[u32], new: &[u32]) -> Vec<Hunk> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let (o, n) = (&old[prefix..], &new[prefix..]);
    let suffix = o
        .iter()
        .rev()
        .zip(n.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (o, n) = (&o[..o.len() - suffix], &n[..n.len() - suffix]);
    if o.is_empty() && n.is_empty() {
        return Vec::new();
    }
    if o.len() * n.len() > MAX_MIDDLE * MAX_MIDDLE / 4
        || o.len() > MAX_MIDDLE
        || n.len() > MAX_MIDDLE
    {
        return vec![Hunk {
            old: prefix..prefix + o.len(),
            new: prefix..prefix + n.len(),
        }];
    }
    lcs_hunks(o, n)
        .into_iter()
        .map(|h| Hunk {
            old: h.old.start + prefix..h.old.end + prefix,
            new: h.new.start + prefix..h.new.end + prefix,
        })
        .collect()
}

/// The classic dynamic programme: lengths of common subsequences of the suffixes, then one
/// walk from the start collecting the runs that are not common.
fn lcs_hunks(o: &[u32], n: &[u32]) -> Vec<Hunk> {
    let w = n.len() + 1;
    let mut len = vec![0u16; (o.len() + 1) * w];
    for i in (0..o.len()).rev() {
        for j in (0..n.len()).rev() {
            len[i * w + j] = if o[i] == n[j] {
                len[(i + 1) * w + j + 1].saturating_add(1)
            } else {
                len[(i + 1) * w + j].max(len[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out: Vec<Hunk> = Vec::new();
    let mut open: Option<(usize, usize)> = None;
    while i < o.len() || j < n.len() {
        if i < o.len() && j < n.len() && o[i] == n[j] {
            if let Some((oi, nj)) = open.take() {
                out.push(Hunk {
                    old: oi..i,
                    new: nj..j,
                });
            }
            i += 1;
            j += 1;
            continue;
        }
        open.get_or_insert((i, j));
        if j < n.len() && (i == o.len() || len[i * w + j + 1] >= len[(i + 1) * w + j]) {
            j += 1;
        } else {
            i += 1;
        }
    }
    if let Some((oi, nj)) = open {
        out.push(Hunk {
            old: oi..o.len(),
            new: nj..n.len(),
        });
    }
    out
}

/// `3-5, 88` for people.
pub fn ranges_text(ranges: &[(u64, u64)]) -> String {
    ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key::from_bytes([7; 32])
    }

    fn ranges(old: &str, new: &str) -> Vec<(u64, u64)> {
        let (o, n) = (
            hashes(&key(), old.as_bytes()).unwrap(),
            hashes(&key(), new.as_bytes()).unwrap(),
        );
        hunks(&o, &n).iter().map(|h| h.new_lines(n.len())).collect()
    }

    #[test]
    fn finds_the_changed_inserted_and_deleted_lines() {
        assert_eq!(ranges("a\nb\nc\nd\n", "a\nB\nc\nd\n"), [(2, 2)]);
        assert_eq!(ranges("a\nb\nc\nd\n", "a\nb\nx\ny\nc\nd\n"), [(3, 4)]);
        assert_eq!(ranges("a\nb\nc\nd\n", "a\nd\n"), [(2, 2)]);
        assert_eq!(
            ranges("1\n2\n3\n4\n5\n6\n7\n", "1\nX\n3\n4\n5\nY\nZ\n7\n"),
            [(2, 2), (6, 7)]
        );
        assert!(ranges("same\n", "same\n").is_empty());
        assert_eq!(ranges("", "new\n"), [(1, 1)]);
    }

    #[test]
    fn binary_files_have_no_line_hashes_and_lines_are_keyed() {
        assert_eq!(hashes(&key(), b"a\0b"), None);
        let other = Key::from_bytes([8; 32]);
        assert_ne!(hashes(&key(), b"x\n"), hashes(&other, b"x\n"));
        assert_eq!(split(b"a\n\nb").count(), 3);
        assert_eq!(ranges_text(&[(3, 5), (88, 88)]), "3-5, 88");
    }
}
