#!/usr/bin/env bash
# Installs the Debian 12 packages p2p-git needs to build, test and run.
# Idempotent: asks apt only for what is missing and skips `apt-get update` when nothing is.
# Works as root on a minimal Debian 12 (debootstrap minbase) and via sudo otherwise.
set -euo pipefail

PACKAGES=(
  # toolchain
  ca-certificates build-essential g++ cmake ninja-build pkg-config
  # clang + libFuzzer/ASan/UBSan runtimes (clang-14 only *recommends* libclang-rt-14-dev)
  clang-14 libclang-rt-14-dev
  # libraries
  libsodium-dev libngtcp2-dev libngtcp2-crypto-gnutls-dev libgnutls28-dev
  libgit2-dev libsqlite3-dev libcli11-dev nlohmann-json3-dev libtomlplusplus-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  # runtime: git moves packs; python3 checks test vectors independently; procps for ps/pkill
  git python3 procps iproute2
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
    echo "error: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
fi

echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
