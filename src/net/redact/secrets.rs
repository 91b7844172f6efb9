//! The secrets one check was configured with, in every form a server or a program may echo
//! them back in, masked wherever they appear in a text.

use super::{MASK, bot_token, forms, is_secret_name, looks_like_token, secret_pair};

/// Values shorter than this are not masked in free text: they would mask ordinary words
/// and numbers, and are no secret worth the name. Their place in a URL is still masked.
const MIN_CHARS: usize = 3;
/// Values shorter than this are masked only as whole words (`pin 4711`, not `47110`).
const WORD_BELOW: usize = 8;

/// Request headers whose values describe the content, not who is asking.
const PLAIN_HEADERS: &[&str] = &[
    "accept",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "connection",
    "content-length",
    "content-type",
    "host",
    "pragma",
    "user-agent",
];

/// A set of secret texts, each kept lower-cased (matching ignores ASCII case: masking too
/// much is harmless, too little is not), longest first.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    needles: Vec<String>,
}

impl Secrets {
    pub fn new() -> Secrets {
        Secrets::default()
    }

    /// Everything an HTTP request was configured with: the URL's user name, password and
    /// their Basic-auth base64, secret query and fragment values, token-like path
    /// segments, header values (but for content negotiation) and the body.
    pub fn for_request<'a>(
        url: &reqwest::Url,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
        body: Option<&str>,
    ) -> Secrets {
        let mut s = Secrets::new();
        s.add_url(url);
        for (k, v) in headers {
            s.add_header(k, v);
        }
        if let Some(b) = body {
            s.add_body(b);
        }
        s
    }

    /// A secret value, in each form it may be sent or echoed in: as written, percent-
    /// decoded, percent-encoded (component and form), HTML- (in each common style) and
    /// JSON-escaped. A page that escapes every character (`&#97;&#98;…`) is decoded with
    /// [`super::html_decode`] before it is masked.
    pub fn add(&mut self, value: &str) {
        let mut bases = vec![value.to_string()];
        let decoded = forms::pct_decode(value);
        if decoded != value {
            bases.push(decoded);
        }
        for b in &bases {
            let json = forms::json_escape(b);
            for form in [
                b.clone(),
                forms::pct_encode(b, false),
                forms::pct_encode(b, true),
                json.replace('/', "\\/"),
                forms::json_ascii(b).replace('/', "\\/"),
                json,
            ]
            .into_iter()
            .chain(forms::html_escapes(b))
            {
                self.push(&form);
            }
        }
    }

    fn push(&mut self, form: &str) {
        let form = form.trim();
        if form.chars().count() < MIN_CHARS {
            return;
        }
        let lower = form.to_ascii_lowercase();
        if !self.needles.contains(&lower) {
            self.needles.push(lower);
            self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        }
    }

    /// The secrets in a URL; user name and password also as the Basic-auth header made of
    /// them (decoded, as HTTP clients send them).
    pub fn add_url(&mut self, u: &reqwest::Url) {
        let (user, pass) = (u.username(), u.password());
        if !user.is_empty() || pass.is_some() {
            self.add(user);
            if let Some(p) = pass {
                self.add(p);
            }
            let basic = format!(
                "{}:{}",
                forms::pct_decode(user),
                pass.map(forms::pct_decode).unwrap_or_default()
            );
            self.add(&forms::b64_encode(basic.as_bytes()));
        }
        for seg in u.path().split('/') {
            if let Some(token) = bot_token(seg) {
                self.add(token);
            } else if looks_like_token(&forms::pct_decode(seg)) {
                self.add(seg);
            }
        }
        for part in [u.query(), u.fragment()].into_iter().flatten() {
            self.add_pairs(part);
        }
    }

    /// `name=value&…` (a query, a fragment, a form body): the values that are secrets.
    fn add_pairs(&mut self, text: &str) {
        for piece in text.split('&') {
            match piece.split_once('=') {
                Some((k, v)) if secret_pair(k, v) => {
                    self.add(v);
                    self.add(&forms::form_decode(v));
                }
                None if looks_like_token(&forms::pct_decode(piece)) => self.add(piece),
                _ => {}
            }
        }
    }

    /// A request header's value, its credentials after a scheme word (`Bearer …`), what a
    /// `Basic` one decodes to, and each `name=value` inside it (cookies).
    pub fn add_header(&mut self, name: &str, value: &str) {
        if PLAIN_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return;
        }
        self.add(value);
        if let Some((scheme, creds)) = value.trim().split_once(' ') {
            let creds = creds.trim();
            self.add(creds);
            if scheme.eq_ignore_ascii_case("basic")
                && let Some(plain) = forms::b64_decode(creds)
            {
                let plain = String::from_utf8_lossy(&plain).into_owned();
                self.add(&plain);
                if let Some((u, p)) = plain.split_once(':') {
                    self.add(u);
                    self.add(p);
                }
            }
        }
        for part in value.split([';', ',']) {
            if let Some((_, v)) = part.split_once('=') {
                self.add(v.trim().trim_matches('"'));
            }
        }
    }

    /// A request body: all of it, and the values under secret-looking names in a form
    /// (`user=a&password=b`) or a JSON document.
    pub fn add_body(&mut self, body: &str) {
        self.add(body);
        match serde_json::from_str::<serde_json::Value>(body) {
            Ok(v) => self.add_json(&v, false),
            Err(_) => self.add_pairs(body.trim()),
        }
    }

    fn add_json(&mut self, v: &serde_json::Value, secret: bool) {
        use serde_json::Value;
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    self.add_json(v, secret || is_secret_name(k));
                }
            }
            Value::Array(items) => items.iter().for_each(|i| self.add_json(i, secret)),
            Value::String(s) if secret || looks_like_token(s) => self.add(s),
            Value::Number(n) if secret => self.add(&n.to_string()),
            _ => {}
        }
    }

    /// The secrets in free text (a command line, a script): secret-looking `name=value`
    /// assignments and URL credentials, as [`super::text`] masks them.
    pub fn add_text(&mut self, text: &str) {
        let (values, urls) = super::text::found(text);
        for v in values {
            self.add(&v);
        }
        for u in urls {
            self.add_url(&u);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `text` with every appearance of a secret replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        if self.needles.is_empty() {
            return text.to_string();
        }
        let lower = text.to_ascii_lowercase();
        let mut hits: Vec<(usize, usize)> = Vec::new();
        for n in &self.needles {
            let whole = n.chars().count() < WORD_BELOW;
            for (i, _) in lower.match_indices(n.as_str()) {
                let end = i + n.len();
                let before = lower.get(..i).unwrap_or("");
                let after = lower.get(end..).unwrap_or("");
                if !whole || (word_edge(before, true) && word_edge(after, false)) {
                    hits.push((i, end));
                }
            }
        }
        replace(text, hits)
    }

    /// Like [`Secrets::mask`], for text that was cut short: a secret's beginning at the
    /// very end (the rest of it cut off) is masked too.
    pub fn mask_cut(&self, text: &str) -> String {
        let masked = self.mask(text);
        let lower = masked.to_ascii_lowercase();
        let tail = self
            .needles
            .iter()
            .filter_map(|n| {
                n.char_indices()
                    .map(|(i, _)| i)
                    .filter(|&i| i > 0)
                    .filter_map(|i| n.get(..i))
                    .filter(|p| p.chars().count() >= MIN_CHARS)
                    .rev()
                    .find(|p| lower.ends_with(p))
                    .map(str::len)
            })
            .max();
        match tail {
            Some(len) => replace(&masked, vec![(masked.len() - len, masked.len())]),
            None => masked,
        }
    }
}

/// Whether the text on this side of a match ends (`before`) or starts with a word break.
fn word_edge(side: &str, before: bool) -> bool {
    let c = if before {
        side.chars().next_back()
    } else {
        side.chars().next()
    };
    !c.is_some_and(char::is_alphanumeric)
}

/// `text` with the byte ranges `hits` (at character boundaries) replaced by `***`,
/// overlapping ranges merged.
fn replace(text: &str, mut hits: Vec<(usize, usize)>) -> String {
    hits.sort();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in hits {
        if end <= at {
            continue;
        }
        if start >= at {
            out.push_str(text.get(at..start).unwrap_or(""));
            out.push_str(MASK);
        }
        at = end;
    }
    out.push_str(text.get(at..).unwrap_or(""));
    out
}
