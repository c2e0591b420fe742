#!/usr/bin/env bash
# The fault testbed (deploy/testbed/testbed.sh) does what it says, measured from inside the
# namespaces: reachability, loss (all, some, per peer and direction), rate, cut and heal,
# argument errors, real lienthong-node processes delivering across the testbed through a
# kill -9 and restart of the receiver and back within seconds of a long outage's end, and a
# 'down' that leaves nothing behind.
#
# usage: testbed_test.sh TESTBED_SH LIENTHONG_NODE LIENTHONG_ADMIN
# Exit 0 passed, 1 failed, 77 skipped (not root, no network namespaces, or no ping/nc/ss).
# Traffic goes only to the testbed's own addresses. Every wait is bounded; a trap runs
# 'down' on any exit. (Under pipefail, 'cmd | grep -q' can fail when grep quits early and
# cmd gets SIGPIPE: outputs are captured first and grepped from a here-string.)
set -euo pipefail

[ $# -eq 3 ] || { echo "usage: $0 TESTBED_SH LIENTHONG_NODE LIENTHONG_ADMIN" >&2; exit 2; }
TB=$1 NODE_BIN=$2 ADMIN_BIN=$3
for f in "$TB" "$NODE_BIN" "$ADMIN_BIN"; do
  [ -x "$f" ] || { echo "FAIL: $f is not an executable file" >&2; exit 1; }
done
for c in ping nc ss timeout; do
  command -v "$c" >/dev/null ||
    { echo "SKIP: '$c' not found (deploy/install-deps.sh installs iputils-ping, netcat-openbsd, iproute2)"; exit 77; }
done

NAME=ltt$(($$ % 100000))
WORK=$(mktemp -d /tmp/lt-testbed-XXXXXX)
T0=$SECONDS

cleanup() {
  "$TB" down --name "$NAME" >/dev/null 2>&1 || "$TB" down --name "$NAME" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

tb() { "$TB" "$1" --name "$NAME" "${@:2}"; }
pass() { echo "ok   $(printf '%3d' $((SECONDS - T0)))s  $*"; }
fail() {
  echo "FAIL $*" >&2
  tb status >&2 || true
  local log
  for log in /run/lienthong-testbed/"$NAME"/log/*.log; do
    [ -f "$log" ] && { echo "--- tail of $log" >&2; tail -n 20 "$log" >&2; }
  done
  exit 1
}

# received FROM TO_NODE COUNT INTERVAL: echo replies received by pinging node TO from node FROM.
received() {
  local out
  out=$(tb exec --node "$1" -- ping -q -n -c "$3" -i "$4" -W 1 "${ADDR[$2]}" 2>/dev/null || true)
  awk '/packets transmitted/ { print $4; found = 1 } END { if (!found) print "none" }' <<<"$out"
}

# expect_ping FROM TO WANT: 5 pings; WANT is "all" or "none".
expect_ping() {
  local got; got=$(received "$1" "$2" 5 0.1)
  case $3 in
    all) [ "$got" = 5 ] || fail "ping node $1 -> node $2: $got of 5 answered, expected all ($4)" ;;
    none) [ "$got" = 0 ] || fail "ping node $1 -> node $2: $got of 5 answered, expected none ($4)" ;;
  esac
}

# transfer FROM TO BYTES: TCP payload throughput in kbit/s from node FROM to node TO (nc).
transfer() {
  local from=$1 to=$2 bytes=$3 srv t0 t1 i
  tb exec --node "$to" -- timeout 60 nc -l "${ADDR[$to]}" 5001 >"$WORK/received" </dev/null &
  srv=$!
  for ((i = 0; i < 100; i++)); do
    [ -n "$(tb exec --node "$to" -- ss -Hltn "sport = :5001" 2>/dev/null)" ] && break
    sleep 0.05
  done
  t0=$(date +%s%N)
  head -c "$bytes" /dev/zero | tb exec --node "$from" -- timeout 60 nc -N "${ADDR[$to]}" 5001 ||
    fail "nc from node $from to node $to failed"
  wait "$srv" || fail "nc listening on node $to failed"
  t1=$(date +%s%N)
  [ "$(stat -c %s "$WORK/received")" = "$bytes" ] || fail "node $to received $(stat -c %s "$WORK/received") of $bytes bytes"
  echo $((bytes * 8 * 1000000 / (t1 - t0)))
}

# expect_exit STATUS TEXT CMD...: CMD exits with STATUS and its one-line error mentions TEXT.
expect_exit() {
  local want=$1 text=$2 rc=0 err
  shift 2
  err=$("$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" = "$want" ] || fail "'${*:2}' exited $rc, expected $want ($err)"
  [ "$(wc -l <<<"$err")" = 1 ] || fail "'${*:2}' printed more than one error line: $err"
  [[ $err == *"$text"* ]] || fail "'${*:2}' error does not mention '$text': $err"
}

# ------------------------------------------------------------------ topology

rc=0
"$TB" check >/dev/null 2>"$WORK/check.err" || rc=$?
[ $rc -ne 77 ] || { echo "SKIP: $(cat "$WORK/check.err")"; exit 77; }
[ $rc -eq 0 ] || fail "testbed.sh check: $(cat "$WORK/check.err")"

tb up --nodes 3 >"$WORK/up.out" || fail "up --nodes 3 failed"
[ "$(grep -c "^[123] *$NAME-n[123] *10\.77\.0\.[123]/24$" "$WORK/up.out")" = 3 ] ||
  fail "up did not print the node/namespace/address table: $(cat "$WORK/up.out")"
declare -A ADDR
for i in 1 2 3; do
  ADDR[$i]=$(tb addr --node "$i")
done
pass "up: 3 nodes ${ADDR[1]} ${ADDR[2]} ${ADDR[3]}"

for i in 1 2 3; do
  for j in 1 2 3; do
    [ "$i" = "$j" ] || expect_ping "$i" "$j" all "fresh testbed"
  done
done
pass "every node pings every other node"

# ------------------------------------------------------------------ argument errors

expect_exit 2 "--percent" tb loss --node 2 --percent 101
expect_exit 2 "--node 9" tb rate --node 9 --kbit 100
expect_exit 2 "--direction" tb loss --node 1 --percent 5 --direction sideways
expect_exit 2 "--bogus" tb cut --node 1 --bogus 1
expect_exit 2 "--peer 1" tb cut --node 1 --peer 1
expect_exit 2 "not private" "$TB" up --name "${NAME}x" --nodes 2 --subnet 8.8.8.0/24
expect_exit 1 "already exists" tb up --nodes 3
# Seen from node 1, the testbed's subnet is a host route: 'up' there must refuse to overlap it.
expect_exit 1 "overlaps the host route" tb exec --node 1 -- "$TB" up --name "${NAME}x" --nodes 1 --subnet 10.77.0.128/25
[ -z "$(ip netns list | grep "^${NAME}x-" || true)" ] || fail "a refused 'up' left namespaces behind"
pass "bad arguments refused with one line naming the problem"

# ------------------------------------------------------------------ loss

tb loss --node 2 --percent 100 >/dev/null
expect_ping 1 2 none "100% loss on node 2"
expect_ping 3 2 none "100% loss on node 2"
expect_ping 1 3 all "loss is on node 2 only"
dropped=$(tb status | awk -v ns="$NAME-n2" '$2 == ns { print $4 }')
[ "${dropped:-0}" -gt 0 ] || fail "status shows no packets dropped on node 2 under 100% loss"
tb clear --node 2 >/dev/null
expect_ping 1 2 all "loss cleared"
pass "100% loss on node 2: no ping answered ($dropped packets dropped); clear restores it"

tb loss --node 2 --percent 30 >/dev/null
got=$(received 1 2 50 0.01)
# Each echo and each reply is dropped with p = 0.3: 49% of pings answered, 24.5 of 50 on
# average; 6..44 is more than 5 standard deviations either way.
[[ $got =~ ^[0-9]+$ ]] || fail "30% loss both ways: ping gave no count ($got)"
((got >= 6 && got <= 44)) || fail "30% loss both ways: $got of 50 pings answered, expected 6 to 44"
got13=$(received 1 3 50 0.01)
[ "$got13" = 50 ] || fail "30% loss on node 2 changed node 1 -> node 3: $got13 of 50"
pass "30% loss on node 2 (both ways): $got of 50 pings answered; node 1 -> node 3 still 50 of 50"
tb loss --node 2 --percent 0 >/dev/null
expect_ping 1 2 all "loss 0 removes it"

# Per peer and direction: node 2 loses everything it sends to node 3, nothing else.
tb loss --node 2 --peer 3 --percent 100 --direction out >/dev/null
expect_ping 2 3 none "100% out of node 2 to node 3"
expect_ping 3 2 none "replies of node 2 to node 3 are outgoing too"
expect_ping 2 1 all "only traffic to node 3 is lost"
tb clear --node 2 >/dev/null
tb loss --node 2 --peer 3 --percent 100 --direction in >/dev/null
expect_ping 3 2 none "100% into node 2 from node 3"
expect_ping 1 2 all "only traffic from node 3 is lost"
tb clear --node 2 >/dev/null
expect_ping 2 3 all "clear removes per-peer loss"
pass "loss per peer and direction hits only that peer and direction"

# ------------------------------------------------------------------ rate

free=$(transfer 1 2 20000000)
[ "$free" -gt 20000 ] || fail "uncapped link carries only $free kbit/s; cannot tell a cap from it"
tb rate --node 2 --kbit 1000 >/dev/null
in_rate=$(transfer 1 2 375000)
out_rate=$(transfer 2 1 375000)
for r in "$in_rate" "$out_rate"; do
  ((r >= 500 && r <= 1100)) || fail "1000 kbit cap: measured $r kbit/s (into node 2 $in_rate, out of it $out_rate), expected 500 to 1100"
done
tb rate --node 2 --kbit 0 >/dev/null
after=$(transfer 1 2 20000000)
[ "$after" -gt 20000 ] || fail "rate 0 did not remove the cap: $after kbit/s"
pass "rate 1000 kbit on node 2: into it $in_rate kbit/s, out of it $out_rate kbit/s payload (uncapped $free, after removal $after)"

# ------------------------------------------------------------------ cut and heal

tb cut --node 3 >/dev/null
expect_ping 1 3 none "node 3 cut"
expect_ping 3 2 none "node 3 cut"
expect_ping 1 2 all "the cut is node 3's only"
tb heal --node 3 >/dev/null
expect_ping 1 3 all "node 3 healed"
tb cut --node 1 --peer 2 >/dev/null
expect_ping 1 2 none "1 and 2 cut from each other"
expect_ping 2 1 none "1 and 2 cut from each other"
expect_ping 1 3 all "only 1 <-> 2 is cut"
expect_ping 2 3 all "only 1 <-> 2 is cut"
tb heal --node 2 --peer 1 >/dev/null
expect_ping 1 2 all "healed from the other side"
pass "cut and heal, of a node and of a pair"

# ------------------------------------------------------------------ real nodes

admin() { local cfg=$1; shift; "$ADMIN_BIN" -c "$cfg" "$@"; }
A=$WORK/a/node.yaml B=$WORK/b/node.yaml
AGENCY_A=000.00.00.H41 AGENCY_B=001.01.00.H41
"$ADMIN_BIN" init --agency $AGENCY_A --name "Tỉnh" --listen "tcp://${ADDR[1]}:7001" --dir "$WORK/a" >/dev/null
"$ADMIN_BIN" init --agency $AGENCY_B --name "Xã" --listen "tcp://${ADDR[2]}:7001" --dir "$WORK/b" >/dev/null
# Each config lists the other as its peer (the snippet 'id' prints) and retries quickly.
peer_block() { admin "$1" id | sed -n '/^  - agency:/,$p'; }
configure() {
  local cfg=$1 block=$2
  BLOCK=$block awk '
    /^peers: \[\]$/ { print "peers:"; print ENVIRON["BLOCK"]; next }
    /^  initial_ms:/ { print "  initial_ms: 100"; next }
    /^  max_ms:/ { print "  max_ms: 1000"; next }
    /^heartbeat_ms:/ { print "heartbeat_ms: 300"; next }
    /^heartbeat_timeout_ms:/ { print "heartbeat_timeout_ms: 3000"; next }
    { print }' "$cfg" >"$cfg.new"
  mv "$cfg.new" "$cfg"
  grep -q "endpoint: \"tcp://10.77.0" "$cfg" || fail "could not add the peer to $cfg"
}
block_a=$(peer_block "$A") block_b=$(peer_block "$B")
configure "$A" "$block_b"
configure "$B" "$block_a"

# wait_api CFG SECONDS: the node behind CFG answers its local API.
wait_api() {
  local deadline=$((SECONDS + $2))
  until admin "$1" peer list >/dev/null 2>&1; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.1
  done
}
# wait_inbox CFG ID SECONDS: document ID is in the inbox of the node behind CFG.
wait_inbox() {
  local deadline=$((SECONDS + $3))
  until grep -qF "\"$2\"" <<<"$(admin "$1" inbox --json 2>/dev/null)"; do
    [ $SECONDS -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

tb run --node 1 -- "$NODE_BIN" --config "$A" >/dev/null
tb run --node 2 -- "$NODE_BIN" --config "$B" >/dev/null
wait_api "$A" 20 || fail "node on node 1 did not answer its API within 20 s"
wait_api "$B" 20 || fail "node on node 2 did not answer its API within 20 s"
[ "$(ip netns identify "$(awk '{ print $1 }' "/run/lienthong-testbed/$NAME/proc/1.pid")")" = "$NAME-n1" ] ||
  fail "the node recorded for node 1 does not run in namespace $NAME-n1"

t=$SECONDS
id1=$(admin "$A" send --to $AGENCY_B --subject "Công văn thử 1" --body "qua testbed") || fail "send 1 failed"
wait_inbox "$B" "$id1" 30 || fail "document $id1 did not reach node 2 within 30 s"
pass "lienthong-node in $NAME-n1 delivered $id1 to $NAME-n2 in $((SECONDS - t)) s"

pid_b=$(awk '{ print $1 }' "/run/lienthong-testbed/$NAME/proc/2.pid")
tb kill --node 2 --signal KILL >/dev/null
state=$(awk '{ print $3 }' "/proc/$pid_b/stat" 2>/dev/null || echo gone)
[ "$state" = gone ] || [ "$state" = Z ] || fail "node 2's pid $pid_b is still alive (state $state) after kill --signal KILL"
grep -q "^2 .*ended (was pid $pid_b)" <<<"$(tb status)" || fail "status does not show node 2's process as ended"
! admin "$B" peer list >/dev/null 2>&1 || fail "node 2 still answers after kill -9"
tb restart --node 2 >/dev/null
wait_api "$B" 20 || fail "node 2 did not answer its API within 20 s of restart"
# The second document crosses a lossy link: 10% each way on the receiver.
tb loss --node 2 --percent 10 >/dev/null
t=$SECONDS
id2=$(admin "$A" send --to $AGENCY_B --subject "Công văn thử 2" --body "sau kill -9") || fail "send 2 failed"
wait_inbox "$B" "$id2" 60 || fail "document $id2 did not reach node 2 within 60 s of its restart"
inbox=$(admin "$B" inbox --json)
grep -qF "\"$id1\"" <<<"$inbox" || fail "document $id1 is gone from node 2's inbox after kill -9"
grep -q '"total": 2' <<<"$inbox" || fail "node 2's inbox does not hold exactly 2 documents: $inbox"
deadline=$((SECONDS + 60))
until ! grep -q '"pending"' <<<"$(admin "$A" outbox --pending --json)"; do
  [ $SECONDS -lt $deadline ] || fail "node 1 holds no receipt for every document after 60 s"
  sleep 0.2
done
pass "after kill -9 and restart of node 2, $id2 arrived through 10% loss in $((SECONDS - t)) s, receipts back, inbox holds both"

# A long one-sided outage: node 2 drops everything it receives for 20 s, so node 1's
# reconnect attempts go unanswered rather than refused. The link is back and the document
# delivered within 8 s of the end of the outage. (A stalled CURVE handshake, which libzmq
# alone would wait 30 s on, is tested on loopback: e2e stalled_link_test.cpp.)
tb clear --node 2 >/dev/null
tb loss --node 2 --percent 100 --direction in >/dev/null
id3=$(admin "$A" send --to $AGENCY_B --subject "Công văn thử 3" --body "sau khi nối lại") || fail "send 3 failed"
sleep 20
tb clear --node 2 >/dev/null
t=$SECONDS
wait_inbox "$B" "$id3" 8 || fail "document $id3 did not reach node 2 within 8 s of the end of a 20 s outage"
pass "after a 20 s one-sided outage, $id3 arrived $((SECONDS - t)) s after its end"

# ------------------------------------------------------------------ down

pid_a=$(awk '{ print $1 }' "/run/lienthong-testbed/$NAME/proc/1.pid")
tb down >/dev/null || fail "down failed"
left=$(ip netns list | grep "^$NAME-" || true)
[ -z "$left" ] || fail "namespaces left after down: $left"
left=$(ip -o link show | grep "$NAME-" || true)
[ -z "$left" ] || fail "links left after down: $left"
left=$(nft list tables | grep -w "$NAME" || true)
[ -z "$left" ] || fail "nft tables left after down: $left"
[ ! -e "/run/lienthong-testbed/$NAME" ] || fail "state directory left after down"
state=$(awk '{ print $3 }' "/proc/$pid_a/stat" 2>/dev/null || echo gone)
[ "$state" = gone ] || [ "$state" = Z ] || fail "node 1's lienthong-node (pid $pid_a) survived down"
tb down >/dev/null || fail "a second down failed"
pass "down removed namespaces, links, nft tables, state and processes; a second down is harmless"
echo "testbed test passed in $((SECONDS - T0)) s"
