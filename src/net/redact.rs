//! Secrets never reach an output: URL credentials, and query parameters named like a token,
//! key, secret, password, auth or signature, are replaced with `***`.

/// Whether a parameter or header name looks like it carries a secret.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "token",
        "key",
        "secret",
        "password",
        "passwd",
        "pwd",
        "auth",
        "signature",
        "sig",
        "session",
        "cookie",
        "credential",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// `https://user:***@host/path?token=***&page=2`. Text that is not a URL is returned with
/// any `user:password@` part still masked.
pub fn url(raw: &str) -> String {
    let Ok(mut u) = reqwest::Url::parse(raw) else {
        return mask_userinfo(raw);
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_name(&k) {
                    "***".to_string()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        let mut q = u.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        drop(q);
    }
    // The serializer escapes '*'; keep the mask readable.
    u.to_string().replace("%2A%2A%2A", "***")
}

fn mask_userinfo(raw: &str) -> String {
    match (raw.find("://"), raw.find('@')) {
        (Some(s), Some(at)) if at > s + 3 => {
            let userinfo = &raw[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &raw[..s + 3], &raw[at..]),
                None => raw.to_string(),
            }
        }
        _ => raw.to_string(),
    }
}

/// Replace every appearance of `raw` (and of how a URL library would print it) in `text`.
pub fn scrub(text: &str, raw: &str) -> String {
    let safe = url(raw);
    let mut out = text.replace(raw, &safe);
    if let Ok(u) = reqwest::Url::parse(raw) {
        out = out.replace(u.as_str(), &safe);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_secret_parameters() {
        assert_eq!(
            url("https://user:hunter2@api.example/path?token=abc&page=2&api_key=zz"),
            "https://user:***@api.example/path?token=***&page=2&api_key=***"
        );
        assert_eq!(
            url("http://127.0.0.1:8080/health"),
            "http://127.0.0.1:8080/health"
        );
        assert_eq!(
            url("http://a/?Signature=x&X-Amz-Credential=y"),
            "http://a/?Signature=***&X-Amz-Credential=***"
        );
    }

    #[test]
    fn scrub_covers_normalised_forms() {
        let raw = "HTTP://u:p4ss@Host/x?secret=s3";
        let text = "error sending request for url (http://u:p4ss@host/x?secret=s3)".to_string();
        let s = scrub(&text, raw);
        assert!(!s.contains("p4ss") && !s.contains("s3"), "{s}");
    }

    #[test]
    fn not_a_url_still_masks_passwords() {
        assert_eq!(
            url("redis://:pw@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(mask_userinfo("x://u:p@h"), "x://u:***@h");
    }
}
