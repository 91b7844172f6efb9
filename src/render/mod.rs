//! The registry of output formats: one file per format, one line here.

mod github;
mod human;
mod json;
mod junit;
mod nagios;
mod prometheus;
mod tap;
pub mod wrap;

/// Data as `--format json` prints it: the report, and `list`, `explain` and `fix` documents.
pub use json::{data_text as json_data, to_text as json_text};

use crate::report::Report;

/// How a format was asked to render.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Human output: nothing when all is well, only the problems otherwise.
    pub quiet: bool,
    /// Whether to use terminal colours.
    pub color: bool,
    /// Human output: the evidence of passing checks too, and each check's duration.
    pub verbose: bool,
    /// Human output: wrap long lines to this many columns.
    pub width: Option<usize>,
}

pub struct Format {
    pub name: &'static str,
    pub about: &'static str,
    pub render: fn(&Report, &RenderOptions) -> String,
}

/// Every output format. Adding one is a new file under `src/render/` and one line here.
pub static FORMATS: &[&Format] = &[
    &human::FORMAT,
    &json::FORMAT,
    &prometheus::FORMAT,
    &junit::FORMAT,
    &github::FORMAT,
    &tap::FORMAT,
    &nagios::FORMAT,
];

pub fn find(name: &str) -> Option<&'static Format> {
    FORMATS.iter().copied().find(|f| f.name == name)
}

pub fn names() -> Vec<&'static str> {
    FORMATS.iter().map(|f| f.name).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_unique() {
        let mut n = super::names();
        n.sort();
        n.dedup();
        assert_eq!(n.len(), super::FORMATS.len());
    }
}
