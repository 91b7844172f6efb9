//! Ruby: the `GEM` specs of `Gemfile.lock` against the bundle's gem directories
//! (`BUNDLE_PATH/ruby/*/gems/NAME-VERSION`, `BUNDLE_PATH` from `.bundle/config`, else
//! `vendor/bundle`), with Ruby's own default gems counted as installed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{Audit, Ecosystem, Examined, Locked, compare, in_app, not_compared, read};

/// Where Ruby keeps its default gems' specifications (`json`, `bigdecimal`...), which Bundler
/// uses in place instead of installing them into the bundle.
const DEFAULT_GEM_SPECS: &[&str] = &[
    "/usr/lib/ruby/gems",
    "/usr/local/lib/ruby/gems",
    "/opt/ruby/lib/ruby/gems",
];
/// At most this many entries of a gems directory are looked at.
const MAX_GEMS: usize = 20_000;

pub fn examine(app: &Path) -> Option<Examined> {
    let lockfile = app.join("Gemfile.lock");
    if !lockfile.is_file() {
        return None;
    }
    let locked = match read(&lockfile).and_then(|t| parse_lock(&t)) {
        Ok(l) => l,
        Err(why) => return Some(super::unreadable(lockfile, why)),
    };
    let config = read(&app.join(".bundle/config"))
        .map(|t| parse_config(&t))
        .unwrap_or_default();
    let Some(bundle) = bundle_path(app, &config) else {
        return Some(not_compared(
            lockfile,
            "no bundle path (no BUNDLE_PATH in .bundle/config, no vendor/bundle): the gems are installed system-wide",
        ));
    };
    let mut installed = gems_in(&bundle.join("ruby"), "gems");
    for root in DEFAULT_GEM_SPECS {
        for (name, versions) in gems_in(Path::new(root), "specifications/default") {
            installed.entry(name).or_default().extend(versions);
        }
    }
    let first: Vec<Locked> = locked
        .iter()
        .map(|(n, vs)| Locked::new(n.clone(), vs.first().cloned()))
        .collect();
    let have = |name: &str| {
        let got = installed.get(name)?;
        let want = locked.get(name)?;
        // Any of the locked platform variants will do.
        match want.iter().find(|v| got.contains(*v)) {
            Some(v) => Some(v.clone()),
            None => got.iter().next().cloned(),
        }
    };
    let gaps = compare(&first, &have, |a, b| a == b);
    let without = config.get("BUNDLE_WITHOUT").map(|w| {
        format!("BUNDLE_WITHOUT leaves out the groups {w}: a missing gem may belong to one")
    });
    Some(Examined::Audited(Audit {
        ecosystem: Ecosystem::Bundler,
        app: app.to_path_buf(),
        lockfile,
        target: format!("the bundle {}", crate::sanitize::path(&bundle)),
        locked: first.len(),
        gaps,
        fix: in_app(app, "bundle install"),
        missing_may_be_intended: without,
    }))
}

/// The gems installed in the bundle of `app` (name → its versions, comma-separated); `None`
/// when it has no bundle (its gems are installed system-wide).
pub fn installed_gems(app: &Path) -> Option<BTreeMap<String, String>> {
    let config = read(&app.join(".bundle/config"))
        .map(|t| parse_config(&t))
        .unwrap_or_default();
    let bundle = bundle_path(app, &config)?;
    Some(
        gems_in(&bundle.join("ruby"), "gems")
            .into_iter()
            .map(|(name, versions)| (name, versions.into_iter().collect::<Vec<_>>().join(",")))
            .collect(),
    )
}

/// The bundle of `app`: `BUNDLE_PATH` (relative to the app), or `vendor/bundle` when
/// `BUNDLE_DEPLOYMENT` is set or it exists.
fn bundle_path(app: &Path, config: &BTreeMap<String, String>) -> Option<PathBuf> {
    if let Some(p) = config.get("BUNDLE_PATH") {
        return Some(app.join(p));
    }
    let vendor = app.join("vendor/bundle");
    (config.contains_key("BUNDLE_DEPLOYMENT") || vendor.is_dir()).then_some(vendor)
}

/// Every `DIR/*/SUB/NAME-VERSION[.gemspec]`: name → versions (with any platform suffix).
fn gems_in(dir: &Path, sub: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for abi in rd.flatten().take(64) {
        let Ok(gems) = std::fs::read_dir(abi.path().join(sub)) else {
            continue;
        };
        for g in gems.flatten().take(MAX_GEMS) {
            let name = g.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some((n, v)) = split_gem_dir(name.trim_end_matches(".gemspec")) {
                out.entry(n.to_string()).or_default().insert(v.to_string());
            }
        }
    }
    out
}

/// `rack-test-2.1.0` → (`rack-test`, `2.1.0`); `nokogiri-1.15.4-x86_64-linux` →
/// (`nokogiri`, `1.15.4-x86_64-linux`): the version starts at the last `-` before a digit.
pub(super) fn split_gem_dir(dir: &str) -> Option<(&str, &str)> {
    let at = dir
        .char_indices()
        .rev()
        .find(|(i, c)| {
            *c == '-'
                && dir
                    .get(i + 1..)
                    .is_some_and(|r| r.starts_with(|d: char| d.is_ascii_digit()))
        })
        .map(|(i, _)| i)?;
    let (name, version) = (dir.get(..at)?, dir.get(at + 1..)?);
    (!name.is_empty()).then_some((name, version))
}

/// The `GEM` specs of a `Gemfile.lock`: name → locked versions (one per platform).
pub fn parse_lock(text: &[u8]) -> Result<BTreeMap<String, Vec<String>>, String> {
    let text = String::from_utf8_lossy(text);
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut in_gem = false;
    let mut sections = 0;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            in_gem = line.trim_end() == "GEM";
            sections += 1;
            continue;
        }
        let Some(spec) = line.strip_prefix("    ").filter(|s| !s.starts_with(' ')) else {
            continue;
        };
        if !in_gem || out.len() >= super::MAX_LOCKED {
            continue;
        }
        let Some((name, rest)) = spec.split_once(" (") else {
            continue;
        };
        let version = rest.trim_end().trim_end_matches(')');
        if name.is_empty() || name.contains(['/', ' ']) || version.is_empty() {
            continue;
        }
        let vs = out.entry(name.to_string()).or_default();
        if !vs.iter().any(|v| v == version) {
            vs.push(version.to_string());
        }
    }
    if sections == 0 {
        return Err("no sections (GEM, PLATFORMS, DEPENDENCIES): not a Gemfile.lock".into());
    }
    Ok(out)
}

/// `.bundle/config`: `KEY: "value"` lines.
pub fn parse_config(text: &[u8]) -> BTreeMap<String, String> {
    String::from_utf8_lossy(text)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            let k = k.trim();
            k.starts_with("BUNDLE_").then(|| {
                (
                    k.to_string(),
                    v.trim().trim_matches(['"', '\'']).to_string(),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{only_audit, write};
    use super::*;

    const LOCK: &str = "GEM
  remote: https://rubygems.org/
  specs:
    nokogiri (1.15.4-x86_64-linux)
      racc (~> 1.4)
    nokogiri (1.15.4-aarch64-linux)
      racc (~> 1.4)
    rack (3.0.8)
    rack-test (2.1.0)
      rack (>= 1.3)
    racc (1.7.1)

PLATFORMS
  aarch64-linux
  x86_64-linux

DEPENDENCIES
  nokogiri
  rack-test

BUNDLED WITH
   2.4.19
";

    fn app(config: &str, gems: &[&str]) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "Gemfile.lock", LOCK);
        write(t.path(), ".bundle/config", config);
        for g in gems {
            std::fs::create_dir_all(t.path().join("shared/bundle/ruby/3.2.0/gems").join(g))
                .unwrap();
        }
        t
    }

    const ALL: &[&str] = &[
        "nokogiri-1.15.4-x86_64-linux",
        "rack-3.0.8",
        "rack-test-2.1.0",
        "racc-1.7.1",
    ];

    #[test]
    fn a_full_bundle_at_bundle_path_has_no_gaps() {
        let t = app(
            "---\nBUNDLE_PATH: \"shared/bundle\"\nBUNDLE_DEPLOYMENT: \"true\"\n",
            ALL,
        );
        let a = only_audit(examine(t.path()).into_iter().collect());
        assert_eq!(a.locked, 4);
        assert!(a.gaps.is_empty(), "{:?}", a.gaps);
        assert_eq!(
            a.fix,
            format!("cd {} && bundle install", t.path().display())
        );
    }

    #[test]
    fn a_missing_gem_and_an_old_one() {
        let t = app(
            "---\nBUNDLE_PATH: \"shared/bundle\"\nBUNDLE_WITHOUT: \"development:test\"\n",
            &["nokogiri-1.15.4-x86_64-linux", "rack-2.2.8", "racc-1.7.1"],
        );
        let a = only_audit(examine(t.path()).into_iter().collect());
        assert_eq!(
            a.missing().map(|g| g.name.as_str()).collect::<Vec<_>>(),
            ["rack-test"]
        );
        assert_eq!(
            a.mismatched()
                .map(|g| (g.name.as_str(), g.installed.as_deref().unwrap()))
                .collect::<Vec<_>>(),
            [("rack", "2.2.8")]
        );
        assert!(a.missing_may_be_intended.is_some());
    }

    #[test]
    fn system_wide_gems_are_not_compared() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "Gemfile.lock", LOCK);
        assert!(matches!(
            examine(t.path()),
            Some(Examined::NotCompared { .. })
        ));
    }

    #[test]
    fn gem_directory_names_split_at_the_version() {
        assert_eq!(
            split_gem_dir("rack-test-2.1.0"),
            Some(("rack-test", "2.1.0"))
        );
        assert_eq!(
            split_gem_dir("nokogiri-1.15.4-x86_64-linux"),
            Some(("nokogiri", "1.15.4-x86_64-linux"))
        );
        assert_eq!(split_gem_dir("noversion"), None);
        assert_eq!(split_gem_dir("-1"), None);
    }
}
