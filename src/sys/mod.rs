//! What the host exposes: `/proc` files, the mount table, the process table.

pub mod child;
pub mod mounts;
pub mod procfs;
pub mod procs;
pub mod users;

use std::path::Path;

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
        anyhow::anyhow!(
            "cannot read {shown}: {}",
            crate::config::source::io_reason(e)
        )
    }
}
