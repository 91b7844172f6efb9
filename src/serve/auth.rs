//! The bearer token that guards the status page and `/report.json`: read from a file only its
//! owner (and group) may read, compared in constant time, never printed.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::sanitize;
use crate::sys::readcap;

/// Shorter tokens are refused: a guessable token is no guard.
const MIN_LEN: usize = 16;

pub(crate) struct Token(Vec<u8>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<hidden>)")
    }
}

impl Token {
    /// Read the token file: its first line, trimmed. Refused when other users may read it,
    /// when it is empty or short, or when it is not a regular file.
    pub fn read(path: &Path) -> Result<Token, String> {
        let shown = sanitize::path(path);
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("--token-file {shown}: {}", crate::sys::io_reason(&e)))?;
        if meta.permissions().mode() & 0o004 != 0 {
            return Err(format!(
                "--token-file {shown} is readable by other users: chmod o-rwx {}",
                crate::shell::shell_quote_path(path)
            ));
        }
        let text = readcap::read_text_capped(path, 4096)
            .map_err(|e| format!("--token-file {shown}: {e}"))?;
        let token = text.lines().next().unwrap_or("").trim();
        if token.len() < MIN_LEN {
            return Err(format!(
                "--token-file {shown}: the token must be at least {MIN_LEN} characters on its \
                 first line (make one with `openssl rand -hex 32 > {}`)",
                crate::shell::shell_quote_path(path)
            ));
        }
        Ok(Token(token.as_bytes().to_vec()))
    }

    /// Whether an `Authorization` header value carries this token (`Bearer TOKEN`; the
    /// scheme's case does not matter). Takes as long whatever prefix of the token matches.
    pub fn admits(&self, header: Option<&[u8]>) -> bool {
        let Some(h) = header else { return false };
        let Some((scheme, given)) = split_scheme(h) else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case(b"bearer") {
            return false;
        }
        let given = given.trim_ascii();
        let mut diff = (given.len() != self.0.len()) as u8;
        for (i, b) in self.0.iter().enumerate() {
            diff |= b ^ given.get(i).copied().unwrap_or(0);
        }
        diff == 0
    }
}

fn split_scheme(h: &[u8]) -> Option<(&[u8], &[u8])> {
    let h = h.trim_ascii();
    let at = h.iter().position(|&b| b == b' ')?;
    Some((&h[..at], &h[at + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(t: &str) -> Token {
        Token(t.as_bytes().to_vec())
    }

    #[test]
    fn admits_only_the_bearer_token() {
        let t = token("0123456789abcdef");
        assert!(t.admits(Some(b"Bearer 0123456789abcdef")));
        assert!(t.admits(Some(b"bearer  0123456789abcdef ")));
        assert!(!t.admits(None));
        assert!(!t.admits(Some(b"Bearer 0123456789abcde")));
        assert!(!t.admits(Some(b"Bearer 0123456789abcdefg")));
        assert!(!t.admits(Some(b"Basic 0123456789abcdef")));
        assert!(!t.admits(Some(b"0123456789abcdef")));
        assert!(!t.admits(Some(b"Bearer ")));
    }

    #[test]
    fn never_shows_the_token() {
        assert_eq!(
            format!("{:?}", token("secret-secret-secret")),
            "Token(<hidden>)"
        );
    }
}
