//! Quoting for a POSIX shell, so that a printed fix can be pasted as it is, whatever bytes
//! the path it names holds.

use crate::sanitize::is_unsafe;

/// Quote a word for a POSIX shell, so a printed fix can be pasted as it is.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Quote a path for a shell exactly, whatever bytes it holds: plain quoting when it is
/// printable UTF-8, else bash's `$'...'` with `\xNN` escapes, which is also safe to print.
pub fn shell_quote_path(p: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let bytes = p.as_os_str().as_bytes();
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(is_unsafe) => shell_quote(s),
        _ => {
            let mut out = String::from("$'");
            for chunk in bytes.utf8_chunks() {
                for c in chunk.valid().chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\'' => out.push_str("\\'"),
                        c if is_unsafe(c) => {
                            let mut buf = [0u8; 4];
                            for b in c.encode_utf8(&mut buf).bytes() {
                                out.push_str(&format!("\\x{b:02x}"));
                            }
                        }
                        c => out.push(c),
                    }
                }
                for b in chunk.invalid() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            out.push('\'');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_paths_quote_exactly() {
        use std::os::unix::ffi::OsStrExt;
        let p = std::path::Path::new(std::ffi::OsStr::from_bytes(b"/w/caf\xe9 it's\n\x1b"));
        assert_eq!(shell_quote_path(p), "$'/w/caf\\xe9 it\\'s\\x0a\\x1b'");
        assert_eq!(shell_quote_path(std::path::Path::new("/w/a b")), "'/w/a b'");
    }

    #[test]
    fn quoting_is_safe_for_shells() {
        assert_eq!(shell_quote("/var/www/index.php"), "/var/www/index.php");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
