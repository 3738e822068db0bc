#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing (Lune, StyLua, selene,
# the plugin's npm packages), then Rust format/lint/tests, then the plugin's checks and
# specs under Lune.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/bin:$HOME/.cargo/bin:$PATH"

echo "==> tools and plugin packages"
bash scripts/install-tools.sh
bash scripts/install-plugin-packages.sh

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings

echo "==> cargo test"
cargo test

echo "==> plugin (StyLua, selene, TestEZ specs under Lune)"
bash scripts/test-plugin.sh
