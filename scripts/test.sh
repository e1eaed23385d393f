#!/usr/bin/env bash
# The project's test command (the README's second command; .ci/run calls it).
# Installs what the tests need, then checks formatting, lints and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# Rust components used below (present on the project's machines; installed if missing).
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
