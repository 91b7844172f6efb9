//! Node: `package-lock.json` (v1 `dependencies`, v2/v3 `packages`), `yarn.lock` (v1 and
//! Berry), `pnpm-lock.yaml` or a bare `package.json` against `node_modules/NAME/package.json`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::{Audit, Ecosystem, Examined, Locked, compare, in_app, not_compared, read, unreadable};

/// Nested `dependencies` of a v1 lockfile are followed this deep.
const MAX_DEPTH: usize = 32;

pub fn examine(app: &Path) -> Option<Examined> {
    let (lockfile, fix, locked) = match lockfile_of(app)? {
        Ok(found) => found,
        Err(e) => return Some(e),
    };
    let modules = app.join("node_modules");
    if !modules.is_dir() {
        if app.join("composer.json").is_file() {
            return Some(not_compared(
                lockfile,
                "no node_modules beside composer.json: front-end build tooling of a PHP app, its dependencies are not needed at run time",
            ));
        }
        if app.join(".pnp.cjs").is_file() {
            return Some(not_compared(
                lockfile,
                "Yarn Plug'n'Play (.pnp.cjs) installs no node_modules",
            ));
        }
    }
    let installed = |key: &str| installed_version(app, key);
    let mut gaps = compare(&locked, &installed, |a, b| a == b);
    for g in &mut gaps {
        g.name = display_name(&g.name);
    }
    Some(Examined::Audited(Audit {
        ecosystem: Ecosystem::Npm,
        app: app.to_path_buf(),
        lockfile,
        target: "node_modules".into(),
        locked: locked.len(),
        gaps,
        fix: in_app(app, fix),
        missing_may_be_intended: None,
    }))
}

type Found = (std::path::PathBuf, &'static str, Vec<Locked>);

/// How a lockfile is read: from its own text and `package.json`'s.
type Parser = fn(&[u8], &[u8]) -> Result<Vec<Locked>, String>;

/// The lockfile to trust, the command that installs from it, and what it locks (names are
/// install paths under the app: `node_modules/a/node_modules/b`).
fn lockfile_of(app: &Path) -> Option<Result<Found, Examined>> {
    let (name, fix, parser): (&str, &'static str, Parser) =
        if app.join("npm-shrinkwrap.json").is_file() {
            ("npm-shrinkwrap.json", "npm ci", parse_package_lock)
        } else if app.join("package-lock.json").is_file() {
            ("package-lock.json", "npm ci", parse_package_lock)
        } else if app.join("yarn.lock").is_file() {
            let fix = if app.join(".yarnrc.yml").is_file() {
                "yarn install --immutable"
            } else {
                "yarn install --frozen-lockfile"
            };
            ("yarn.lock", fix, parse_yarn_lock)
        } else if app.join("pnpm-lock.yaml").is_file() {
            (
                "pnpm-lock.yaml",
                "pnpm install --frozen-lockfile",
                |_, m| direct_dependencies(m),
            )
        } else if app.join("package.json").is_file() {
            ("package.json", "npm install", |m, _| direct_dependencies(m))
        } else {
            return None;
        };
    let lock = app.join(name);
    // A package-lock.json stands on its own; the others need package.json's names.
    let manifest = if name.ends_with(".json") && name != "package.json" {
        Ok(Vec::new())
    } else {
        read(&app.join("package.json"))
    };
    let locked = read(&lock)
        .and_then(|text| manifest.map(|m| (text, m)))
        .and_then(|(text, m)| parser(&text, &m));
    Some(match locked {
        Ok(l) => Ok((lock, fix, super::bounded(l))),
        Err(why) => Err(unreadable(lock, why)),
    })
}

/// The version installed at `key` (`node_modules/express`), from its `package.json`.
fn installed_version(app: &Path, key: &str) -> Option<String> {
    let text = super::read_meta(&app.join(key).join("package.json"))?;
    let v: Value = serde_json::from_slice(&text).ok()?;
    Some(
        v.get("version")
            .and_then(Value::as_str)
            .unwrap_or("(no version in its package.json)")
            .to_string(),
    )
}

/// `node_modules/a/node_modules/@s/b` → `@s/b (under a)`.
pub(super) fn display_name(key: &str) -> String {
    let parts: Vec<&str> = key
        .split("node_modules/")
        .map(|p| p.trim_end_matches('/'))
        .filter(|p| !p.is_empty())
        .collect();
    match parts.as_slice() {
        [] => key.to_string(),
        [one] => (*one).to_string(),
        [.., parent, last] => format!("{last} (under {parent})"),
    }
}

/// What a `package-lock.json` locks for a production install: every package under
/// `node_modules` except dev, optional and linked ones.
pub fn parse_package_lock(text: &[u8], _: &[u8]) -> Result<Vec<Locked>, String> {
    let v: Value = serde_json::from_slice(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let mut out = Vec::new();
    if let Some(packages) = v.get("packages").and_then(Value::as_object) {
        for (key, p) in packages {
            if !key.starts_with("node_modules/") && !key.contains("/node_modules/") {
                continue; // the root package, a workspace
            }
            if key.split('/').any(|c| c == ".." || c == ".") || skipped(p) {
                continue;
            }
            if p.get("link").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let version = p.get("version").and_then(Value::as_str).map(str::to_string);
            out.push(Locked::new(key.clone(), version));
        }
    } else if let Some(deps) = v.get("dependencies").and_then(Value::as_object) {
        v1_dependencies(deps, "", 0, &mut out);
    } else {
        return Err("neither `packages` nor `dependencies`: not a package-lock.json".into());
    }
    Ok(out)
}

/// A dev-only, optional or bundled package: a production install may lack it.
fn skipped(p: &Value) -> bool {
    ["dev", "optional", "devOptional", "inBundle", "bundled"]
        .iter()
        .any(|k| p.get(*k).and_then(Value::as_bool) == Some(true))
}

fn v1_dependencies(
    deps: &serde_json::Map<String, Value>,
    under: &str,
    depth: usize,
    out: &mut Vec<Locked>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    for (name, p) in deps {
        if skipped(p)
            || name
                .split('/')
                .any(|c| c == ".." || c == "." || c.is_empty())
        {
            continue;
        }
        let key = format!("{under}node_modules/{name}");
        let version = p.get("version").and_then(Value::as_str);
        // A v1 `version` may be a URL or `file:` for non-registry packages.
        let pinned = version.filter(|v| !v.contains(':') && !v.contains('/'));
        out.push(Locked::new(key.clone(), pinned.map(str::to_string)));
        if let Some(nested) = p.get("dependencies").and_then(Value::as_object) {
            v1_dependencies(nested, &format!("{key}/"), depth + 1, out);
        }
    }
}

/// The direct `dependencies` of a `package.json`, names only.
fn direct_dependencies(manifest: &[u8]) -> Result<Vec<Locked>, String> {
    let v: Value = serde_json::from_slice(manifest)
        .map_err(|e| format!("package.json is not valid JSON: {e}"))?;
    Ok(v.get("dependencies")
        .and_then(Value::as_object)
        .map(|d| {
            d.keys()
                .filter(|n| !n.split('/').any(|c| c == ".." || c == "." || c.is_empty()))
                .map(|n| Locked::new(format!("node_modules/{n}"), None))
                .collect()
        })
        .unwrap_or_default())
}

/// The direct `dependencies` of `package.json`, each with the version `yarn.lock` resolves it
/// to when it resolves it to exactly one.
pub fn parse_yarn_lock(text: &[u8], manifest: &[u8]) -> Result<Vec<Locked>, String> {
    let versions = yarn_versions(&String::from_utf8_lossy(text));
    let mut direct = direct_dependencies(manifest)?;
    for l in &mut direct {
        let name = l.name.trim_start_matches("node_modules/");
        if let Some(vs) = versions.get(name).filter(|vs| vs.len() == 1) {
            l.version = vs.first().cloned();
        }
    }
    Ok(direct)
}

/// Every version `yarn.lock` resolves each package name to (v1 and Berry).
fn yarn_versions(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut names: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            names = line
                .trim_end_matches(':')
                .split(", ")
                .filter_map(yarn_spec_name)
                .collect();
            names.dedup();
            continue;
        }
        let Some(rest) = line.strip_prefix("  ").filter(|r| !r.starts_with(' ')) else {
            continue;
        };
        let Some(v) = rest.strip_prefix("version") else {
            continue;
        };
        let v = v
            .trim_start_matches(':')
            .trim()
            .trim_matches('"')
            .to_string();
        if v.is_empty() {
            continue;
        }
        for n in &names {
            let vs = out.entry(n.clone()).or_default();
            if !vs.contains(&v) {
                vs.push(v.clone());
            }
        }
    }
    out
}

/// `"@babel/core@^7.0.0"` → `@babel/core`; `express@npm:^4` → `express`.
fn yarn_spec_name(spec: &str) -> Option<String> {
    let s = spec.trim().trim_matches('"');
    let at = s.char_indices().skip(1).find(|(_, c)| *c == '@')?.0;
    let name = s.get(..at)?;
    (!name.is_empty() && name != "__metadata").then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{only_audit, write};
    use super::*;

    const LOCK_V3: &str = r#"{
  "name": "shop",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {"name": "shop", "version": "1.0.0", "dependencies": {"express": "^4.18.2", "lodash": "^4.17.21"}, "devDependencies": {"jest": "^29.0.0"}},
    "node_modules/express": {"version": "4.18.2", "resolved": "https://registry.npmjs.org/express/-/express-4.18.2.tgz", "integrity": "sha512-x"},
    "node_modules/lodash": {"version": "4.17.21", "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz", "integrity": "sha512-y"},
    "node_modules/@types/node": {"version": "20.1.0"},
    "node_modules/express/node_modules/debug": {"version": "2.6.9"},
    "node_modules/jest": {"version": "29.7.0", "dev": true},
    "node_modules/fsevents": {"version": "2.3.3", "optional": true, "os": ["darwin"]},
    "node_modules/local-lib": {"resolved": "packages/local-lib", "link": true},
    "packages/local-lib": {"version": "0.0.1"}
  }
}"#;

    fn installed(app: &Path, key: &str, version: &str) {
        write(
            app,
            &format!("{key}/package.json"),
            &format!(r#"{{"name": "x", "version": "{version}"}}"#),
        );
    }

    fn healthy(app: &Path) {
        write(
            app,
            "package.json",
            r#"{"dependencies": {"express": "^4.18.2"}}"#,
        );
        write(app, "package-lock.json", LOCK_V3);
        installed(app, "node_modules/express", "4.18.2");
        installed(app, "node_modules/lodash", "4.17.21");
        installed(app, "node_modules/@types/node", "20.1.0");
        installed(app, "node_modules/express/node_modules/debug", "2.6.9");
    }

    #[test]
    fn a_healthy_install_has_no_gaps_and_dev_optional_linked_are_not_judged() {
        let t = tempfile::tempdir().unwrap();
        healthy(t.path());
        let a = only_audit(examine(t.path()).into_iter().collect());
        assert_eq!(a.locked, 4);
        assert!(a.gaps.is_empty(), "{:?}", a.gaps);
        assert_eq!(a.fix, format!("cd {} && npm ci", t.path().display()));
    }

    #[test]
    fn a_removed_module_is_missing_and_a_bumped_lock_a_mismatch() {
        let t = tempfile::tempdir().unwrap();
        healthy(t.path());
        std::fs::remove_dir_all(t.path().join("node_modules/express/node_modules/debug")).unwrap();
        std::fs::remove_dir_all(t.path().join("node_modules/lodash")).unwrap();
        installed(t.path(), "node_modules/@types/node", "20.0.0");
        let a = only_audit(examine(t.path()).into_iter().collect());
        let missing: Vec<&str> = a.missing().map(|g| g.name.as_str()).collect();
        assert_eq!(missing, ["debug (under express)", "lodash"]);
        let other: Vec<(&str, &str)> = a
            .mismatched()
            .map(|g| (g.name.as_str(), g.installed.as_deref().unwrap()))
            .collect();
        assert_eq!(other, [("@types/node", "20.0.0")]);
    }

    #[test]
    fn a_v1_lockfile_nests_dependencies() {
        let lock = br#"{"lockfileVersion": 1, "dependencies": {
            "a": {"version": "1.0.0", "dependencies": {"b": {"version": "2.0.0"}}},
            "c": {"version": "1.0.0", "dev": true},
            "d": {"version": "git+https://example/d.git"}}}"#;
        let l = parse_package_lock(lock, b"").unwrap();
        assert_eq!(
            l,
            [
                Locked::new("node_modules/a", Some("1.0.0".into())),
                Locked::new("node_modules/a/node_modules/b", Some("2.0.0".into())),
                Locked::new("node_modules/d", None),
            ]
        );
    }

    #[test]
    fn yarn_v1_and_berry_resolve_direct_dependencies() {
        let v1 = "# yarn lockfile v1\n\n\n\"@babel/code-frame@^7.0.0\", \"@babel/code-frame@^7.10.4\":\n  version \"7.12.13\"\n  resolved \"https://registry.yarnpkg.com/x\"\n  dependencies:\n    \"@babel/highlight\" \"^7.12.13\"\n\nexpress@^4.18.2:\n  version \"4.18.2\"\n\nms@2.0.0:\n  version \"2.0.0\"\n\nms@2.1.3:\n  version \"2.1.3\"\n";
        let manifest = br#"{"dependencies": {"express": "^4", "@babel/code-frame": "^7", "ms": "*", "left-pad": "1"}}"#;
        let l = parse_yarn_lock(v1.as_bytes(), manifest).unwrap();
        assert_eq!(
            l,
            [
                Locked::new("node_modules/@babel/code-frame", Some("7.12.13".into())),
                Locked::new("node_modules/express", Some("4.18.2".into())),
                Locked::new("node_modules/left-pad", None),
                Locked::new("node_modules/ms", None),
            ]
        );
        let berry = "__metadata:\n  version: 6\n  cacheKey: 8\n\n\"express@npm:^4.18.2\":\n  version: 4.18.2\n  resolution: \"express@npm:4.18.2\"\n";
        let l =
            parse_yarn_lock(berry.as_bytes(), br#"{"dependencies": {"express": "^4"}}"#).unwrap();
        assert_eq!(
            l,
            [Locked::new("node_modules/express", Some("4.18.2".into()))]
        );
    }

    #[test]
    fn no_node_modules_beside_composer_json_is_front_end_tooling() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "package-lock.json", LOCK_V3);
        write(t.path(), "composer.json", "{}");
        assert!(matches!(
            examine(t.path()),
            Some(Examined::NotCompared { .. })
        ));
        std::fs::remove_file(t.path().join("composer.json")).unwrap();
        let a = only_audit(examine(t.path()).into_iter().collect());
        assert_eq!(a.missing().count(), 4);
    }

    #[test]
    fn a_broken_lockfile_is_unreadable() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "package-lock.json", "{\"lockfileVersion\": 3,");
        assert!(matches!(
            examine(t.path()),
            Some(Examined::Unreadable { .. })
        ));
    }
}
