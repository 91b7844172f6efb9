//! Which of the global options each subcommand honours: one row a subcommand, so an option
//! typed where it does nothing is a usage error, never silently ignored.

use std::ffi::OsString;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use super::Cli;

/// A subcommand (`run` also stands for none) and the global options (clap ids, the field
/// names of [`super::Cli`]) it honours. A new subcommand adds one row; a new global option
/// is added to the rows of the subcommands that honour it.
pub const APPLIES: &[(&str, &[&str])] = &[
    (
        "run",
        &[
            "config", "only", "skip", "format", "output", "quiet", "color", "fail_on", "timeout",
            "jobs", "verbose",
        ],
    ),
    ("list", &["config", "only", "skip", "format", "output"]),
    (
        "fix",
        &[
            "config", "only", "skip", "format", "color", "fail_on", "timeout", "jobs", "verbose",
        ],
    ),
    ("init", &[]),
    ("explain", &["config", "format", "output"]),
    (
        "serve",
        &["config", "only", "skip", "fail_on", "timeout", "jobs"],
    ),
    (
        "snapshot",
        &[
            "config", "only", "skip", "format", "output", "quiet", "timeout", "jobs",
        ],
    ),
    (
        "diff",
        &[
            "config", "only", "skip", "format", "output", "quiet", "color", "fail_on", "verbose",
        ],
    ),
    ("completions", &["output"]),
    ("man", &["output"]),
];

/// The formats a subcommand other than these gives; these give every registered one.
pub const DATA_FORMATS: &[&str] = &["human", "json"];
pub const REPORTS: &[&str] = &["run", "diff"];

/// Parse the command line as clap does, then refuse an option its subcommand ignores.
pub fn parse() -> Result<Cli, clap::Error> {
    parse_from(std::env::args_os())
}

/// The command line's definition, each global option's help ending with the subcommands
/// that honour it, from [`APPLIES`].
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    let globals: Vec<clap::Id> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .map(|a| a.get_id().clone())
        .collect();
    for id in globals {
        let users: Vec<&str> = APPLIES
            .iter()
            .filter(|(_, opts)| opts.contains(&id.as_str()))
            .map(|(c, _)| *c)
            .collect();
        let note = format!(" [for: {}]", users.join(", "));
        cmd = cmd.mut_arg(id, |a| {
            let help = a.get_help().map(|h| format!("{h}{note}"));
            let long = a.get_long_help().map(|h| format!("{h}{note}"));
            let a = match help {
                Some(h) => a.help(h),
                None => a,
            };
            match long {
                Some(h) => a.long_help(h),
                None => a,
            }
        });
    }
    cmd
}

/// [`parse`] of `args` (the program's name first).
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut cmd = command();
    let matches = cmd.try_get_matches_from_mut(args)?;
    if let Err(msg) = check(&cmd, &matches) {
        let name = command_name(&matches).to_string();
        let mut sub = cmd.find_subcommand_mut(&name).cloned().unwrap_or(cmd);
        return Err(sub.error(ErrorKind::ArgumentConflict, msg));
    }
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))?;
    cli.fail_on_given = given(&matches, "fail_on");
    Ok(cli)
}

/// Whether the option `id` was typed on the command line (before or after the subcommand)
/// rather than left at its default.
fn given(matches: &ArgMatches, id: &str) -> bool {
    let typed = |m: &ArgMatches| {
        m.try_contains_id(id).unwrap_or(false)
            && m.value_source(id) == Some(ValueSource::CommandLine)
    };
    typed(matches) || matches.subcommand().is_some_and(|(_, sub)| typed(sub))
}

/// The subcommand's name in [`APPLIES`]: `run` when none was given.
pub fn command_name(matches: &ArgMatches) -> &str {
    matches.subcommand_name().unwrap_or("run")
}

/// A usage error for the first global option given on the command line that `matches`' own
/// subcommand does not honour, or a format it cannot give.
pub fn check(cmd: &clap::Command, matches: &ArgMatches) -> Result<(), String> {
    let name = command_name(matches);
    let sub = matches.subcommand().map(|(_, m)| m);
    let honoured = APPLIES
        .iter()
        .find(|(c, _)| *c == name)
        .map_or(&[][..], |(_, opts)| *opts);
    for arg in cmd.get_arguments().filter(|a| a.is_global_set()) {
        let id = arg.get_id().as_str();
        if !given(matches, id) {
            continue;
        }
        let flag = arg
            .get_long()
            .map_or_else(|| id.to_string(), |l| format!("--{l}"));
        if !honoured.contains(&id) {
            return Err(format!(
                "{flag} does not apply to `{name}`{}",
                hint(name, id)
            ));
        }
        if id == "format" && !REPORTS.contains(&name) {
            let format: &String = sub
                .and_then(|m| m.get_one(id))
                .or_else(|| matches.get_one(id))
                .expect("format has a default");
            if !DATA_FORMATS.contains(&format.as_str()) {
                return Err(format!(
                    "--format {format} does not apply to `{name}`: it gives {}",
                    DATA_FORMATS.join(" or ")
                ));
            }
        }
    }
    Ok(())
}

/// What to do instead, where there is something.
fn hint(command: &str, id: &str) -> &'static str {
    match (command, id) {
        ("explain", "only" | "skip") => ": explain one check with `sitedoctor explain ID`",
        ("fix", "output") => ": redirect its standard output instead (`> FILE`)",
        ("fix", "quiet") => ": without --apply it changes nothing and prints only what it would do",
        ("init", "config") => ": give where to write as `sitedoctor init PATH`",
        ("init", _) => ": it writes a configuration, and takes only PATH and --force",
        ("serve", "format" | "output" | "quiet") => {
            ": it answers every format at once (/healthz, /metrics, /report.json, /)"
        }
        ("completions" | "man", _) => ": it prints generated text, and takes only --output",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(args: &[&str]) -> Result<(), String> {
        let cmd = command();
        let m = cmd.clone().try_get_matches_from(args).expect("parses");
        check(&cmd, &m)
    }

    #[test]
    fn every_subcommand_and_every_global_option_has_its_place() {
        let cmd = Cli::command();
        let mut names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
        names.retain(|n| *n != "help");
        for n in &names {
            assert!(APPLIES.iter().any(|(c, _)| c == n), "no row for `{n}`");
        }
        for (c, opts) in APPLIES {
            assert!(names.contains(c), "row for unknown subcommand `{c}`");
            for o in *opts {
                assert!(
                    cmd.get_arguments()
                        .any(|a| a.get_id() == *o && a.is_global_set()),
                    "`{c}` honours unknown option `{o}`"
                );
            }
        }
        for a in cmd.get_arguments().filter(|a| a.is_global_set()) {
            assert!(
                APPLIES
                    .iter()
                    .any(|(_, o)| o.contains(&a.get_id().as_str())),
                "no subcommand honours --{}",
                a.get_id()
            );
        }
    }

    #[test]
    fn options_typed_where_they_do_nothing_are_refused() {
        let e = checked(&["sitedoctor", "explain", "-o", "FILE", "disk"]);
        assert_eq!(e, Ok(()));
        let e = checked(&["sitedoctor", "explain", "--only", "disk"]).unwrap_err();
        assert!(e.starts_with("--only does not apply to `explain`"), "{e}");
        let e = checked(&["sitedoctor", "--quiet", "list"]).unwrap_err();
        assert_eq!(e, "--quiet does not apply to `list`");
        let e = checked(&["sitedoctor", "fix", "-o", "x"]).unwrap_err();
        assert!(e.starts_with("--output does not apply to `fix`"), "{e}");
        let e = checked(&["sitedoctor", "init", "--jobs", "2"]).unwrap_err();
        assert!(e.starts_with("--jobs does not apply to `init`"), "{e}");
        let e = checked(&["sitedoctor", "list", "-f", "junit"]).unwrap_err();
        assert_eq!(
            e,
            "--format junit does not apply to `list`: it gives human or json"
        );
        for ok in [
            &["sitedoctor", "--format", "junit", "-o", "r.xml"][..],
            &["sitedoctor", "run", "--quiet", "--jobs", "2"],
            &["sitedoctor", "list", "--only", "files", "--format", "json"],
            &["sitedoctor", "--format", "json", "fix"],
            &["sitedoctor", "init", "x.toml", "--force"],
        ] {
            assert_eq!(checked(ok), Ok(()), "{ok:?}");
        }
    }
}
