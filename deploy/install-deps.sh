#!/usr/bin/env bash
# Installs every Debian 12 package that building and testing Liên Thông needs. Idempotent:
# quiet, and touches nothing, when everything is already present. Run as root.
set -euo pipefail
packages=(
  build-essential cmake pkg-config git
  libzmq3-dev cppzmq-dev libsodium-dev liblmdb-dev lmdb-utils
  libmsgpack-cxx-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev catch2
  libxml2-dev libzip-dev libxmlsec1-dev xmlsec1 openssl
  libutf8proc-dev
  libsystemd-dev
  libcpp-httplib-dev
  prometheus
  procps iproute2 nftables iputils-ping netcat-openbsd
  debootstrap file
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run this script as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
