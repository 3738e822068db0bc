#!/usr/bin/env bash
# The plugin's checks, from any directory:
#   1. installs the pinned tools (lune, stylua, selene) and plugin/Packages if missing
#   2. stylua --check plugin plugin-tests          (formatting; any diff fails)
#   3. selene plugin plugin-tests                  (errors AND warnings fail; set
#      SELENE_ALLOW_WARNINGS=1 to report warnings without failing)
#   4. the selene std is current (plugin-tests/std/roblox.yml matches its generator)
#   5. lune run plugin-tests/run.luau              (every TestEZ spec, headless)
# Every step runs even when an earlier one failed; the exit code is 1 if any failed.
# Extra arguments go to the runner, e.g. `scripts/test-plugin.sh Msgpack`.
set -uo pipefail

cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/bin:$PATH:$HOME/.cargo/bin"

bash scripts/install-tools.sh || exit 1
bash scripts/install-plugin-packages.sh || exit 1

failed=()

echo "==> stylua --check plugin plugin-tests"
stylua --check plugin plugin-tests || failed+=("stylua")

echo "==> selene plugin plugin-tests"
selene_args=()
if [[ "${SELENE_ALLOW_WARNINGS:-0}" == "1" ]]; then
	selene_args+=(--allow-warnings)
fi
selene "${selene_args[@]}" plugin plugin-tests || failed+=("selene")

echo "==> selene std is up to date"
fresh="$(mktemp)"
if lune run plugin-tests/tools/gen-selene-std.luau "$fresh" > /dev/null && cmp -s "$fresh" plugin-tests/std/roblox.yml; then
	echo "plugin-tests/std/roblox.yml is current"
else
	echo "plugin-tests/std/roblox.yml is stale: run lune run plugin-tests/tools/gen-selene-std.luau" >&2
	failed+=("selene-std")
fi
rm -f "$fresh"

echo "==> lune run plugin-tests/run.luau"
log="$(mktemp)"
lune run plugin-tests/run.luau -- "$@" | tee "$log" || failed+=("plugin specs")
summary="$(tail -n 1 "$log")"
rm -f "$log"

if ((${#failed[@]} > 0)); then
	echo "test-plugin: FAILED: ${failed[*]}"
else
	echo "test-plugin: all plugin checks passed"
fi
# The runner's "N passed, N failed, N skipped" stays the last line for CI.
echo "$summary"
((${#failed[@]} == 0))
