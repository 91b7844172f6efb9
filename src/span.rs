//! A problem located in a byte range of a source text, before the file it is in is known: the
//! leaf type that config, check kinds and engines share without depending on each other.

use std::ops::Range;

/// A problem found inside one check table, before its file name is known.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanError {
    pub span: Option<Range<usize>>,
    pub message: String,
}

impl SpanError {
    pub fn new(span: Range<usize>, message: impl Into<String>) -> SpanError {
        SpanError {
            span: Some(span),
            message: message.into(),
        }
    }
}

impl From<toml::de::Error> for SpanError {
    fn from(e: toml::de::Error) -> Self {
        SpanError {
            span: e.span(),
            message: e.message().trim().to_string(),
        }
    }
}
