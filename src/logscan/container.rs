//! Container engines' JSON-file logs (docker's `json-file` driver, podman's `k8s-file` is
//! plain text): each line is `{"log":"…\n","stream":"stderr","time":"RFC 3339"}`, wrapping
//! one line the app wrote. Unwrapped, the app's own line is read like any log line.

/// The app's line and the engine's time for it (Unix seconds), when `line` is a JSON-file
/// record; `None` for any other line (cheaply: it must start with `{"log":`).
pub fn unwrap(line: &str) -> Option<(String, Option<i64>)> {
    if !line.starts_with("{\"log\":") {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Record {
        log: String,
        time: Option<String>,
    }
    let r: Record = serde_json::from_str(line).ok()?;
    let at = r
        .time
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp());
    let text = r.log.trim_end_matches(['\n', '\r']).to_string();
    Some((text, at))
}

#[cfg(test)]
mod tests {
    use super::unwrap;

    #[test]
    fn unwraps_a_docker_record() {
        let l = r#"{"log":"Traceback (most recent call last):\n","stream":"stderr","time":"2026-11-30T01:02:03.123456789Z"}"#;
        let (text, at) = unwrap(l).unwrap();
        assert_eq!(text, "Traceback (most recent call last):");
        assert_eq!(at, Some(1_796_000_523));
        assert_eq!(unwrap("2026/11/30 01:02:03 [error] x"), None);
        // Broken records are no records: read as they are.
        assert_eq!(unwrap(r#"{"log":"x"#), None);
        assert_eq!(
            unwrap(r#"{"log":"x\n","time":"yesterday"}"#),
            Some(("x".into(), None))
        );
    }
}
