//! `sitedoctor man`: the sitedoctor(1) manual page, generated from the command line's own
//! definition (clap_mangen) plus the sections a person looks for in a manual: examples,
//! exit status, environment and files.

use clap::CommandFactory;
use roff::{Inline, Roff, bold, italic, roman};

use crate::cli::Cli;
use crate::exit::Exit;

/// One of clap_mangen's sections.
type Part = fn(&clap_mangen::Man, &mut dyn std::io::Write) -> std::io::Result<()>;

/// The page, as roff source for `man -l -`.
pub fn render() -> String {
    let cmd = Cli::command();
    let man = clap_mangen::Man::new(cmd.clone()).manual("sitedoctor manual");
    let mut out = Vec::new();
    // clap_mangen's sections, without its SUBCOMMANDS (which points at a page per
    // subcommand: there is one page) and its EXTRA (the --help epilogue, which becomes the
    // EXAMPLES and EXIT STATUS sections below).
    let parts: [Part; 5] = [
        clap_mangen::Man::render_title,
        clap_mangen::Man::render_name_section,
        clap_mangen::Man::render_synopsis_section,
        clap_mangen::Man::render_description_section,
        clap_mangen::Man::render_options_section,
    ];
    for (i, part) in parts.iter().enumerate() {
        part(&man, &mut out).expect("writing to a Vec cannot fail");
        if i == 0 {
            // Options, commands and paths are never hyphenated, and ragged lines read better
            // than stretched ones.
            out.extend_from_slice(b".nh\n.ad l\n");
        }
    }
    let mut roff = Roff::default();
    commands(&mut roff, &cmd);
    examples(&mut roff);
    exit_status(&mut roff);
    environment(&mut roff);
    files(&mut roff);
    see_also(&mut roff);
    roff.to_writer(&mut out)
        .expect("writing to a Vec cannot fail");
    man.render_version_section(&mut out)
        .expect("writing to a Vec cannot fail");
    ascii(&String::from_utf8(out).expect("clap_mangen writes UTF-8"))
}

/// Every character outside ASCII as a groff escape (`\[u2014]`): troff reads bytes, and
/// only `man`'s preconv would otherwise make sense of UTF-8.
fn ascii(page: &str) -> String {
    let mut out = String::with_capacity(page.len());
    for c in page.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", c as u32));
        }
    }
    out
}

/// Each subcommand with its own arguments and its long description: one page for all, in
/// place of clap_mangen's list of per-subcommand pages.
fn commands(roff: &mut Roff, cmd: &clap::Command) {
    roff.control("SH", ["COMMANDS"]);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let mut usage = format!("sitedoctor {}", sub.get_name());
        for arg in sub.get_arguments().filter(|a| !a.is_global_set()) {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            let word = match arg.get_long() {
                Some(long) => format!("--{long}"),
                None => arg
                    .get_value_names()
                    .and_then(|n| n.first())
                    .map_or_else(|| id.to_uppercase(), |n| n.to_string()),
            };
            if arg.is_required_set() {
                usage.push_str(&format!(" {word}"));
            } else {
                usage.push_str(&format!(" [{word}]"));
            }
        }
        let about = sub
            .get_long_about()
            .or_else(|| sub.get_about())
            .map(|s| s.to_string())
            .unwrap_or_default();
        roff.control("TP", []);
        roff.text([bold(usage)]);
        for (i, para) in about.split("\n\n").enumerate() {
            if i > 0 {
                roff.control("IP", []);
            }
            roff.text([roman(para.replace('\n', " "))]);
        }
    }
}

/// One `.TP` entry: a bold term, then its paragraph.
fn entry(roff: &mut Roff, term: Vec<Inline>, text: &str) {
    roff.control("TP", []);
    roff.text(term);
    roff.text([roman(text)]);
}

/// The examples of `--help`: each line there is the command, then after a wide gap what it
/// does (some commands are too long to leave room for the description).
fn examples(roff: &mut Roff) {
    roff.control("SH", ["EXAMPLES"]);
    let lines = crate::cli::AFTER_HELP
        .lines()
        .skip_while(|l| *l != "Examples:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty());
    for line in lines {
        let line = line.trim();
        let (command, what) = line.split_once("   ").unwrap_or((line, ""));
        entry(roff, vec![bold(command.trim())], what.trim());
    }
}

/// What each exit code means; a new [`Exit`] does not compile until it is described here.
fn meaning(code: Exit) -> &'static str {
    match code {
        Exit::Ok => {
            "Every check passed or was skipped (and the non-run commands succeeded). \
                     serve stopped by SIGTERM also exits 0: a service's clean stop."
        }
        Exit::Warn => "The worst result is a warning (0 with --fail-on fail).",
        Exit::Fail => "At least one check failed.",
        Exit::Error => "A check could not run, and none failed.",
        Exit::Usage => "Usage error: the command line was wrong.",
        Exit::IoError => "An output file could not be written.",
        Exit::Config => "Configuration error: nothing ran.",
        Exit::Interrupted => {
            "Interrupted by SIGINT, SIGTERM or SIGHUP; the checks' programs \
                              were stopped too."
        }
    }
}

fn exit_status(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    roff.text([roman(
        "Compatible with Nagios plugins for 0 to 3, with sysexits(3) for usage, output and \
         configuration errors.",
    )]);
    for code in Exit::ALL {
        entry(roff, vec![bold(code.code().to_string())], meaning(code));
    }
}

fn environment(roff: &mut Roff) {
    roff.control("SH", ["ENVIRONMENT"]);
    let vars = [
        (
            "NO_COLOR",
            "When set and not empty, the human report is not coloured under --color auto.",
        ),
        (
            "TERM",
            "When dumb, the human report is not coloured under --color auto.",
        ),
        (
            "COLUMNS",
            "The width the human report on a terminal wraps to.",
        ),
        (
            crate::config::source::SYSTEM_DIR_ENV,
            "Read the *.toml check files of this directory instead of /etc/sitedoctor/checks.d/.",
        ),
        (
            "PATH",
            "Where the programs checks run (nginx, apachectl, php-fpm, plugins) are found.",
        ),
    ];
    for (name, text) in vars {
        entry(roff, vec![bold(name)], text);
    }
}

fn files(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    let system = crate::config::source::SYSTEM_DIR;
    let files = [
        (
            format!("./{}", crate::config::source::LOCAL_FILE),
            "Check definitions for this directory, read when no --config is given (write one \
             with sitedoctor init).",
        ),
        (
            format!("{system}/*.toml"),
            "The system's check definitions, read when there is no ./sitedoctor.toml. Without \
             any, the built-in checklist runs. A file that users other than root can change may \
             not run programs.",
        ),
        (
            "/var/lib/sitedoctor/".to_string(),
            "Baseline snapshots: the known-good state that diff and the baseline kind compare with.",
        ),
    ];
    for (path, text) in files {
        entry(roff, vec![italic(path)], text);
    }
}

fn see_also(roff: &mut Roff) {
    roff.control("SH", ["SEE ALSO"]);
    roff.text([
        bold("sitedoctor explain"),
        roman(" (every check kind and its fields), "),
        bold("sitedoctor completions"),
        roman(" SHELL, "),
        bold("nginx"),
        roman("(8), "),
        bold("systemd.timer"),
        roman("(5)"),
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_the_sections_a_reader_looks_for() {
        let page = render();
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH OPTIONS",
            ".SH COMMANDS",
            ".SH EXAMPLES",
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH FILES",
        ] {
            assert!(page.contains(section), "no {section} in:\n{page}");
        }
        for other in [".SH EXTRA", ".SH SUBCOMMANDS", "sitedoctor-run"] {
            assert!(!page.contains(other), "{other} in:\n{page}");
        }
        assert!(page.is_ascii(), "{page}");
        assert!(page.contains("SITEDOCTOR_SYSTEM_CONFIG_DIR"), "{page}");
    }
}
