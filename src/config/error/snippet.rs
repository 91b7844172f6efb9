//! The source line a configuration error shows, with its secrets masked. Every value on a
//! line is `***` when the line holds a URL with credentials, a secret-looking key, or
//! `headers`, `env` or `body` (their inline tables, multi-line strings and `[…]` tables
//! included); elsewhere `--password=…` and URL secrets inside values are masked.

use std::ops::Range;

use crate::net::redact::{self, MASK, Secrets};

/// Keys whose values are secret whatever they are called.
const SECRET_KEYS: &[&str] = &["headers", "env", "body"];

/// What the lexer knows at the start of a line.
#[derive(Debug, Default)]
struct State {
    /// Inside a multi-line string: its closing delimiter, and whether it is secret.
    ml: Option<(&'static str, bool)>,
    /// The `{` and `[` of values still open: whether secret, whether a table (of keys).
    open: Vec<(bool, bool)>,
    /// The current `[table]` is secret (`[check.env]`).
    table: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Space,
    Punct(u8),
    /// Quotes around a string.
    Delim,
    /// A string's content.
    Str,
    Bare,
    Comment,
}

/// The line starting at byte `line_start` of `text`, masked; the caret column (1-based)
/// that points at what `col` pointed at; and the values that were masked.
pub(super) fn masked(text: &str, line_start: usize, col: usize) -> (String, usize, Secrets) {
    let mut st = State::default();
    for l in text.get(..line_start).unwrap_or("").lines() {
        classify(l, &mut st);
    }
    let line = text
        .get(line_start..)
        .unwrap_or("")
        .lines()
        .next()
        .unwrap_or("");
    let (parts, secret) = classify(line, &mut st);
    let caret_at = line
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(line.len(), |(i, _)| i);
    let mut out = String::new();
    let mut caret = None;
    let mut found = Secrets::new();
    for (range, value) in parts {
        let piece = line.get(range.clone()).unwrap_or("");
        let shown = match value {
            true if (secret || secret_comment(line, &range)) && !piece.trim().is_empty() => {
                found.add(piece);
                let lead = piece
                    .get(..piece.len() - piece.trim_start().len())
                    .unwrap_or("");
                format!("{lead}{MASK}")
            }
            true => {
                found.add_text(piece);
                redact::text(piece)
            }
            false => piece.to_string(),
        };
        if caret.is_none() && range.contains(&caret_at) {
            let into = if shown == piece {
                line.get(range.start..caret_at)
                    .unwrap_or("")
                    .chars()
                    .count()
            } else {
                0
            };
            caret = Some(out.chars().count() + into);
        }
        out.push_str(&shown);
    }
    let caret = caret.unwrap_or_else(|| out.chars().count()) + 1;
    (out, caret, found)
}

/// Cut a line into pieces, each a value (a string's content, a bare value, a comment) or
/// not; whether the line is secret; and the state after it.
fn classify(line: &str, st: &mut State) -> (Vec<(Range<usize>, bool)>, bool) {
    let continued = st.ml;
    let (toks, opened) = tokens(line, st);
    if continued.is_none() && st.open.is_empty() && line.trim_start().starts_with('[') {
        let header = line.trim().trim_matches(['[', ']']);
        st.table = header.split('.').any(|k| secret_key(k.trim()));
        return (toks.into_iter().map(|(r, _)| (r, false)).collect(), false);
    }
    let ctx = |st: &State| st.table || st.open.last().is_some_and(|o| o.0);
    let mut secret = ctx(st) || continued.is_some_and(|(_, s)| s);
    let mut expect_key = st.open.last().is_none_or(|o| o.1);
    let (mut chain, mut pending) = (false, ctx(st));
    let mut parts = Vec::with_capacity(toks.len());
    for (i, (range, tok)) in toks.iter().enumerate() {
        let text = line.get(range.clone()).unwrap_or("");
        let is_key =
            expect_key && matches!(tok, Tok::Str | Tok::Bare) && !(i == 0 && continued.is_some());
        match tok {
            _ if is_key => chain |= secret_key(text),
            Tok::Punct(b'=') => {
                pending = chain || ctx(st);
                secret |= chain;
                chain = false;
                expect_key = false;
            }
            Tok::Punct(b'{') => {
                st.open.push((pending || ctx(st), true));
                expect_key = true;
            }
            Tok::Punct(b'[') => {
                st.open.push((pending || ctx(st), false));
                expect_key = false;
            }
            Tok::Punct(b'}' | b']') => {
                st.open.pop();
                expect_key = false;
            }
            Tok::Punct(b',') => expect_key = st.open.last().is_some_and(|o| o.1),
            Tok::Str if redact::has_userinfo(text) => secret = true,
            _ => {}
        }
        let value = matches!(tok, Tok::Str | Tok::Bare | Tok::Comment) && !is_key;
        parts.push((range.clone(), value));
    }
    if let (Some(close), Some((_, _))) = (opened, st.ml) {
        st.ml = Some((close, secret || pending));
    }
    (parts, secret)
}

/// A comment that names a secret or holds something like one (`# password: …`).
fn secret_comment(line: &str, range: &Range<usize>) -> bool {
    let before = line.get(..range.start).unwrap_or("");
    let text = line.get(range.clone()).unwrap_or("");
    before.ends_with('#')
        && (redact::has_userinfo(text)
            || text
                .split(|c: char| c.is_whitespace() || matches!(c, ':' | '=' | ','))
                .any(|w| redact::is_secret_name(w) || redact::looks_like_token(w)))
}

fn secret_key(k: &str) -> bool {
    let k = k.trim_matches(['"', '\'']);
    SECRET_KEYS.iter().any(|s| k.eq_ignore_ascii_case(s)) || redact::is_secret_name(k)
}

/// The line's tokens, and the delimiter of a multi-line string opened on it and left
/// open; `st.ml` says whether one is open before and after.
fn tokens(line: &str, st: &mut State) -> (Vec<(Range<usize>, Tok)>, Option<&'static str>) {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut opened = None;
    let mut i = 0;
    if let Some((close, secret)) = st.ml {
        match find_close(line, 0, close) {
            Some(end) => {
                out.push((0..end, Tok::Str));
                out.push((end..end + close.len(), Tok::Delim));
                i = end + close.len();
                st.ml = None;
            }
            None => {
                out.push((0..b.len(), Tok::Str));
                st.ml = Some((close, secret));
                return (out, None);
            }
        }
    }
    while i < b.len() {
        let start = i;
        match b[i] {
            b' ' | b'\t' => {
                i += 1;
                out.push((start..i, Tok::Space));
            }
            b'#' => {
                out.push((i..i + 1, Tok::Delim));
                out.push((i + 1..b.len(), Tok::Comment));
                i = b.len();
            }
            q @ (b'"' | b'\'') => {
                let close = match q {
                    b'"' if b[i..].starts_with(b"\"\"\"") => Some("\"\"\""),
                    b'\'' if b[i..].starts_with(b"'''") => Some("'''"),
                    _ => None,
                };
                let open_len = close.map_or(1, str::len);
                out.push((i..i + open_len, Tok::Delim));
                let body = i + open_len;
                let found = match close {
                    Some(c) => find_close(line, body, c),
                    None => find_quote(b, body, q),
                };
                let close_len = close.map_or(1, str::len);
                match found {
                    Some(end) => {
                        out.push((body..end, Tok::Str));
                        out.push((end..end + close_len, Tok::Delim));
                        i = end + close_len;
                    }
                    None => {
                        out.push((body..b.len(), Tok::Str));
                        if let Some(c) = close {
                            st.ml = Some((c, false));
                            opened = Some(c);
                        }
                        i = b.len();
                    }
                }
            }
            c @ (b'=' | b',' | b'.' | b'{' | b'}' | b'[' | b']') => {
                i += 1;
                out.push((start..i, Tok::Punct(c)));
            }
            _ => {
                while i < b.len() && !b" \t#\"'=,.{}[]".contains(&b[i]) {
                    i += 1;
                }
                // A multi-byte character is never one of the stops: `i` stays on a boundary.
                out.push((start..i, Tok::Bare));
            }
        }
    }
    (out, opened)
}

/// Where a one-line string opened with `q` ends (a basic string skips `\"`).
fn find_quote(b: &[u8], from: usize, q: u8) -> Option<usize> {
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'\\' if q == b'"' => i += 2,
            c if c == q => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Where a multi-line string closes on this line, from byte `from`.
fn find_close(line: &str, from: usize, close: &str) -> Option<usize> {
    line.get(from..)?.find(close).map(|i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The masked line for an error at `needle` on the line that holds it.
    fn show(text: &str, needle: &str) -> (String, usize) {
        let at = text.find(needle).expect("needle in text");
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let col = text[line_start..at].chars().count() + 1;
        let (s, caret, _) = masked(text, line_start, col);
        (s, caret)
    }

    #[test]
    fn secret_lines_show_no_value() {
        for (text, needle, want) in [
            (
                "headers = { Authorization = \"Bearer s3cr3t\" }",
                "Bearer",
                "headers = { Authorization = \"***\" }",
            ),
            (
                "url = \"https://u:pw@h/\" # admin pw",
                "url",
                "url = \"***\" # ***",
            ),
            ("api_token = hunter2", "hunter2", "api_token = ***"),
            (
                "env = { A = 'x1y2z3' , B = 7 }",
                "B",
                "env = { A = '***' , B = *** }",
            ),
            (
                "[[check]]\n[check.env]\nDB_URL = \"mysql://db/x\"\n",
                "DB_URL",
                "DB_URL = \"***\"",
            ),
            (
                "body = \"\"\"\n{\"q\": \"s3cr3t\"}\n\"\"\"\n",
                "{\"q\"",
                "***",
            ),
            (
                "headers.\"X-Key\" = \"k3y\"",
                "k3y",
                "headers.\"X-Key\" = \"***\"",
            ),
            (
                "password = \"unterminated s3cr3t",
                "password",
                "password = \"***",
            ),
        ] {
            assert_eq!(show(text, needle).0, want, "{text}");
        }
    }

    #[test]
    fn other_lines_keep_their_values_and_lose_embedded_secrets() {
        for (text, want) in [
            ("kind = \"htp\"", "kind = \"htp\""),
            ("retries = 99 # at most 10", "retries = 99 # at most 10"),
            ("retries = 99 # db password: x1", "retries = 99 # ***"),
            (
                "url = \"https://h/x?token=abc&page=2\"",
                "url = \"https://h/x?token=***&page=2\"",
            ),
            (
                "command = [\"mysql\", \"--password=hunter2\"]",
                "command = [\"mysql\", \"--password=***\"]",
            ),
            ("[check.headers]", "[check.headers]"),
        ] {
            assert_eq!(show(text, text).0, want);
        }
        let text = "headers = { A = \"x\" }\n[[check]]\nid = \"a\"\n";
        assert_eq!(show(text, "id").0, "id = \"a\"");
    }

    #[test]
    fn the_caret_follows_the_masking() {
        let text = "env = { TOKEN = \"abcdefghij\", B = 1 x }";
        let (s, caret) = show(text, "x }");
        assert_eq!(s, "env = { TOKEN = \"***\", B = *** *** }");
        assert_eq!(s.chars().nth(caret - 1), Some('*'));
        let (s, caret) = show(text, "abcdefghij");
        assert_eq!(s.chars().nth(caret - 2), Some('"'));
        let (_, caret) = show("kind = \"htp\"", "htp");
        assert_eq!(caret, 9);
    }

    proptest::proptest! {
        /// Any text, any line and column: no panic, and the caret stays on the line.
        #[test]
        fn never_panics(text in "(\\PC|[\"'#=\\[\\]{},.\n\\\\]){0,200}", line in 0usize..20, col in 0usize..80) {
            let starts: Vec<usize> = std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect();
            let start = starts[line % starts.len()];
            let (shown, caret, _) = masked(&text, start, col);
            proptest::prop_assert!(caret >= 1 && caret <= shown.chars().count() + 1);
        }
    }
}
