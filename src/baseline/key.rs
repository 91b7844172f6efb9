//! The snapshot key: every content, line and value hash in a snapshot is keyed BLAKE3, so the
//! record of a `.env` or a `wp-config.php` cannot be brute-forced back to its secrets without
//! the key, which lives alone in a 0600 file beside the snapshots.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The key file's name inside the baseline directory.
pub const FILE: &str = "key";

/// A 32-byte BLAKE3 key.
#[derive(Clone)]
pub struct Key([u8; 32]);

/// A keyed hash, printed as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(…)")
    }
}

impl Key {
    /// A key from raw bytes (tests, and a key read back from its file).
    pub fn from_bytes(bytes: [u8; 32]) -> Key {
        Key(bytes)
    }

    /// The key in `dir/key`, created (0600, from the kernel's random source) when absent.
    /// A key file that is not a regular 32-byte file owned by us with no group or other
    /// access is refused: anyone who can read it can test guesses against the hashes.
    pub fn load_or_create(dir: &Path) -> io::Result<Key> {
        let path = dir.join(FILE);
        match Self::load(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            other => return other,
        }
        let mut bytes = [0u8; 32];
        File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        let mut file = match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path)
        {
            Ok(file) => file,
            // Another snapshot created it first: use theirs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Self::load(&path),
            Err(e) => return Err(e),
        };
        file.write_all(&bytes)?;
        file.sync_all()?;
        Ok(Key(bytes))
    }

    /// The key in `path`, which must already exist.
    pub fn load(path: &Path) -> io::Result<Key> {
        let mut file = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(path)?;
        let meta = file.metadata()?;
        let bad = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
        if !meta.is_file() {
            return Err(bad(format!("{} is not a regular file", path.display())));
        }
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(bad(format!(
                "{} is readable by others (mode {:o}); run: {}",
                crate::sanitize::path(path),
                meta.permissions().mode() & 0o7777,
                crate::fixes::chmod_command(0o600, path)
            )));
        }
        if meta.uid() != nix::unistd::geteuid().as_raw() {
            return Err(bad(format!(
                "{} belongs to another user (uid {})",
                path.display(),
                meta.uid()
            )));
        }
        if meta.len() != 32 {
            return Err(bad(format!(
                "{} is {} bytes, not 32: not a sitedoctor key",
                path.display(),
                meta.len()
            )));
        }
        let mut bytes = [0u8; 32];
        file.read_exact(&mut bytes)?;
        Ok(Key(bytes))
    }

    /// The keyed hash of `bytes`.
    pub fn hash(&self, bytes: &[u8]) -> Digest {
        Digest(*blake3::keyed_hash(&self.0, bytes).as_bytes())
    }

    /// A keyed hasher, for content read in pieces.
    pub fn hasher(&self) -> blake3::Hasher {
        blake3::Hasher::new_keyed(&self.0)
    }

    /// The keyed hash of one named value (an environment variable): the name is part of the
    /// input, so two variables with the same value do not show the same hash.
    pub fn hash_value(&self, name: &str, value: &[u8]) -> Digest {
        let mut h = self.hasher();
        h.update(name.as_bytes());
        h.update(&[0]);
        h.update(value);
        Digest(*h.finalize().as_bytes())
    }
}

impl Digest {
    /// The digest from a finished hasher.
    pub fn of(hasher: &blake3::Hasher) -> Digest {
        Digest(*hasher.finalize().as_bytes())
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Digest> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Digest(out))
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", &self.to_hex()[..16])
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Digest::from_hex(&text)
            .ok_or_else(|| serde::de::Error::custom("a hash must be 64 hex digits"))
    }
}

/// Makes `dir` (the baseline directory) if needed, readable only by its owner.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let meta = fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a directory", dir.display()),
        ));
    }
    if meta.permissions().mode() & 0o077 != 0 && meta.uid() == nix::unistd::geteuid().as_raw() {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_changes_the_hash_and_names_separate_values() {
        let a = Key::from_bytes([1; 32]);
        let b = Key::from_bytes([2; 32]);
        assert_ne!(a.hash(b"secret"), b.hash(b"secret"));
        assert_eq!(a.hash(b"secret"), a.hash(b"secret"));
        assert_ne!(a.hash_value("A", b"x"), a.hash_value("B", b"x"));
        let d = a.hash(b"x");
        assert_eq!(Digest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(Digest::from_hex("zz"), None);
    }

    #[test]
    fn a_key_file_others_can_read_is_refused_and_a_new_one_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let key = Key::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(FILE);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(Key::load(&path).unwrap().hash(b"x"), key.hash(b"x"));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = Key::load(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}
