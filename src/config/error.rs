//! Configuration errors that point at the exact place in the file (exit 78).

use std::fmt;
use std::ops::Range;

mod snippet;

/// A problem found while reading check definitions, located in its source.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The file the problem is in (or a description of the built-in checklist).
    pub file: String,
    /// 1-based line and column, when the problem has a place.
    pub at: Option<(usize, usize)>,
    pub message: String,
    /// The offending line, for context, with its secrets masked.
    pub snippet: Option<String>,
    /// The 1-based column of the caret under the snippet (masking may move it from `at`).
    pub caret: usize,
}

impl ConfigError {
    /// An error about a whole file (unreadable, empty directory...).
    pub fn file(file: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: file.into(),
            at: None,
            message: message.into(),
            snippet: None,
            caret: 0,
        }
    }

    /// An error at byte range `span` of `text`.
    pub fn at(file: &str, text: &str, span: Option<Range<usize>>, message: String) -> ConfigError {
        let Some(span) = span else {
            return ConfigError::file(file, message);
        };
        let (line, col, line_start) = position(text, span.start);
        // The line and the message may quote a value: neither may show a secret.
        let (shown, caret, masked) = snippet::masked(text, line_start, col);
        ConfigError {
            file: file.to_string(),
            at: Some((line, col)),
            message: masked.mask(&message),
            snippet: Some(shown),
            caret,
        }
    }
}

/// The line and column (1-based, in characters) of byte `at` in `text`, and where its line
/// starts. Cheap: every check's place is computed this way while a file loads.
fn position(text: &str, at: usize) -> (usize, usize, usize) {
    let start = at.min(text.len());
    let before = &text[..floor_char_boundary(text, start)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col, line_start)
}

/// `(line, column)` of byte `at` in `text`, without building an error and its snippet.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let (line, col, _) = position(text, at);
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some((line, col)) => write!(f, "{}:{line}:{col}: {}", self.file, self.message)?,
            None => write!(f, "{}: {}", self.file, self.message)?,
        }
        if let (Some((line, _)), Some(snippet)) = (self.at, &self.snippet) {
            let col = self.caret;
            let gutter = line.to_string().len();
            let shown = crate::sanitize::terminal(snippet);
            write!(
                f,
                "\n{:gutter$} |\n{line} | {shown}\n{:gutter$} | {:>col$}",
                "", "", "^"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_line_and_column() {
        let text = "a = 1\nbb = 2\n";
        let e = ConfigError::at("f.toml", text, Some(6..8), "bad".into());
        assert_eq!(e.at, Some((2, 1)));
        let e = ConfigError::at("f.toml", text, Some(11..12), "bad".into());
        assert_eq!(e.at, Some((2, 6)));
        assert!(e.to_string().starts_with("f.toml:2:6: bad\n"));
        assert!(e.to_string().contains("2 | bb = 2"));
    }

    #[test]
    fn snippet_and_message_never_show_a_secret() {
        let text = "[[check]]\nheaders = \"Bearer hunter2-s3cr3t\"\n";
        let span = text.find("\"Bearer").unwrap();
        let msg = "invalid type: string \"Bearer hunter2-s3cr3t\", expected a map".to_string();
        let e = ConfigError::at("f.toml", text, Some(span..span + 1), msg);
        let shown = e.to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.ends_with("2 | headers = \"***\"\n  |           ^"),
            "{shown}"
        );
    }
}
