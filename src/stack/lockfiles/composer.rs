//! PHP: `composer.lock` (or the `require` of a bare `composer.json`) against
//! `vendor/composer/installed.json` (Composer 1's list, Composer 2's `{"packages": [...]}`)
//! and the package directories under `vendor/`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::{Audit, Ecosystem, Examined, Locked, compare, in_app, read, unreadable};

pub fn examine(app: &Path) -> Option<Examined> {
    let (lockfile, locked) = if app.join("composer.lock").is_file() {
        let p = app.join("composer.lock");
        (p.clone(), read(&p).and_then(|t| parse_lock(&t)))
    } else if app.join("composer.json").is_file() {
        let p = app.join("composer.json");
        (p.clone(), read(&p).and_then(|t| parse_manifest(&t)))
    } else {
        return None;
    };
    let locked = match locked {
        Ok(l) => super::bounded(l),
        Err(why) => return Some(unreadable(lockfile, why)),
    };
    let installed_json = app.join("vendor/composer/installed.json");
    let installed = if installed_json.is_file() {
        match read(&installed_json).and_then(|t| parse_installed(&t)) {
            Ok(i) => i,
            Err(why) => return Some(unreadable(installed_json, why)),
        }
    } else {
        BTreeMap::new()
    };
    let vendor = app.join("vendor");
    let have = |name: &str| {
        let (version, kind) = installed.get(&name.to_ascii_lowercase())?;
        // A metapackage has no directory; any other must still be there.
        (kind == "metapackage" || vendor.join(name).is_dir()).then(|| version.clone())
    };
    let gaps = compare(&locked, &have, same_version);
    Some(Examined::Audited(Audit {
        ecosystem: Ecosystem::Composer,
        app: app.to_path_buf(),
        lockfile,
        target: "vendor/".into(),
        locked: locked.len(),
        gaps,
        fix: in_app(app, "composer install --no-dev"),
        missing_may_be_intended: None,
    }))
}

/// `v6.3.0` and `6.3.0` are the same release.
fn same_version(a: &str, b: &str) -> bool {
    a.trim_start_matches('v') == b.trim_start_matches('v')
}

fn safe_name(n: &str) -> bool {
    !n.is_empty() && !n.split('/').any(|c| c.is_empty() || c == "." || c == "..")
}

/// The packages of `composer.lock` a `--no-dev` install puts in `vendor/` (not `packages-dev`).
pub fn parse_lock(text: &[u8]) -> Result<Vec<Locked>, String> {
    let v: Value = serde_json::from_slice(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let packages = v
        .get("packages")
        .and_then(Value::as_array)
        .ok_or("no `packages` list: not a composer.lock")?;
    Ok(packages
        .iter()
        .filter_map(|p| {
            let name = p.get("name")?.as_str().filter(|n| safe_name(n))?;
            let version = p.get("version").and_then(Value::as_str).map(str::to_string);
            Some(Locked::new(name, version))
        })
        .collect())
}

/// The packages a bare `composer.json` requires (not PHP itself, extensions or platform
/// packages), names only.
pub fn parse_manifest(text: &[u8]) -> Result<Vec<Locked>, String> {
    let v: Value = serde_json::from_slice(text).map_err(|e| format!("not valid JSON: {e}"))?;
    Ok(v.get("require")
        .and_then(Value::as_object)
        .map(|r| {
            r.keys()
                .filter(|n| n.contains('/') && safe_name(n))
                .map(|n| Locked::new(n.clone(), None))
                .collect()
        })
        .unwrap_or_default())
}

/// `installed.json` of Composer 1 (a list) or 2 (`{"packages": [...]}`): lower-cased name →
/// (version, type).
pub fn parse_installed(text: &[u8]) -> Result<BTreeMap<String, (String, String)>, String> {
    let v: Value = serde_json::from_slice(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let list = match &v {
        Value::Array(a) => a,
        Value::Object(o) => o
            .get("packages")
            .and_then(Value::as_array)
            .ok_or("no `packages` list: not Composer's installed.json")?,
        _ => return Err("neither a list nor an object: not Composer's installed.json".into()),
    };
    Ok(list
        .iter()
        .filter_map(|p| {
            let name = p.get("name")?.as_str()?.to_ascii_lowercase();
            let version = p.get("version").and_then(Value::as_str).unwrap_or("");
            let kind = p.get("type").and_then(Value::as_str).unwrap_or("library");
            Some((name, (version.to_string(), kind.to_string())))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{only_audit, write};
    use super::*;

    const LOCK: &str = r#"{
    "_readme": ["This file locks the dependencies of your project to a known state"],
    "content-hash": "abc",
    "packages": [
        {"name": "monolog/monolog", "version": "3.5.0", "type": "library"},
        {"name": "symfony/polyfill-mbstring", "version": "v1.28.0", "type": "library"},
        {"name": "psr/log", "version": "3.0.0", "type": "library"}
    ],
    "packages-dev": [
        {"name": "phpunit/phpunit", "version": "10.5.0", "type": "library"}
    ],
    "aliases": [], "minimum-stability": "stable", "plugin-api-version": "2.6.0"
}"#;

    fn v1(monolog: &str) -> String {
        format!(
            r#"[{{"name": "monolog/monolog", "version": "{monolog}", "version_normalized": "3.5.0.0"}},
               {{"name": "symfony/polyfill-mbstring", "version": "v1.28.0"}},
               {{"name": "psr/log", "version": "3.0.0"}}]"#
        )
    }

    fn app(installed: &str) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "composer.lock", LOCK);
        write(t.path(), "vendor/composer/installed.json", installed);
        for d in ["monolog/monolog", "symfony/polyfill-mbstring", "psr/log"] {
            std::fs::create_dir_all(t.path().join("vendor").join(d)).unwrap();
        }
        t
    }

    #[test]
    fn composer_1_and_2_installed_json_both_read() {
        let t = app(&v1("3.5.0"));
        let a = only_audit(examine(t.path()).into_iter().collect());
        assert_eq!((a.locked, a.gaps.len()), (3, 0));
        let v2 = format!(
            r#"{{"packages": {}, "dev": false, "dev-package-names": []}}"#,
            v1("3.5.0")
        );
        let t = app(&v2);
        let a = only_audit(examine(t.path()).into_iter().collect());
        assert!(a.gaps.is_empty(), "{:?}", a.gaps);
        assert_eq!(
            a.fix,
            format!("cd {} && composer install --no-dev", t.path().display())
        );
    }

    #[test]
    fn a_removed_directory_is_missing_and_an_older_install_a_mismatch() {
        let t = app(&v1("3.4.0"));
        std::fs::remove_dir_all(t.path().join("vendor/psr/log")).unwrap();
        let a = only_audit(examine(t.path()).into_iter().collect());
        assert_eq!(
            a.missing().map(|g| g.name.as_str()).collect::<Vec<_>>(),
            ["psr/log"]
        );
        assert_eq!(
            a.mismatched()
                .map(|g| (g.name.as_str(), g.installed.as_deref().unwrap()))
                .collect::<Vec<_>>(),
            [("monolog/monolog", "3.4.0")]
        );
    }

    #[test]
    fn no_vendor_at_all_misses_everything() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "composer.lock", LOCK);
        let a = only_audit(examine(t.path()).into_iter().collect());
        assert_eq!(a.missing().count(), 3);
    }

    #[test]
    fn a_bare_composer_json_requires_packages_not_platforms() {
        let l = parse_manifest(
            br#"{"require": {"php": ">=8.1", "ext-json": "*", "laravel/framework": "^10"}}"#,
        )
        .unwrap();
        assert_eq!(l, [Locked::new("laravel/framework", None)]);
    }
}
