//! Where check definitions come from: `--config` files and directories, `./sitedoctor.toml`,
//! `/etc/sitedoctor/checks.d/`, or the built-in checklist compiled into the binary.

use std::path::{Path, PathBuf};

use super::ConfigError;
use crate::sys::io_reason;

/// The built-in checklist, `checks/default.toml`, compiled in.
pub const BUILTIN: &str = include_str!("../../checks/default.toml");
pub const BUILTIN_NAME: &str = "<built-in checks/default.toml>";
pub const LOCAL_FILE: &str = "sitedoctor.toml";
pub const SYSTEM_DIR: &str = "/etc/sitedoctor/checks.d";

/// One file's text and the name errors use for it.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

/// The files to read: those given with `--config`, else the first of `./sitedoctor.toml`,
/// `/etc/sitedoctor/checks.d/*.toml`, the built-in checklist.
pub fn resolve(given: &[PathBuf]) -> Result<Vec<Source>, ConfigError> {
    if !given.is_empty() {
        let mut out = Vec::new();
        for p in given {
            out.extend(read_path(p)?);
        }
        return Ok(out);
    }
    let local = Path::new(LOCAL_FILE);
    if local.exists() {
        return read_path(local);
    }
    let system = Path::new(SYSTEM_DIR);
    if system.is_dir() {
        let files = read_path(system)?;
        if !files.is_empty() {
            return Ok(files);
        }
    }
    Ok(vec![builtin()])
}

pub fn builtin() -> Source {
    Source {
        name: BUILTIN_NAME.to_string(),
        text: BUILTIN.to_string(),
    }
}

/// A file, or every `*.toml` directly inside a directory, in name order.
fn read_path(path: &Path) -> Result<Vec<Source>, ConfigError> {
    let shown = crate::sanitize::path(path);
    let meta = std::fs::metadata(path).map_err(|e| {
        ConfigError::file(
            &shown,
            format!("cannot read configuration: {}", io_reason(&e)),
        )
    })?;
    if !meta.is_dir() {
        return Ok(vec![read_file(path)?]);
    }
    let entries = std::fs::read_dir(path).map_err(|e| {
        ConfigError::file(&shown, format!("cannot list directory: {}", io_reason(&e)))
    })?;
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            ConfigError::file(&shown, format!("cannot list directory: {}", io_reason(&e)))
        })?;
        let p = entry.path();
        if p.extension().is_some_and(|e| e == "toml") && !p.is_dir() {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(ConfigError::file(
            &shown,
            "directory holds no *.toml check files",
        ));
    }
    files.sort();
    files.iter().map(|p| read_file(p)).collect()
}

fn read_file(path: &Path) -> Result<Source, ConfigError> {
    let name = crate::sanitize::path(path);
    let bytes = std::fs::read(path).map_err(|e| {
        ConfigError::file(
            &name,
            format!("cannot read configuration: {}", io_reason(&e)),
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        ConfigError::file(
            &name,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    Ok(Source { name, text })
}
