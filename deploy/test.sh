#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest.
# Exits non-zero on any failure. SANITIZE=1 builds and tests with ASan/UBSan in build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
# The fresh Debian 12 tree the package test installs the .deb into (once; downloads). Without
# it that test is skipped, and says so.
if [ "$(id -u)" -eq 0 ]; then
  ./deploy/debian-base.sh || echo "test: no Debian 12 base; the package test will be skipped"
fi
if [ "${SANITIZE:-0}" = "1" ]; then
  export BUILD_DIR=build-asan
  ./deploy/build.sh -DLIENTHONG_SANITIZE=ON
else
  export BUILD_DIR=build
  ./deploy/build.sh
fi
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 600 -j2
