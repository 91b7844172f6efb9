//! Which global options a subcommand takes: any other one given there is refused as a usage
//! error, never accepted and silently ignored.

use clap::CommandFactory;
use clap::parser::ValueSource;

use crate::cli::Cli;

/// Refuse the global options given on this command line to `subcommand` other than
/// `allowed` (clap ids: `output`, `config`, ...), naming them as typed.
pub fn refuse_others(subcommand: &str, allowed: &[&str]) -> Result<(), String> {
    let cmd = Cli::command();
    let Ok(matches) = cmd.clone().try_get_matches_from(std::env::args_os()) else {
        return Ok(()); // Parsed once already; what parsed then parses now.
    };
    let Some(sub) = matches.subcommand_matches(subcommand) else {
        return Ok(());
    };
    let given: Vec<String> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set() && !allowed.contains(&a.get_id().as_str()))
        .filter(|a| sub.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine))
        .map(|a| match a.get_long() {
            Some(long) => format!("--{long}"),
            None => a.get_id().to_string(),
        })
        .collect();
    if given.is_empty() {
        return Ok(());
    }
    let takes = if allowed.is_empty() {
        "no options".to_string()
    } else {
        allowed
            .iter()
            .map(|a| format!("--{a}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(format!(
        "`sitedoctor {subcommand}` does not use {}: it takes {takes}",
        given.join(", ")
    ))
}
