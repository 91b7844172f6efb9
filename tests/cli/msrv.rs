//! The declared `rust-version` is the one the code and its dependencies really need.

/// The highest `rust-version` any package in the lockfile declares must not exceed ours;
/// clippy's `incompatible_msrv` lint (on in CI) checks our own code against it.
#[test]
fn declared_rust_version_covers_every_dependency() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let parse = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    let ours = parse(env!("CARGO_PKG_RUST_VERSION"));
    let needed = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| Some((p["rust_version"].as_str()?, p["name"].as_str()?)))
        .max_by_key(|(v, _)| parse(v))
        .expect("some package declares a rust-version");
    assert!(
        parse(needed.0) <= ours,
        "{} needs Rust {} but Cargo.toml declares rust-version {}",
        needed.1,
        needed.0,
        env!("CARGO_PKG_RUST_VERSION")
    );
}
