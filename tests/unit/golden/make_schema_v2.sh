#!/bin/bash
# Regenerates schema_v2/{a,b}.mdb: the databases of two nodes written by a lienthong-node of
# schema version 2 (c02563c), for the migration test (store_migrate_test.cpp). Usage:
#   make_schema_v2.sh OLD_BUILD_DIR OUT_DIR
# where OLD_BUILD_DIR holds node/lienthong-node and admin/lienthong-admin built at that commit.
# A (TEST.A) sends B (TEST.B) three documents, one with an attachment and a due date; B
# reports 03, 04, 05 and 06 on the first; A sends B a status-less fourth while B is stopped, so A's
# database keeps one pending delivery and outbox entry.
set -euo pipefail
old=$1 out=$2
node=$old/node/lienthong-node admin=$old/admin/lienthong-admin
work=$(mktemp -d)
pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
trap 'stop; rm -rf "$work"' EXIT
for n in a b; do
  port=$([ $n = a ] && echo 47611 || echo 47612)
  "$admin" init --agency "TEST.${n^^}" --name "Node $n" --listen "tcp://127.0.0.1:$port" --dir "$work/$n" >/dev/null
done
start() { "$node" --config "$work/$1/node.yaml" 2>>"$work/$1/node.log" & pids+=($!);
          for _ in $(seq 1 100); do [ -S "$work/$1/data/api.sock" ] && break; sleep 0.1; done; }
start a; start b
A() { "$admin" -c "$work/a/node.yaml" "$@"; }
B() { "$admin" -c "$work/b/node.yaml" "$@"; }
A peer add --identity "$(B id | head -n1)" --endpoint tcp://127.0.0.1:47612 >/dev/null
B peer add --identity "$(A id | head -n1)" --endpoint tcp://127.0.0.1:47611 >/dev/null
printf 'attachment bytes\n%.0s' $(seq 1 50) >"$work/att.txt"
first=$(A send --to TEST.B --subject "Công văn thứ nhất" --type "Công văn" --number "1/UBND" \
  --body "Nội dung một" --attach "$work/att.txt" --due 2026-12-15)
A send --to TEST.B --subject "Báo cáo thứ hai" --body "Nội dung hai" >/dev/null
A send --to TEST.B --subject "Thông báo thứ ba" --body "Nội dung ba" >/dev/null
for _ in $(seq 1 100); do [ "$(B --json inbox | grep -o '"id"' | wc -l)" -ge 3 ] && break; sleep 0.1; done
B set-status "$first" 03 --staff "Trần Thị B" >/dev/null
B set-status "$first" 04 --staff "Lê Văn C" >/dev/null
B set-status "$first" 05 >/dev/null
B set-status "$first" 06 --description "Đã xong" >/dev/null
for _ in $(seq 1 100); do A --json show "$first" | grep -q '"06"' && break; sleep 0.1; done
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
A send --to TEST.B --subject "Chưa gửi được" --body "Nội dung bốn" >/dev/null
stop
mkdir -p "$out"
for n in a b; do cp "$work/$n/data/data.mdb" "$out/$n.mdb"; done
echo "first=$first"
