//! Built-in patterns over log text, compiled without Unicode tables and without a literal
//! prefilter: log text is mostly ASCII, and a Unicode `\S` or `[^']` — or a prefilter built
//! for a pattern that runs a few times a run — costs more to build at every start than it
//! ever saves. Matches are handed back as `&str` slices of the line, cut only where the line
//! has a character boundary (a match that ends inside a multibyte character reads as empty,
//! never panics).

use regex_automata::meta::{Config, Regex};
use regex_automata::util::captures::Captures;
use regex_automata::util::syntax;

/// A compiled built-in pattern.
pub struct Pat(Regex);

impl Pat {
    pub fn new(pattern: &str) -> Pat {
        Pat(Regex::builder()
            .configure(
                Config::new()
                    .auto_prefilter(false)
                    .onepass(false)
                    .dfa(false),
            )
            .syntax(syntax::Config::new().unicode(false).utf8(false))
            .build(pattern)
            .expect("a built-in pattern"))
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text.as_bytes())
    }

    pub fn captures<'t>(&self, text: &'t str) -> Option<Caps<'t>> {
        let mut c = self.0.create_captures();
        self.0.captures(text.as_bytes(), &mut c);
        c.is_match().then_some(Caps { text, c })
    }

    pub fn captures_iter<'r, 't>(&'r self, text: &'t str) -> impl Iterator<Item = Caps<'t>> + 'r
    where
        't: 'r,
    {
        self.0
            .captures_iter(text.as_bytes())
            .map(move |c| Caps { text, c })
    }
}

/// The groups of one match.
pub struct Caps<'t> {
    text: &'t str,
    c: Captures,
}

/// One group's match.
#[derive(Clone, Copy)]
pub struct Match<'t>(&'t str);

impl<'t> Match<'t> {
    pub fn as_str(&self) -> &'t str {
        self.0
    }
}

impl<'t> Caps<'t> {
    pub fn name(&self, name: &str) -> Option<Match<'t>> {
        let m = self.c.get_group_by_name(name)?;
        Some(Match(self.text.get(m.start..m.end).unwrap_or("")))
    }
}

impl std::ops::Index<usize> for Caps<'_> {
    type Output = str;

    fn index(&self, i: usize) -> &str {
        self.c
            .get_group(i)
            .and_then(|m| self.text.get(m.start..m.end))
            .unwrap_or("")
    }
}

impl<'t> Caps<'t> {
    /// Group `i` (0 is the whole match), when it took part in the match.
    pub fn get(&self, i: usize) -> Option<Match<'t>> {
        let m = self.c.get_group(i)?;
        Some(Match(self.text.get(m.start..m.end).unwrap_or("")))
    }
}

impl std::ops::Index<&str> for Caps<'_> {
    type Output = str;

    fn index(&self, name: &str) -> &str {
        self.name(name).map_or("", |m| m.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_str_slices_and_never_split_a_character() {
        let p = Pat::new(r"x(?P<a>[^']{1,2})");
        let c = p.captures("xé'").unwrap();
        assert_eq!(&c["a"], "é");
        // Two bytes of a three-byte character: no boundary, so nothing, not a panic.
        let c = p.captures("x€").unwrap();
        assert_eq!(&c["a"], "");
        assert_eq!(&c["missing"], "");
        assert!(p.captures("no match").is_none());
        let all: Vec<String> = Pat::new(r"(?P<d>\d+)")
            .captures_iter("a1b22c333")
            .map(|c| c["d"].to_string())
            .collect();
        assert_eq!(all, ["1", "22", "333"]);
    }
}
