#!/usr/bin/env bash
# Makes the benchmark repository: a deterministic working repository (branch main, tags v1…)
# of >= 20,000 commits and >= 100 MB packed by default. Same arguments, same commit ids.
#
#   bench/make_bench_repo.sh OUT_DIR [--tiny] [--no-checkout] [generator flags…]
#
# --tiny: 200 small commits (for the unit test). Generator flags (--seed, --commits,
# --initial-files, --file-lines, --new-file-per-mille) are passed to make_bench_repo.cpp.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: make_bench_repo.sh OUT_DIR [--tiny] [--no-checkout] [generator flags]}"
shift
checkout=1
gen_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tiny) gen_args+=(--commits 200 --initial-files 20 --file-lines 40); shift ;;
    --no-checkout) checkout=0; shift ;;
    *) gen_args+=("$1"); shift ;;
  esac
done
if [ -e "$out" ]; then echo "error: $out already exists" >&2; exit 1; fi

# No user configuration may change the result.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
unset GIT_DIR GIT_WORK_TREE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES

# The generator is built next to nothing else (no CMake dependency), cached by source hash.
cache="${XDG_CACHE_HOME:-$HOME/.cache}/p2pgit-bench"
mkdir -p "$cache"
hash="$(sha256sum "$here/make_bench_repo.cpp" | cut -c1-16)"
gen="$cache/make_bench_repo-$hash"
if [ ! -x "$gen" ]; then
  ${CXX:-g++} -O2 -std=c++20 -o "$gen.tmp.$$" "$here/make_bench_repo.cpp"
  mv "$gen.tmp.$$" "$gen"
fi

git init -q -b main "$out"
"$gen" "${gen_args[@]}" | git -C "$out" fast-import --quiet --depth=50
if [ "$checkout" = 1 ]; then git -C "$out" checkout -q -f main; fi
git -C "$out" count-objects -vH >&2
