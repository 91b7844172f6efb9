//! Make untrusted text safe to print: a file name or a log line must not inject terminal
//! escape sequences, and a non-UTF-8 path must be shown losslessly.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Replace control characters (ESC, CR, BEL, C1 controls...) with visible escapes, so the
/// text prints on one line and cannot drive the terminal. Tabs stay.
pub fn terminal(s: &str) -> String {
    if !s.chars().any(is_unsafe) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c) {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A path as text, losslessly: valid UTF-8 is kept, every other byte becomes `\xNN`, and a
/// literal backslash is doubled so the escaping can be undone. Control characters are
/// escaped the same way, so the result is also safe on a terminal.
pub fn path(p: &Path) -> String {
    bytes(p.as_os_str().as_bytes())
}

/// Like [`path`], for any byte string.
pub fn bytes(b: &[u8]) -> String {
    let needs_work = b
        .iter()
        .any(|&c| c == b'\\' || c < 0x20 || c == 0x7f || c >= 0x80);
    if !needs_work {
        // Plain printable ASCII.
        return String::from_utf8_lossy(b).into_owned();
    }
    let mut out = String::with_capacity(b.len() + 8);
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if is_unsafe(c) && (c as u32) < 0x100 => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn escapes_control_sequences() {
        assert_eq!(terminal("ok\tfine"), "ok\tfine");
        assert_eq!(terminal("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(terminal("two\nlines\r"), "two\\nlines\\r");
        assert_eq!(terminal("\u{9b}x"), "\\x9bx");
        assert_eq!(terminal("rtl\u{202e}txt"), "rtl\\u{202e}txt");
    }

    #[test]
    fn paths_are_lossless() {
        let p = Path::new(OsStr::from_bytes(b"/srv/caf\xe9/a\\b\n\xc3\xa9"));
        assert_eq!(path(p), "/srv/caf\\xe9/a\\\\b\\x0aé");
        assert_eq!(path(Path::new("/var/www/index.php")), "/var/www/index.php");
    }
}
