#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds the release tree and runs every test
# (unit + end-to-end) through ctest, then builds a second tree with clang-14 + ASan/UBSan and
# libFuzzer, and runs the unit tests and each fuzz target briefly (fixed seed and run count)
# there. Safe to run twice. Benchmarks are not run here (see docs/BENCHMARKS.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jobs="$(nproc)"

"$root/scripts/build.sh"
ctest --test-dir "$root/build" --output-on-failure --timeout 900

cmake -S "$root" -B "$root/build-sanitize" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DP2PGIT_SANITIZE=ON -DP2PGIT_FUZZ=ON -DP2PGIT_BENCH=OFF >/dev/null
cmake --build "$root/build-sanitize" -j"$jobs"
ctest --test-dir "$root/build-sanitize" --output-on-failure --timeout 900 -L 'unit|fuzz'
