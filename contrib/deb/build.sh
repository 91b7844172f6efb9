#!/usr/bin/env bash
# Build the Debian package: the release binary, then the man page and the completion scripts
# it generates, then `cargo deb` around them. Prints the path of the .deb.
#   contrib/deb/build.sh            (needs cargo-deb: cargo install cargo-deb --locked)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --locked
bin=${CARGO_TARGET_DIR:-target}/release/sitedoctor
assets=target/deb-assets
rm -rf "$assets"
mkdir -p "$assets"
"$bin" man | gzip -9n >"$assets/sitedoctor.1.gz"
"$bin" completions bash >"$assets/sitedoctor.bash"
"$bin" completions zsh >"$assets/_sitedoctor"
"$bin" completions fish >"$assets/sitedoctor.fish"
cargo deb --no-build --locked
