//! The forms a secret takes on its way to a server and back: percent-encoded (as a URL
//! component or a form value), HTML- and JSON-escaped, and Basic-auth base64.

/// `%XX` decoded; invalid escapes kept as written, invalid UTF-8 replaced.
pub fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |j: usize| b.get(j).and_then(|c| (*c as char).to_digit(16));
        match (b[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A form value decoded: `+` is a space.
pub fn form_decode(s: &str) -> String {
    pct_decode(&s.replace('+', " "))
}

/// Percent-encoded as `encodeURIComponent` does (`form`: as a form value, space as `+`).
pub fn pct_encode(s: &str, form: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => out.push(b as char),
            b'~' if !form => out.push('~'),
            b'*' if form => out.push('*'),
            b' ' if form => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// HTML-escaped in each of the common styles: as most templates do (`&#39;`), as Python's
/// `html.escape` (`&#x27;`), PHP's `htmlspecialchars` (`&#039;`), XML (`&apos;`) and OWASP's
/// encoder (`&#x27;` and `&#x2F;`). The first is the usual one.
pub fn html_escapes(s: &str) -> Vec<String> {
    let base = s
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let mut out: Vec<String> = ["&#39;", "&#x27;", "&#039;", "&apos;"]
        .iter()
        .map(|apos| base.replace('\'', apos))
        .collect();
    out.push(base.replace('\'', "&#x27;").replace('/', "&#x2F;"));
    out.dedup();
    out
}

/// HTML character references decoded: the named ones a server escapes with (`&amp;`
/// `&lt;` `&gt;` `&quot;` `&apos;` `&nbsp;`) and every numeric one, decimal or hex, with any
/// number of leading zeros and with or without its `;`. An invalid code point becomes
/// U+FFFD; anything else that is not a reference is kept as written.
pub fn html_decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(rest.get(..at).unwrap_or(""));
        let tail = rest.get(at..).unwrap_or("");
        match char_ref(tail) {
            Some((c, used)) => {
                out.push(c);
                rest = tail.get(used..).unwrap_or("");
            }
            None => {
                out.push('&');
                rest = tail.get(1..).unwrap_or("");
            }
        }
    }
    out.push_str(rest);
    out
}

const NAMED: &[(&str, char)] = &[
    ("&amp;", '&'),
    ("&lt;", '<'),
    ("&gt;", '>'),
    ("&quot;", '"'),
    ("&apos;", '\''),
    ("&nbsp;", '\u{a0}'),
];

/// The character a reference at the start of `s` (which starts with `&`) stands for, and
/// how many bytes it takes.
fn char_ref(s: &str) -> Option<(char, usize)> {
    for (name, c) in NAMED {
        if s.get(..name.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(name))
        {
            return Some((*c, name.len()));
        }
    }
    let num = s.strip_prefix("&#")?;
    let (radix, digits_at) = match num.as_bytes().first() {
        Some(b'x' | b'X') => (16, 3),
        _ => (10, 2),
    };
    let digits = s.get(digits_at..)?;
    let len = digits
        .bytes()
        .take_while(|b| (*b as char).is_digit(radix))
        .count();
    if len == 0 {
        return None;
    }
    let value = digits.get(..len)?.bytes().fold(0u32, |v, b| {
        v.saturating_mul(radix)
            .saturating_add((b as char).to_digit(radix).unwrap_or(0))
    });
    let c = char::from_u32(value)
        .filter(|c| *c != '\0')
        .unwrap_or('\u{fffd}');
    let semi = usize::from(digits.as_bytes().get(len) == Some(&b';'));
    Some((c, digits_at + len + semi))
}

/// The inside of a JSON string.
pub fn json_escape(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_string()).to_string();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(&quoted)
        .to_string()
}

/// The inside of a JSON string with everything past ASCII as `\uXXXX` (PHP's
/// `json_encode` by default).
pub fn json_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in json_escape(s).chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, as in `Authorization: Basic`.
pub fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 decoded (padding optional); `None` when it is not base64.
pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = B64.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for s in ["", "a", "ab", "abc", "user:pa ss", "tokuser:"] {
            let e = b64_encode(s.as_bytes());
            assert_eq!(b64_decode(&e).unwrap(), s.as_bytes(), "{e}");
        }
        assert_eq!(b64_encode(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(b64_encode(b"a:"), "YTo=");
        assert!(b64_decode("not base64!").is_none());
    }

    #[test]
    fn percent_forms() {
        assert_eq!(pct_decode("p%40ss%2f%zz"), "p@ss/%zz");
        assert_eq!(form_decode("a+b%2B"), "a b+");
        assert_eq!(pct_encode("a b/c~*", false), "a%20b%2Fc~%2A");
        assert_eq!(pct_encode("a b/c~*", true), "a+b%2Fc%7E*");
        assert_eq!(json_escape("a\"b\\c"), "a\\\"b\\\\c");
        assert_eq!(
            html_escapes("<a&'/>"),
            [
                "&lt;a&amp;&#39;/&gt;",
                "&lt;a&amp;&#x27;/&gt;",
                "&lt;a&amp;&#039;/&gt;",
                "&lt;a&amp;&apos;/&gt;",
                "&lt;a&amp;&#x27;&#x2F;&gt;"
            ]
        );
        for escaped in [
            "ab/cd&#x27;ef&amp;gh&lt;K",
            "ab&#x2F;cd&apos;ef&AMP;gh&LT;K",
            "ab/cd&#039;ef&#38gh&#0000060;K",
            "&#97;&#x62;&#X2f;&#99;&#100;&#39;&#x00065;&#102;&#38;&#103;&#104;&#60;&#75;",
        ] {
            assert_eq!(html_decode(escaped), "ab/cd'ef&gh<K", "{escaped}");
        }
        assert_eq!(
            html_decode("a &amp;amp; &bogus; &#; &#xZ & &#0; &#99999999999;"),
            "a &amp; &bogus; &#; &#xZ & \u{fffd} \u{fffd}"
        );
        assert_eq!(html_decode("&nbsp;é&"), "\u{a0}é&");
        assert_eq!(
            json_ascii("pässwört😀"),
            "p\\u00e4ssw\\u00f6rt\\ud83d\\ude00"
        );
    }
}
