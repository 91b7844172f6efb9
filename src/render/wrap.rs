//! Long report lines wrapped to the terminal's width: at spaces, with a hanging indent,
//! never inside an escape sequence (a colour) or a character. A word wider than the line
//! (a long path, a URL) stays whole on a line of its own: cut, it could not be copied.
//!
//! Width is counted in characters (escape sequences count nothing): the crate has no table
//! of wide characters, and evidence lines are mostly ASCII paths and messages.

/// The width to wrap the human report on stdout to: `$COLUMNS` when set, else the
/// terminal's, else none (piped output is left as it is).
pub fn stdout_width() -> Option<usize> {
    crate::sys::terminal::columns_from_env()
        .or_else(|| crate::sys::terminal::columns(std::io::stdout()))
}

/// How many columns `s` takes on a terminal: its characters, less escape sequences.
pub fn width(s: &str) -> usize {
    pieces(s).filter(|p| !p.escape).map(|p| p.chars).sum()
}

/// `line`, which carries its own leading indentation, as lines of at most `max` columns;
/// the lines after the first start with `hang` spaces (at most half the width, so a deep
/// indent leaves room for words). Runs of spaces inside a line are kept; where the line
/// breaks they are dropped.
pub fn wrap(line: &str, max: usize, hang: usize) -> Vec<String> {
    if width(line) <= max {
        return vec![line.to_string()];
    }
    let hang = " ".repeat(hang.min(max / 2));
    let body = line.trim_start_matches(' ');
    let mut current = line[..line.len() - body.len()].to_string();
    let mut used = width(&current);
    let mut has_word = false;
    let mut lines = Vec::new();
    for (gap, word) in words(body) {
        let w = width(word);
        if has_word && used + gap.len() + w > max {
            lines.push(std::mem::replace(&mut current, hang.clone()));
            used = hang.len();
        } else if has_word {
            current.push_str(gap);
            used += gap.len();
        }
        current.push_str(word);
        used += w;
        has_word = true;
    }
    lines.push(current);
    lines
}

/// The words of `s` with the spaces before each. A space inside an escape sequence is part
/// of its word.
fn words(s: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut gap_start = 0;
    let mut word_start = None;
    for p in pieces(s) {
        let is_space = !p.escape && p.text == " ";
        match (is_space, word_start) {
            (true, Some(ws)) => {
                out.push((&s[gap_start..ws], &s[ws..p.at]));
                word_start = None;
                gap_start = p.at;
            }
            (false, None) => word_start = Some(p.at),
            _ => {}
        }
    }
    if let Some(ws) = word_start {
        out.push((&s[gap_start..ws], &s[ws..]));
    }
    out
}

/// A character, or a whole escape sequence.
struct Piece<'a> {
    at: usize,
    text: &'a str,
    escape: bool,
    chars: usize,
}

/// `s` as characters and escape sequences: CSI (`ESC [` parameters, intermediates, a final
/// byte) and two-character escapes. An unfinished sequence runs to the end of `s`.
fn pieces(s: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut rest = s.char_indices().peekable();
    std::iter::from_fn(move || {
        let (at, c) = rest.next()?;
        if c != '\x1b' {
            let end = at + c.len_utf8();
            return Some(Piece {
                at,
                text: &s[at..end],
                escape: false,
                chars: 1,
            });
        }
        let mut end = at + 1;
        if let Some(&(i, next)) = rest.peek() {
            rest.next();
            end = i + next.len_utf8();
            if next == '[' {
                // Parameters and intermediates are 0x20..=0x3f; the final byte ends it.
                while let Some(&(i, c)) = rest.peek() {
                    rest.next();
                    end = i + c.len_utf8();
                    if !(' '..='?').contains(&c) {
                        break;
                    }
                }
            }
        }
        Some(Piece {
            at,
            text: &s[at..end],
            escape: true,
            chars: 0,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_line_that_fits_is_left_alone() {
        assert_eq!(wrap("      a  b   c", 20, 8), ["      a  b   c"]);
    }

    #[test]
    fn wraps_at_spaces_with_a_hanging_indent() {
        assert_eq!(
            wrap("      one two three four five", 16, 8),
            [
                "      one two",
                "        three",
                "        four",
                "        five"
            ]
        );
    }

    #[test]
    fn a_word_wider_than_the_line_stands_alone_and_whole() {
        let long = "/srv/www/a/very/long/path/index.php";
        assert_eq!(
            wrap(&format!("  see {long} now"), 20, 4),
            ["  see", &format!("    {long}"), "    now"]
        );
    }

    #[test]
    fn colours_take_no_room_and_are_never_cut() {
        let red = "\x1b[31mFAIL\x1b[0m";
        assert_eq!(width(red), 4);
        let line = format!("{red} {red} {red}");
        assert_eq!(wrap(&line, 14, 0), std::slice::from_ref(&line));
        assert_eq!(
            wrap(&line, 9, 2),
            [format!("{red} {red}"), format!("  {red}")]
        );
        // A space inside a sequence is not a place to break.
        assert_eq!(words("a\x1b[1 qb c"), [("", "a\x1b[1 qb"), (" ", "c")]);
    }

    #[test]
    fn characters_count_once_whatever_their_bytes() {
        assert_eq!(width("état ü 東京"), 9);
        assert_eq!(wrap("ééé ééé", 5, 0), ["ééé", "ééé"]);
    }

    fn visible(lines: &[String]) -> String {
        lines
            .iter()
            .flat_map(|l| l.chars())
            .filter(|c| *c != ' ')
            .collect()
    }

    proptest! {
        #[test]
        fn wrapping_keeps_every_character_and_the_width(
            line in "( {0,3}([a-zé東]{1,12}|\x1b\\[[0-9;]{0,3}m)){0,20} {0,2}",
            max in 10usize..80,
            hang in 0usize..12,
        ) {
            let lines = wrap(&line, max, hang);
            let kept: String = line.chars().filter(|c| *c != ' ').collect();
            prop_assert_eq!(visible(&lines), kept);
            for l in &lines {
                // Over the width only as one word alone after the indent.
                if width(l) > max {
                    prop_assert_eq!(words(l).len(), 1, "{:?} in {:?}", l, lines);
                }
                // Every escape sequence is whole on its line.
                for p in pieces(l).filter(|p| p.escape) {
                    prop_assert!(p.text.ends_with('m'), "{:?}", p.text);
                }
            }
        }

        #[test]
        fn any_text_wraps_without_panicking(line in "(\\PC|\x1b|\\[| ){0,200}", max in 1usize..100, hang in 0usize..20) {
            let lines = wrap(&line, max, hang);
            let kept: String = line.chars().filter(|c| *c != ' ').collect();
            prop_assert_eq!(visible(&lines), kept);
        }
    }
}
