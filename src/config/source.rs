//! Where check definitions come from: `--config` files and directories, `./sitedoctor.toml`,
//! `/etc/sitedoctor/checks.d/`, or the built-in checklist compiled into the binary — each read
//! capped in size, and judged for who else could change it.

use std::path::{Path, PathBuf};

use super::ConfigError;
use super::trust::{self, Distrust};
use crate::sys::io_reason;
use crate::sys::readcap::{self, DEFAULT_CAP};

/// The built-in checklist, `checks/default.toml`, compiled in.
pub const BUILTIN: &str = include_str!("../../checks/default.toml");
pub const BUILTIN_NAME: &str = "<built-in checks/default.toml>";
pub const LOCAL_FILE: &str = "sitedoctor.toml";
pub const SYSTEM_DIR: &str = "/etc/sitedoctor/checks.d";
/// Points [`SYSTEM_DIR`] elsewhere (tests, and hosts that keep configuration in another place).
pub const SYSTEM_DIR_ENV: &str = "SITEDOCTOR_SYSTEM_CONFIG_DIR";

/// One file's text and the name errors use for it.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

/// What [`resolve`] found: the files, and for each whether another user could change it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub sources: Vec<Source>,
    /// Parallel to `sources`: why that file cannot be trusted, when it cannot.
    pub distrust: Vec<Option<Distrust>>,
}

impl Resolved {
    fn push(&mut self, (source, distrust): (Source, Option<Distrust>)) {
        self.sources.push(source);
        self.distrust.push(distrust);
    }
}

/// The files to read: those given with `--config`, else the first of `./sitedoctor.toml`,
/// `/etc/sitedoctor/checks.d/*.toml` (when it holds any), the built-in checklist.
pub fn resolve(given: &[PathBuf]) -> Result<Resolved, ConfigError> {
    let mut out = Resolved {
        sources: Vec::new(),
        distrust: Vec::new(),
    };
    let files = if !given.is_empty() {
        let mut all = Vec::new();
        for p in given {
            all.extend(files_of(p)?);
        }
        all
    } else if Path::new(LOCAL_FILE).exists() {
        files_of(Path::new(LOCAL_FILE))?
    } else {
        system_files()?
    };
    if files.is_empty() {
        out.push((builtin(), None));
    }
    for f in &files {
        out.push(read_file(f)?);
    }
    Ok(out)
}

/// The system directory: [`SYSTEM_DIR`], or where [`SYSTEM_DIR_ENV`] points.
pub fn system_dir() -> PathBuf {
    std::env::var_os(SYSTEM_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(SYSTEM_DIR), PathBuf::from)
}

/// The `*.toml` files of the system directory; none (or no directory) means the built-in
/// checklist, as documented.
fn system_files() -> Result<Vec<PathBuf>, ConfigError> {
    let dir = system_dir();
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    toml_files(&dir)
}

pub fn builtin() -> Source {
    Source {
        name: BUILTIN_NAME.to_string(),
        text: BUILTIN.to_string(),
    }
}

/// A file, or every `*.toml` directly inside a directory, in name order.
fn files_of(path: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let shown = crate::sanitize::path(path);
    let meta = std::fs::metadata(path).map_err(|e| {
        ConfigError::file(
            &shown,
            format!("cannot read configuration: {}", io_reason(&e)),
        )
    })?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let files = toml_files(path)?;
    if files.is_empty() {
        return Err(ConfigError::file(
            &shown,
            "directory holds no *.toml check files",
        ));
    }
    Ok(files)
}

fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let shown = crate::sanitize::path(dir);
    let list_error = |e: std::io::Error| {
        ConfigError::file(&shown, format!("cannot list directory: {}", io_reason(&e)))
    };
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(list_error)? {
        let p = entry.map_err(list_error)?.path();
        if p.extension().is_some_and(|e| e == "toml") && !p.is_dir() {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

/// One file's text (capped; a FIFO or device is refused without blocking), and whether
/// someone other than root or this user could change it.
fn read_file(path: &Path) -> Result<(Source, Option<Distrust>), ConfigError> {
    let name = crate::sanitize::path(path);
    let bytes = readcap::read_capped(path, DEFAULT_CAP)
        .map_err(|e| ConfigError::file(&name, format!("cannot read configuration: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        ConfigError::file(
            &name,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    Ok((Source { name, text }, trust::check(path)))
}
