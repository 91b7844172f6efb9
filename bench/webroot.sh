# Sourced by the benchmarks of the 200,000-file web root (permissions.sh, baseline.sh), with
# $files set: builds the release binary ($bin), makes bench/tree.py's tree in $work/www (a
# temporary directory removed on exit) and $work/perm.toml, one permissions check on it.
cargo build --release --locked -q
bin=$PWD/target/release/sitedoctor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "building a tree of $files files in $work/www ..."
python3 bench/tree.py "$work/www" "$files"

cat >"$work/perm.toml" <<TOML
[[check]]
id = "bench"
kind = "permissions"
path = "$work/www"
timeout = "120s"
TOML
