//! Fingerprints of what a program's answer is a pure function of — the package database for
//! `dpkg-query`; the binary, its ini files and extension directories for `php-fpm -m/-v` —
//! so that `diff` reuses the answer the snapshot recorded while nothing it depends on has
//! changed, instead of running the program again. Each is a keyed hash of file metadata
//! (inode, size, mtime and ctime in nanoseconds, mode; a symlink's target): an edit, an
//! atomic rewrite or a touch changes it. Anything that cannot be read gives no fingerprint,
//! and no fingerprint means "run it".

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::Host;
use crate::baseline::key::{Digest, Key};
use crate::sys::readcap;
use crate::webstack::Server;

/// A fingerprint being built.
struct Stamp(blake3::Hasher);

impl Stamp {
    fn new(key: &Key, what: &str) -> Stamp {
        let mut s = Stamp(key.hasher());
        s.bytes(what.as_bytes());
        s
    }

    /// Length-prefixed, so no two sequences of parts hash alike.
    fn bytes(&mut self, b: &[u8]) {
        self.0.update(&(b.len() as u64).to_le_bytes());
        self.0.update(b);
    }

    fn num(&mut self, n: i64) {
        self.0.update(&n.to_le_bytes());
    }

    /// `p`'s metadata (through a symlink, whose target is taken too); that it is absent is a
    /// fact like any other.
    fn file(&mut self, p: &Path) -> io::Result<()> {
        self.bytes(p.as_os_str().as_bytes());
        let meta = match std::fs::symlink_metadata(p) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.bytes(b"absent");
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let meta = if meta.file_type().is_symlink() {
            self.bytes(std::fs::read_link(p)?.as_os_str().as_bytes());
            match std::fs::metadata(p) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    self.bytes(b"dangling");
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        } else {
            meta
        };
        for n in [
            meta.dev() as i64,
            meta.ino() as i64,
            meta.size() as i64,
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ctime(),
            meta.ctime_nsec(),
            i64::from(meta.mode()),
        ] {
            self.num(n);
        }
        Ok(())
    }

    /// Every entry of the directory `p`, by name (an absent directory is a fact); returns
    /// their paths, sorted (none for an absent directory).
    fn dir(&mut self, p: &Path) -> io::Result<Vec<PathBuf>> {
        self.bytes(p.as_os_str().as_bytes());
        let mut names = match std::fs::read_dir(p) {
            Ok(rd) => rd
                .map(|e| e.map(|e| e.file_name()))
                .collect::<io::Result<Vec<_>>>()?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.bytes(b"absent");
                return Ok(Vec::new());
            }
            Err(e) => return Err(e),
        };
        names.sort();
        self.num(names.len() as i64);
        let paths: Vec<PathBuf> = names.into_iter().map(|n| p.join(n)).collect();
        for path in &paths {
            self.file(path)?;
        }
        Ok(paths)
    }

    fn finish(self) -> Digest {
        Digest::of(&self.0)
    }
}

/// dpkg's database directory: what `dpkg-query` reads under `host`.
pub fn dpkg_admindir(host: &Host) -> PathBuf {
    if host.sysroot == Path::new("/") {
        if let Some(d) = std::env::var_os("DPKG_ADMINDIR").filter(|d| !d.is_empty()) {
            return PathBuf::from(d);
        }
        return PathBuf::from("/var/lib/dpkg");
    }
    host.sysroot.join("var/lib/dpkg")
}

/// The package database: dpkg rewrites `status` atomically (a new inode) on every install,
/// removal and upgrade, and journals into `updates/` until it does. `None` where there is
/// no dpkg database or it cannot be read.
pub fn package_db(key: &Key, host: &Host) -> Option<Digest> {
    let admin = dpkg_admindir(host);
    let status = admin.join("status");
    if !status.is_file() {
        return None;
    }
    let mut s = Stamp::new(key, "dpkg");
    s.bytes(super::packages::question().as_bytes());
    s.file(&status).ok()?;
    s.dir(&admin.join("updates")).ok()?;
    Some(s.finish())
}

/// What `fpm -m` and `fpm -v` answer from, for a Debian-layout FPM (`/etc/php/8.2/fpm`):
/// the binary; the package database (the libraries it and its extensions load); its
/// `php.ini` and every entry of `conf.d`; every extension directory PHP may load from (each
/// `PREFIX/lib/php/*/`, `PREFIX/lib/php/extensions/*/`, for `PREFIX` the binary's `/usr`,
/// and anything an ini file names by absolute path). `None` — run it — without a package
/// database, for another layout, or when `PHPRC`/`PHP_INI_SCAN_DIR` point PHP elsewhere.
pub fn php(key: &Key, s: &Server, host: &Host, db: Option<&Digest>) -> Option<Digest> {
    let db = db?;
    if ["PHPRC", "PHP_INI_SCAN_DIR"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
    {
        return None;
    }
    let ini_dir = s.config.parent()?;
    let ini = ini_dir.join("php.ini");
    if ini_dir.file_name()? != "fpm" || !ini.is_file() {
        return None;
    }
    // Only the distribution's own binary, whose compiled-in ini path and scan directory are
    // the ones watched here: a symlink to another build, or one under /usr/local, is asked.
    let bin_dir = s.binary.parent()?;
    if bin_dir != host.sysroot.join("usr/sbin")
        || std::fs::symlink_metadata(&s.binary)
            .ok()?
            .file_type()
            .is_symlink()
    {
        return None;
    }
    let mut st = Stamp::new(key, "php-fpm -m -v, parsed 1");
    st.bytes(&db.0);
    st.file(&s.binary).ok()?;
    st.file(&ini).ok()?;
    // PHP looks for these before php.ini, beside its configuration and its binary.
    for other in [
        ini_dir.join("php-fpm-fcgi.ini"),
        bin_dir.join("php.ini"),
        bin_dir.join("php-fpm-fcgi.ini"),
    ] {
        st.file(&other).ok()?;
    }
    let conf_d = st.dir(&ini_dir.join("conf.d")).ok()?;
    let mut inis = vec![ini];
    inis.extend(conf_d.into_iter().filter(|p| p.is_file()));
    for p in inis {
        let text = readcap::read_text_capped(&p, readcap::DEFAULT_CAP).ok()?;
        for (dir, named) in absolute_paths(&text) {
            let named = host.sysroot.join(named.strip_prefix("/").unwrap_or(&named));
            if dir {
                st.dir(&named).ok()?;
            } else {
                st.file(&named).ok()?;
            }
        }
    }
    let prefix = s.binary.parent()?.parent()?;
    for base in [prefix.join("lib/php"), prefix.join("lib/php/extensions")] {
        for d in st.dir(&base).ok()?.into_iter().filter(|p| p.is_dir()) {
            st.dir(&d).ok()?;
        }
    }
    Some(st.finish())
}

/// The absolute paths an ini file loads from: `extension_dir` (a directory: `true`) and
/// `extension`/`zend_extension` given as a path.
fn absolute_paths(text: &str) -> Vec<(bool, PathBuf)> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once('=')?;
            let k = k.trim().to_ascii_lowercase();
            let v = v.split(';').next()?.trim().trim_matches(['"', '\'']);
            let dir = match k.as_str() {
                "extension_dir" => true,
                "extension" | "zend_extension" => false,
                _ => return None,
            };
            v.starts_with('/').then(|| (dir, PathBuf::from(v)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::absolute_paths;

    #[test]
    fn ini_paths_outside_the_default_extension_dir() {
        let ini = "; comment\nextension=mysqli\nzend_extension = \"/opt/x/xdebug.so\" ; dbg\n\
                   Extension_Dir=/opt/ext\n;extension=/no/such.so\nmemory_limit=1G\n";
        assert_eq!(
            absolute_paths(ini),
            [
                (false, "/opt/x/xdebug.so".into()),
                (true, "/opt/ext".into())
            ]
        );
    }
}
