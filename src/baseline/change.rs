//! One difference between a snapshot and now, and the order `diff` reports them in: the
//! changes most likely to break a site first.

use serde::{Deserialize, Serialize};

/// What part of the site changed. The order of the variants is the ranking: code first,
/// then what decides whether the code can run (modes, environment, configuration), then the
/// platform under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// A configuration test that passed at the snapshot fails now.
    ConfigTest,
    /// A code file (a script or a module the app loads) changed, appeared or went away.
    Code,
    /// A file's or directory's mode, owner or group.
    Access,
    /// An environment variable the app gets: added, removed, or its value changed.
    Env,
    /// A lockfile changed while what it locks (vendor/, node_modules/, the venv) did not follow.
    Dependencies,
    /// A web server's or PHP-FPM's configuration file.
    Config,
    /// A web-stack package's version, or a loaded PHP extension.
    Platform,
    /// A listening port appeared or went away.
    Listener,
    /// Any other file (assets, data, uploads).
    File,
}

/// Which way it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    Added,
    Removed,
    Changed,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub area: Area,
    pub how: How,
    /// What changed: a path, a variable name, a package, an address.
    pub subject: String,
    /// One sentence a person reads: "mode 644 → 600", "value changed", "2.4.57 → 2.4.62".
    pub detail: String,
    /// The command or edit that puts it back, when there is one (`chmod 644 'index.php'`).
    pub fix: Option<String>,
    /// For a changed text file: the line ranges (1-based, inclusive) that differ now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<(u64, u64)>,
}

impl Change {
    /// The order `diff` prints in: by area, then added/removed/changed, then subject.
    pub fn sort_key(&self) -> (Area, How, &str) {
        (self.area, self.how, &self.subject)
    }
}

/// Sorts changes most suspicious first.
pub fn rank(changes: &mut [Change]) {
    changes.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(area: Area, how: How, subject: &str) -> Change {
        Change {
            area,
            how,
            subject: subject.into(),
            detail: String::new(),
            fix: None,
            lines: vec![],
        }
    }

    #[test]
    fn code_comes_before_assets_and_a_failing_config_test_before_all() {
        let mut all = vec![
            change(Area::File, How::Changed, "logo.png"),
            change(Area::Code, How::Changed, "cart.php"),
            change(Area::ConfigTest, How::Changed, "nginx -t"),
            change(Area::Access, How::Changed, "index.php"),
        ];
        rank(&mut all);
        let order: Vec<_> = all.iter().map(|c| c.subject.as_str()).collect();
        assert_eq!(order, ["nginx -t", "cart.php", "index.php", "logo.png"]);
    }
}
