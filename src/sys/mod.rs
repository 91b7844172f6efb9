//! What the host exposes: `/proc` files, the mount table, the process table.

pub mod child;
pub mod mounts;
pub mod procfs;
pub mod procs;
pub mod readcap;
pub mod sockdiag;
pub mod terminal;
pub mod users;

use std::path::{Path, PathBuf};

/// "No such file or directory" without Rust's "(os error 2)".
pub fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The paths a pattern names, with `*`, `?` or `[...]` allowed in its last component
/// (log paths, `include` directives), in name order. A pattern without wildcards names
/// itself when it exists.
pub fn expand_glob(pattern: &Path) -> Vec<PathBuf> {
    let name = pattern
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?', '[']) {
        return if pattern.exists() {
            vec![pattern.to_path_buf()]
        } else {
            vec![]
        };
    }
    let dir = pattern
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(m) = globset::Glob::new(&name).map(|g| g.compile_matcher()) else {
        return vec![];
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.file_name().is_some_and(|n| m.is_match(n)))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Read a small system file, turning "permission denied" into advice to run as root.
pub fn read_system_file(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| denied_or(path, &e))
}

/// A readable reason for a failed read: permission errors say what privilege is needed.
pub fn denied_or(path: &Path, e: &std::io::Error) -> anyhow::Error {
    let shown = crate::sanitize::path(path);
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        anyhow::anyhow!(
            "cannot read {shown}: permission denied (run as root, or as the owner, to read it)"
        )
    } else {
        anyhow::anyhow!("cannot read {shown}: {}", io_reason(e))
    }
}
