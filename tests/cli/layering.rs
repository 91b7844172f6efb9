//! The layering DESIGN.md draws holds: engines at the bottom name no module above them, and
//! the model (check results, findings, the report) names no check kind, fix, renderer or
//! diagnosis rule. An arrow that points up is a design bug; this test finds one in the source.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The engines: they may name each other and nothing else of the crate.
const ENGINES: &[&str] = &[
    "walk", "logscan", "net", "sys", "nagios", "sanitize", "units", "shell", "span",
];

/// The model: it may name the engines and itself.
const MODEL: &[&str] = &["check", "report", "finding"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The crate's top-level modules, as `src/lib.rs` declares them.
fn top_level_modules() -> BTreeSet<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let mods: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .filter_map(|l| l.strip_suffix(';'))
        .map(str::to_string)
        .collect();
    for m in ENGINES.iter().chain(MODEL) {
        assert!(mods.contains(*m), "src/lib.rs no longer declares `{m}`");
    }
    mods
}

/// Every source file of module `m`: `src/m.rs` and everything under `src/m/`.
fn files_of(m: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let file = src().join(format!("{m}.rs"));
    if file.is_file() {
        files.push(file);
    }
    let mut dirs = vec![src().join(m)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    assert!(!files.is_empty(), "no source found for module `{m}`");
    files
}

/// The first segment of every path that starts at the crate root (`crate::a::b`,
/// `crate::{a, b::c}`) or climbs out of a module (`super::a`, `super::super::a`): the
/// modules a file names. A `super::` path may also name a sibling, which the caller tells
/// apart by comparing with the crate's top-level modules.
fn named_modules(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for start in ["crate::", "super::"] {
        for (at, _) in text.match_indices(start) {
            let mut rest = &text[at + start.len()..];
            while let Some(r) = rest.strip_prefix("super::") {
                rest = r;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0usize;
                let mut item = String::new();
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            names.insert(ident(&item));
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    item.push(c);
                }
                names.insert(ident(&item));
            } else {
                names.insert(ident(rest));
            }
        }
    }
    names.remove("");
    names
}

fn ident(s: &str) -> String {
    s.trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// Each place where a file of `layer` names a top-level module outside `allowed`.
fn upward_arrows(layer: &[&str], allowed: &[&str]) -> Vec<String> {
    let modules = top_level_modules();
    let mut arrows = Vec::new();
    for m in layer {
        for f in files_of(m) {
            let text = std::fs::read_to_string(&f).unwrap();
            for name in named_modules(&text) {
                if modules.contains(&name) && !allowed.contains(&name.as_str()) {
                    let shown = f.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(&f);
                    arrows.push(format!("{} names crate::{name}", shown.display()));
                }
            }
        }
    }
    arrows
}

#[test]
fn the_scan_sees_every_form_of_path() {
    let text = "use crate::{config::SpanError, units};\nuse crate::check::Status;\nlet x = super::super::render::x();\nuse super::{tls, sibling};\n";
    let names = named_modules(text);
    for n in ["config", "units", "check", "render", "tls", "sibling"] {
        assert!(names.contains(n), "{n} in {names:?}");
    }
    // A real engine file is scanned too, so the test is not vacuous.
    let walk = std::fs::read_to_string(src().join("walk.rs")).unwrap();
    assert!(named_modules(&walk).contains("sanitize"));
}

#[test]
fn engines_name_only_engines() {
    let arrows = upward_arrows(ENGINES, ENGINES);
    assert!(
        arrows.is_empty(),
        "the engines ({}) must know nothing of config, the model, checks, the diagnosis or \
         renderers; give the engine its own types and map them in the layer above:\n{}",
        ENGINES.join(", "),
        arrows.join("\n")
    );
}

#[test]
fn the_model_names_no_kind_fix_rule_or_renderer() {
    let allowed: Vec<&str> = ENGINES.iter().chain(MODEL).copied().collect();
    let arrows = upward_arrows(MODEL, &allowed);
    assert!(
        arrows.is_empty(),
        "the model ({}) holds data: it names no check kind, fix, diagnosis rule, renderer or \
         config; move the code that computes into the layer that uses it:\n{}",
        MODEL.join(", "),
        arrows.join("\n")
    );
}
