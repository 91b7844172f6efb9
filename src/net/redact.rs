//! Secrets never reach an output. A URL is shown with its user name and password, its
//! token-like path segments and its secret-looking query and fragment values replaced with
//! `***`; [`Secrets`] masks what a check was configured with wherever it is echoed back.

mod forms;
mod secrets;
mod text;

pub use forms::html_decode;
pub use secrets::Secrets;
pub use text::{attached_password, takes_mysql_password, text};

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Name tokens that mean a secret. A name is split into tokens on punctuation and case
/// changes (`X-Amz-Signature`, `accessToken`, `x_sig`), so `design` and `zipcode` are not.
const SECRET_WORDS: &[&str] = &[
    "token",
    "tokens",
    "key",
    "keys",
    "apikey",
    "apitoken",
    "accesstoken",
    "accesskey",
    "authtoken",
    "authkey",
    "refreshtoken",
    "idtoken",
    "csrftoken",
    "xsrftoken",
    "clientsecret",
    "privatekey",
    "secretkey",
    "secret",
    "secrets",
    "password",
    "passwords",
    "passwd",
    "pass",
    "passphrase",
    "pwd",
    "pw",
    "pin",
    "auth",
    "authorization",
    "credential",
    "credentials",
    "cred",
    "creds",
    "signature",
    "sig",
    "hmac",
    "session",
    "sessionid",
    "sess",
    "sessid",
    "phpsessid",
    "jsessionid",
    "sid",
    "cookie",
    "cookies",
    "jwt",
    "code",
    "otp",
    "totp",
    "verifier",
    "ticket",
    "bearer",
];

/// Whether a parameter, header, variable or key name looks like it carries a secret:
/// one of its tokens is a secret word (`sig`, `x_sig`, `sigv4`, `X-Amz-Signature`,
/// `accessToken`), not merely containing one (`design`, `zipcode`, `keyboard`).
pub fn is_secret_name(name: &str) -> bool {
    let tokens = name_tokens(name);
    if tokens.len() > 1
        && tokens
            .last()
            .is_some_and(|t| ABOUT_WORDS.contains(&t.as_str()))
    {
        return false;
    }
    tokens.iter().any(|t| {
        SECRET_WORDS.contains(&t.as_str())
            || SECRET_WORDS.contains(&unversioned(t))
            || SECRET_ENDINGS.iter().any(|e| t.ends_with(e))
    })
}

/// Words long and specific enough to mean a secret even at the end of a run-together
/// name (`PGPASSWORD`, `csrftoken`), where `key` or `code` alone would not (`monkey`).
const SECRET_ENDINGS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "sessid",
    "sessionid",
];

/// A last token that makes the name about a secret rather than the secret itself
/// (`token_type`, `session_timeout`, `key_name`).
const ABOUT_WORDS: &[&str] = &[
    "type", "name", "count", "length", "len", "expires", "expiry", "ttl", "timeout", "format",
    "hint", "mode", "usage",
];

/// `sigv4` → `sig`, `key2` → `key`: a version or counter suffix does not change the word.
fn unversioned(t: &str) -> &str {
    let bare = t.trim_end_matches(|c: char| c.is_ascii_digit());
    if bare.len() == t.len() {
        return t;
    }
    match bare.strip_suffix('v') {
        Some(b) if !b.is_empty() => b,
        _ => bare,
    }
}

/// Lower-case tokens of a name, split on anything but letters and digits and on case
/// changes: `AWSAccessKeyId` → aws, access, key, id.
fn name_tokens(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for piece in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let chars: Vec<char> = piece.chars().collect();
        let mut cur = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1).copied();
            let boundary = c.is_ascii_uppercase()
                && prev.is_some_and(|p| {
                    p.is_ascii_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
                });
            if boundary && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            cur.push(c.to_ascii_lowercase());
        }
        if !cur.is_empty() {
            out.push(cur);
        }
    }
    out
}

/// Whether a value or path segment looks like a credential whatever it is called: a JWT,
/// or a long run of letters and digits that reads as random (a hex digest, an API key).
pub fn looks_like_token(s: &str) -> bool {
    if s.starts_with("eyJ") && s.split('.').count() >= 2 && s.len() >= 16 {
        return true;
    }
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .any(random_run)
}

/// A run of at least 16 letters and digits that is hex with both kinds of digit, or whose
/// character class (lower, upper, digit) changes as often as random text's does — which
/// words in camelCase or a slug with a year do not.
fn random_run(r: &str) -> bool {
    let n = r.len();
    if n < 16 {
        return false;
    }
    let digits = r.bytes().filter(u8::is_ascii_digit).count();
    let letters = n - digits;
    if letters < 2 {
        return false;
    }
    if n >= 24 && digits >= 2 && r.bytes().all(|b| b.is_ascii_hexdigit()) {
        return true;
    }
    let class = |b: u8| match b {
        b'0'..=b'9' => 0,
        b'a'..=b'z' => 1,
        _ => 2,
    };
    let b = r.as_bytes();
    let changes = b.windows(2).filter(|w| class(w[0]) != class(w[1])).count();
    let mixed_case = b.iter().any(u8::is_ascii_lowercase) && b.iter().any(u8::is_ascii_uppercase);
    (digits >= 1 || mixed_case) && changes * 5 >= (n - 1) * 2
}

/// A Telegram-style path segment, `bot<digits>:<token>`: the token part.
pub fn bot_token(segment: &str) -> Option<&str> {
    let rest = segment.strip_prefix("bot")?;
    let (id, token) = rest.split_once(':')?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && token.len() >= 8).then_some(token)
}

/// `https://***:***@api.example/bot1:***/x?token=***&page=2#access_token=***`. Text that is
/// not a URL is returned with any `user:password@` part still masked.
pub fn url(raw: &str) -> String {
    match reqwest::Url::parse(raw) {
        Ok(u) if u.has_host() => shown(&u),
        _ => mask_userinfo(raw),
    }
}

fn shown(u: &reqwest::Url) -> String {
    let mut s = format!("{}://", u.scheme());
    match (u.username().is_empty(), u.password().is_some()) {
        (true, false) => {}
        (true, true) => s.push_str(":***@"),
        (false, false) => s.push_str("***@"),
        (false, true) => s.push_str("***:***@"),
    }
    s.push_str(u.host_str().unwrap_or(""));
    if let Some(p) = u.port() {
        s.push_str(&format!(":{p}"));
    }
    let path: Vec<String> = u.path().split('/').map(segment).collect();
    s.push_str(&path.join("/"));
    if let Some(q) = u.query() {
        s.push('?');
        s.push_str(&pairs(q));
    }
    if let Some(f) = u.fragment() {
        s.push('#');
        if f.contains('=') {
            s.push_str(&pairs(f));
        } else if looks_like_token(&forms::pct_decode(f)) {
            s.push_str(MASK);
        } else {
            s.push_str(f);
        }
    }
    s
}

fn segment(seg: &str) -> String {
    if let Some(token) = bot_token(seg) {
        return format!("{}{MASK}", seg.strip_suffix(token).unwrap_or("bot:"));
    }
    if looks_like_token(&forms::pct_decode(seg)) {
        return MASK.to_string();
    }
    seg.to_string()
}

/// Each `name=value` of a query or fragment, the value masked when the name looks secret
/// or the value looks like a token; the rest kept exactly as written.
fn pairs(q: &str) -> String {
    q.split('&')
        .map(|piece| match piece.split_once('=') {
            Some((k, v)) if secret_pair(k, v) => format!("{k}={MASK}"),
            None if looks_like_token(&forms::pct_decode(piece)) => MASK.to_string(),
            _ => piece.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether the value of this raw (percent-encoded) `name=value` pair is a secret.
pub(crate) fn secret_pair(name: &str, value: &str) -> bool {
    !value.is_empty()
        && (is_secret_name(&forms::form_decode(name))
            || looks_like_token(&forms::form_decode(value)))
}

/// Whether `text` holds a URL with a user name or password in it (`scheme://user@host`).
pub fn has_userinfo(text: &str) -> bool {
    text.match_indices("://").any(|(i, _)| {
        let rest = text.get(i + 3..).unwrap_or("");
        let authority = rest
            .split(['/', '?', '#', ' ', '"', '\''])
            .next()
            .unwrap_or("");
        authority.contains('@')
    })
}

fn mask_userinfo(raw: &str) -> String {
    let Some((scheme, rest)) = raw.split_once("://") else {
        return raw.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return raw.to_string();
    };
    let masked = match userinfo.split_once(':') {
        Some(("", _)) => ":***",
        Some(_) => "***:***",
        None => MASK,
    };
    format!("{scheme}://{masked}@{host}{tail}")
}

/// Replace every appearance of `raw` (and of how a URL library would print it) in `text`
/// with the URL as [`url`] shows it.
pub fn scrub(text: &str, raw: &str) -> String {
    let safe = url(raw);
    let mut out = text.replace(raw, &safe);
    if let Ok(u) = reqwest::Url::parse(raw) {
        out = out.replace(u.as_str(), &safe);
    }
    out
}

#[cfg(test)]
mod tests;
