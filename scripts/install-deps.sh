#!/usr/bin/env bash
# Installs the Debian 12 packages that build and test minimind-serve. Idempotent: when every
# package is already present it changes nothing and touches no network.
#
#   scripts/install-deps.sh           to build and run
#   scripts/install-deps.sh --test    also what only the tests use (a headless browser)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libabsl-dev libpcre2-dev nlohmann-json3-dev libhwy-dev zlib1g-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-grpcio python3-protobuf
  libcpp-httplib-dev libhiredis-dev libedit-dev
  redis-server nginx openssl
)
# Node.js/npm (independent clients and manifest validation) and kubectl (kustomize) come from the
# machine when it has them; otherwise from Debian.
if ! command -v npm >/dev/null; then packages+=(nodejs npm); fi
if ! command -v kubectl >/dev/null; then packages+=(kubernetes-client); fi
# The chat page's browser tests: Debian's chromium driven by Selenium.
if [[ ${1:-} == --test ]]; then packages+=(chromium chromium-driver python3-selenium); fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
