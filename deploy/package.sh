#!/usr/bin/env bash
# Builds the Debian package lienthong_<version>_<arch>.deb (CPack; see deploy/package.cmake)
# from a Release build of the two binaries only, in ./build-package (or $BUILD_DIR), and
# prints its path. Install it with:  apt install ./build-package/lienthong_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
build=${BUILD_DIR:-build-package}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLIENTHONG_TESTS=OFF -DLIENTHONG_BENCH=OFF >/dev/null
cmake --build "$build" -j"${JOBS:-$(nproc)}" -- --no-print-directory -s
(cd "$build" && cpack -G DEB >/dev/null)
deb=$(ls -t "$build"/lienthong_*.deb | head -n1)
echo "$deb"
