#!/usr/bin/env bash
# ctest 'testbed.soak': runs lienthong-soak (see soak_main.cpp) on a testbed of its own, with a
# trap that takes the testbed down on any exit, even one the driver does not live to see.
# On failure (or with LIENTHONG_SOAK_KEEP_LOGS=1) the node logs are kept and their directory
# printed; otherwise nothing is left.
#
# usage: soak_test.sh LIENTHONG_SOAK TESTBED_SH LIENTHONG_NODE LIENTHONG_ADMIN [SOAK OPTIONS...]
# Exit 0 passed, 1 failed, 77 skipped (not root, no network namespaces). The seed comes from
# $LIENTHONG_SOAK_SEED (or --seed N), else the driver's fixed default.
set -euo pipefail

[ $# -ge 4 ] || { echo "usage: $0 LIENTHONG_SOAK TESTBED_SH LIENTHONG_NODE LIENTHONG_ADMIN [OPTIONS...]" >&2; exit 2; }
SOAK=$1 TB=$2 NODE_BIN=$3 ADMIN_BIN=$4
shift 4
for f in "$SOAK" "$TB" "$NODE_BIN" "$ADMIN_BIN"; do
  [ -x "$f" ] || { echo "FAIL: $f is not an executable file" >&2; exit 1; }
done

NAME=soak$(($$ % 100000))
# Short: each node's API socket lives under it (a unix socket path holds 107 bytes).
WORK=$(mktemp -d /tmp/lt-soak-XXXXXX)
cleanup() {
  local rc=$?
  "$TB" down --name "$NAME" >/dev/null 2>&1 || "$TB" down --name "$NAME" || true
  if { [ "$rc" -ne 0 ] || [ "${LIENTHONG_SOAK_KEEP_LOGS:-0}" = 1 ]; } && [ "$rc" -ne 77 ] && [ -d "$WORK/logs" ]; then
    local keep=/tmp/lt-soak-logs-$NAME
    rm -rf "$keep" && mv "$WORK/logs" "$keep" && echo "node logs kept in $keep"
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

rc=0
"$SOAK" --testbed "$TB" --node-bin "$NODE_BIN" --admin-bin "$ADMIN_BIN" --name "$NAME" --work "$WORK" "$@" || rc=$?
exit "$rc"
