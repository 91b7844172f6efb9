//! Configuration pieces shared by the checks that walk a directory tree: a path or list of
//! paths, exclusion globs, octal modes.

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use toml::Spanned;

use crate::check::Ctx;
use crate::span::SpanError;
use crate::walk;
use std::time::Duration;

/// The field of the walking kinds that keeps a scan on one filesystem.
pub const ONE_FILE_SYSTEM: super::FieldDoc = super::FieldDoc {
    name: "one_file_system",
    ty: "bool",
    default: "true",
    doc: "Do not descend into other mounted filesystems.",
};

/// A field that takes one string or a list of them.
#[derive(Debug, Clone, PartialEq)]
pub struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![s.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut v = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    v.push(s);
                }
                if v.is_empty() {
                    return Err(de::Error::custom("the list must not be empty"));
                }
                Ok(OneOrMany(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl OneOrMany {
    pub fn paths(&self) -> Vec<PathBuf> {
        self.0.iter().map(PathBuf::from).collect()
    }
}

/// Exclusion globs. A pattern without `/` matches a name at any depth (`*.log`, `cache`);
/// one starting with `/` matches the absolute path; any other matches the path relative to
/// the root (`wp-content/uploads/**`). `*` stays within one path component, `**` crosses them.
#[derive(Debug, Default)]
pub struct Excludes {
    /// The patterns as written, so a snapshot can record what its walk left out.
    patterns: Vec<String>,
    names: Option<GlobSet>,
    absolute: Option<GlobSet>,
    relative: Option<GlobSet>,
}

impl Excludes {
    pub fn parse(patterns: &[Spanned<String>]) -> Result<Excludes, SpanError> {
        let mut names = GlobSetBuilder::new();
        let mut abs = GlobSetBuilder::new();
        let mut rel = GlobSetBuilder::new();
        let (mut n, mut a, mut r) = (false, false, false);
        for p in patterns {
            let text = p.get_ref().trim_end_matches('/');
            let glob = GlobBuilder::new(text)
                .literal_separator(true)
                .build()
                .map_err(|e| {
                    SpanError::new(
                        p.span(),
                        format!("invalid glob {:?}: {}", p.get_ref(), e.kind()),
                    )
                })?;
            if !text.contains('/') {
                names.add(glob);
                n = true;
            } else if text.starts_with('/') {
                abs.add(glob);
                a = true;
            } else {
                rel.add(glob);
                r = true;
            }
        }
        let build = |b: GlobSetBuilder, used: bool| {
            used.then(|| b.build().expect("globs already validated"))
        };
        Ok(Excludes {
            patterns: patterns.iter().map(|p| p.get_ref().clone()).collect(),
            names: build(names, n),
            absolute: build(abs, a),
            relative: build(rel, r),
        })
    }

    /// The patterns as written.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Excludes from patterns already validated once (read back from a snapshot).
    pub fn from_patterns(patterns: &[String]) -> Result<Excludes, String> {
        let spanned: Vec<Spanned<String>> = patterns
            .iter()
            .map(|p| Spanned::new(0..0, p.clone()))
            .collect();
        Excludes::parse(&spanned).map_err(|e| e.message)
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_none() && self.absolute.is_none() && self.relative.is_none()
    }

    pub fn matches(&self, root: &Path, path: &Path, name: &std::ffi::OsStr) -> bool {
        if self
            .names
            .as_ref()
            .is_some_and(|s| s.is_match(Path::new(name)))
        {
            return true;
        }
        if self.absolute.as_ref().is_some_and(|s| s.is_match(path)) {
            return true;
        }
        match (&self.relative, path.strip_prefix(root)) {
            (Some(s), Ok(rel)) => s.is_match(rel),
            _ => false,
        }
    }
}

/// The tree a walking check covers, for the baseline: its roots, what it leaves out, and
/// whether it stays on one filesystem.
#[derive(Debug)]
pub struct TreeScope<'a> {
    pub roots: Vec<PathBuf>,
    pub exclude: &'a Excludes,
    pub one_file_system: bool,
}

/// An octal mode field, validated where it is written.
pub fn mode_field(field: &Option<Spanned<String>>, default: u32) -> Result<u32, SpanError> {
    match field {
        None => Ok(default),
        Some(s) => crate::units::parse_mode(s.get_ref()).map_err(|e| SpanError::new(s.span(), e)),
    }
}

/// `rw-r--r--` style text for a mode, with its octal value: `0644 (rw-r--r--)`.
pub fn mode_text(perm: u32) -> String {
    let mut s = String::with_capacity(9);
    for (shift, special, sc) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let b = (perm >> shift) & 7;
        s.push(if b & 4 != 0 { 'r' } else { '-' });
        s.push(if b & 2 != 0 { 'w' } else { '-' });
        let x = b & 1 != 0;
        s.push(match (perm & special != 0, x) {
            (true, true) => sc,
            (true, false) => sc.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    format!("{perm:04o} ({s})")
}

/// `max_details`: how many findings a report lists (the totals are always complete).
pub fn max_details(field: &Option<Spanned<i64>>) -> Result<usize, SpanError> {
    match field {
        None => Ok(50),
        Some(m) if *m.get_ref() < 0 || *m.get_ref() > 100_000 => Err(SpanError::new(
            m.span(),
            "max_details must be between 0 and 100000",
        )),
        Some(m) => Ok(*m.get_ref() as usize),
    }
}

/// How a check walks a tree: on all cores, stopping a little before the runner's deadline
/// so that it reports what it saw.
pub fn walk_options(ctx: &Ctx, one_file_system: bool) -> walk::Options {
    let left = ctx.remaining();
    walk::Options {
        one_file_system,
        deadline: Some(ctx.deadline - (left / 10).min(Duration::from_millis(500))),
        threads: walk::default_threads(),
    }
}

/// What a scan that hit its deadline says, in the report and to `fix`.
pub fn stopped_early(entries: u64) -> String {
    format!(
        "the scan stopped at the time limit after {entries} entries: raise `timeout` for this check"
    )
}

/// A report's note that `fix --apply` will not touch a root, and why.
pub fn refused_note(why: &str) -> String {
    format!("`sitedoctor fix --apply` changes nothing here: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(p: &[&str]) -> Excludes {
        let v: Vec<Spanned<String>> = p
            .iter()
            .map(|s| Spanned::new(0..1, s.to_string()))
            .collect();
        Excludes::parse(&v).unwrap()
    }

    #[test]
    fn exclusion_forms() {
        let root = Path::new("/var/www");
        let e = ex(&[
            "*.log",
            "/var/www/cache",
            "wp-content/uploads/**",
            "node_modules/",
        ]);
        let m = |p: &str| e.matches(root, Path::new(p), Path::new(p).file_name().unwrap());
        assert!(m("/var/www/a/b/error.log"));
        assert!(m("/var/www/cache"));
        assert!(!m("/var/www/a/cache"));
        assert!(m("/var/www/wp-content/uploads/2024/x.jpg"));
        assert!(m("/var/www/x/node_modules"));
        assert!(!m("/var/www/index.php"));
    }

    #[test]
    fn bad_glob_is_located() {
        let v = vec![Spanned::new(5..9, "[abc".to_string())];
        let e = Excludes::parse(&v).unwrap_err();
        assert_eq!(e.span, Some(5..9));
    }

    #[test]
    fn modes_read_like_ls() {
        assert_eq!(mode_text(0o644), "0644 (rw-r--r--)");
        assert_eq!(mode_text(0o4755), "4755 (rwsr-xr-x)");
        assert_eq!(mode_text(0o1777), "1777 (rwxrwxrwt)");
        assert_eq!(mode_text(0o2640), "2640 (rw-r-S---)");
    }
}
