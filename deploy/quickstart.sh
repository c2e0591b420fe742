#!/usr/bin/env bash
# Quickstart: install what is missing, build, and run a small local federation of three real
# lienthong-node processes on 127.0.0.1. The province office sends a document with an
# attachment to two departments; you see its delivery, their signed receipts and the
# signature check, and the nodes stop cleanly (or keep running with --keep).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
keep=0
[ "${1:-}" = "--keep" ] && keep=1

./deploy/install-deps.sh
echo "== building"
BUILD_TARGETS="lienthong-node lienthong-admin" ./deploy/build.sh
node_bin=$root/build/node/lienthong-node
admin_bin=$root/build/admin/lienthong-admin

work=$root/.quickstart
if [ -d "$work" ]; then
  for pidf in "$work"/*/node.pid; do [ -f "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null || true; done
  sleep 0.5
  rm -rf "$work"
fi
mkdir -p "$work"

# Three agencies: a provincial office and two departments (codes in the mã định danh form).
names=(province health education)
agencies=(000.00.00.H41 000.00.31.H41 000.00.32.H41)
titles=("Văn phòng UBND tỉnh" "Sở Y tế" "Sở Giáo dục và Đào tạo")
base_port=$(( 17100 + RANDOM % 800 ))
pids=()
stop_nodes() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
}
trap '[ $keep -eq 1 ] || stop_nodes' EXIT

echo "== creating three nodes in $work"
for i in 0 1 2; do
  d=$work/${names[$i]}
  "$admin_bin" init --agency "${agencies[$i]}" --name "${titles[$i]}" \
    --listen "tcp://127.0.0.1:$((base_port + i))" --dir "$d" >/dev/null
done
for i in 0 1 2; do
  d=$work/${names[$i]}
  "$node_bin" --config "$d/node.yaml" 2>"$d/node.log" &
  pids+=($!)
  echo $! >"$d/node.pid"
done
for i in 0 1 2; do
  for _ in $(seq 1 100); do [ -S "$work/${names[$i]}/data/api.sock" ] && break; sleep 0.1; done
done
# Every node trusts the other two (live, through the admin CLI; no restart).
for i in 0 1 2; do
  for j in 0 1 2; do
    [ $i -eq $j ] && continue
    line=$("$admin_bin" -c "$work/${names[$j]}/node.yaml" id | head -n1)
    "$admin_bin" -c "$work/${names[$i]}/node.yaml" peer add --identity "$line" \
      --endpoint "tcp://127.0.0.1:$((base_port + j))" >/dev/null
  done
done
echo "   ${agencies[0]} ${titles[0]}   ${agencies[1]} ${titles[1]}   ${agencies[2]} ${titles[2]}"

admin_p() { "$admin_bin" -c "$work/province/node.yaml" "$@"; }
attachment=$work/attachment.edxml
if [ -f "$root/../shared/edxml-samples/edoc_new.edxml" ]; then
  cp "$root/../shared/edxml-samples/edoc_new.edxml" "$attachment"
else
  head -c 300000 /dev/urandom >"$attachment"
fi
echo "== sending a document with a $(stat -c %s "$attachment")-byte attachment from ${agencies[0]} to ${agencies[1]} and ${agencies[2]}"
id=$(admin_p send --to "${agencies[1]}" --to "${agencies[2]}" \
  --subject "Về việc triển khai liên thông văn bản điện tử" --type "Công văn" --number "123/UBND-VP" \
  --signer "Nguyễn Văn A" --body "Kính gửi các Sở: đề nghị triển khai trước ngày 15/12." \
  --attach "$attachment" --due 2026-12-15)
echo "   message id $id"

echo "== waiting for both signed receipts"
for _ in $(seq 1 100); do
  pending=$(admin_p --json outbox --pending | grep -c '"pending"' || true)
  [ "$pending" = "0" ] && break
  sleep 0.1
done
echo
admin_p show "$id"
echo
echo "== receipts held by ${agencies[0]} (each signature checked against the recipient's key)"
admin_p receipt "$id"
echo
echo "== ${agencies[1]} inbox"
"$admin_bin" -c "$work/health/node.yaml" inbox
"$admin_bin" -c "$work/health/node.yaml" export "$id" --out "$work/exported" >/dev/null
if cmp -s "$attachment" "$work/exported/$(basename "$attachment")"; then
  echo "   exported attachment is byte-identical to the one sent"
else
  echo "   ERROR: exported attachment differs from the one sent" >&2
  exit 1
fi
admin_p receipt "$id" | grep -q "INVALID" && { echo "ERROR: a receipt did not verify" >&2; exit 1; }
[ "$(admin_p receipt "$id" | grep -c VALID)" = "2" ] || { echo "ERROR: expected two valid receipts" >&2; exit 1; }

if [ $keep -eq 1 ]; then
  echo
  echo "nodes keep running (pids ${pids[*]}); logs in $work/*/node.log"
  echo "try:  $admin_bin -c $work/health/node.yaml inbox"
  echo "stop: kill ${pids[*]}"
else
  echo
  echo "== stopping the nodes"
  stop_nodes
  trap - EXIT
  echo "done. Run ./deploy/quickstart.sh --keep to leave the federation running."
fi
