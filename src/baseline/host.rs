//! (stub) The host's state beside the file tree: environment variable names with keyed value
//! hashes, web and PHP-FPM configuration, packages, listeners, lockfiles. The real module
//! replaces this one; the API is the contract between them.

use std::path::PathBuf;

use crate::baseline::{change::Change, key::Key};

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HostState {}

pub struct Collected {
    pub state: HostState,
    /// Parts that could not be read, one sentence each.
    pub unread: Vec<String>,
}

/// `specs`: the configuration's checks (env checks' from_file/process, etc.);
/// `roots`: the directories the tree snapshot covers (app roots for lockfiles).
pub fn collect(_key: &Key, _specs: &[crate::config::CheckSpec], _roots: &[PathBuf]) -> Collected {
    Collected {
        state: HostState::default(),
        unread: Vec::new(),
    }
}

pub fn compare(_old: &HostState, _new: &HostState) -> Vec<Change> {
    Vec::new()
}
