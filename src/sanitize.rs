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

/// Like [`terminal`] for text whose lines are meant (a multi-line fix): each line is made
/// safe and the newlines between them stay.
pub fn terminal_lines(s: &str) -> String {
    if !s.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return s.to_string();
    }
    s.split('\n').map(terminal).collect::<Vec<_>>().join("\n")
}

/// Control characters (C0 but tab, DEL, C1), and the invisible characters that reorder or
/// break text: bidirectional controls (`U+202E` makes `txt.exe` read `exe.txt`) and the
/// Unicode line and paragraph separators.
pub fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
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
        assert_eq!(
            terminal("\u{2067}a\u{2069}\u{61c}\u{2028}"),
            "\\u{2067}a\\u{2069}\\u{61c}\\u{2028}"
        );
        assert_eq!(
            terminal("\u{1b}]8;;http://x\u{7}link\u{1b}]8;;\u{1b}\\"),
            "\\x1b]8;;http://x\\x07link\\x1b]8;;\\x1b\\"
        );
    }

    #[test]
    fn shell_commands_quote_bidi_controls_exactly() {
        let p = Path::new("/srv/a\u{202e}txt.php");
        assert_eq!(
            crate::shell::shell_quote_path(p),
            "$'/srv/a\\xe2\\x80\\xaetxt.php'"
        );
    }

    #[test]
    fn lines_stay_lines() {
        assert_eq!(terminal_lines("a\nb"), "a\nb");
        assert_eq!(terminal_lines("a\u{1b}[1m\r\nb"), "a\\x1b[1m\\r\nb");
    }

    #[test]
    fn paths_are_lossless() {
        let p = Path::new(OsStr::from_bytes(b"/srv/caf\xe9/a\\b\n\xc3\xa9"));
        assert_eq!(path(p), "/srv/caf\\xe9/a\\\\b\\x0aé");
        assert_eq!(path(Path::new("/var/www/index.php")), "/var/www/index.php");
    }
}
