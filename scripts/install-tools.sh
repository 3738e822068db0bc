#!/usr/bin/env bash
# Installs the plugin toolchain at pinned versions, each only when missing:
#   lune 0.11.1, stylua 2.6.0 (with Luau syntax), selene 0.31.0
# into .tools/bin with `cargo install --locked --root .tools`. A tool already on
# PATH (for example lune in ~/.cargo/bin) at the right version counts as present.
# There are no prebuilt binaries to download here: first install compiles from
# crates.io (lune ~10 min, stylua + selene ~3 min on 2 cores).
#
# Callers put the tools first on PATH themselves (scripts/test-plugin.sh and
# scripts/test.sh export PATH="$PWD/.tools/bin:$PATH:$HOME/.cargo/bin").
set -euo pipefail

_atlas_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$_atlas_root/.tools/bin:$PATH:$HOME/.cargo/bin"

# has_tool NAME VERSION: true when NAME on PATH prints VERSION in `NAME --version`.
_atlas_has_tool() {
	command -v "$1" > /dev/null 2>&1 && "$1" --version 2> /dev/null | grep -Fq -- " $2"
}

_atlas_install() { # _atlas_install CRATE VERSION [cargo args...]
	local crate="$1" version="$2"
	shift 2
	if _atlas_has_tool "$crate" "$version"; then
		return 0
	fi
	echo "installing $crate $version into .tools (cargo install --locked)..." >&2
	cargo install --locked --quiet --root "$_atlas_root/.tools" "$crate" --version "=$version" "$@"
	if ! _atlas_has_tool "$crate" "$version"; then
		echo "install-tools: $crate $version was installed but \`$crate --version\` does not report it" >&2
		return 1
	fi
}

_atlas_install lune 0.11.1
_atlas_install stylua 2.6.0 --features luau
_atlas_install selene 0.31.0
