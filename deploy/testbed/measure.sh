#!/usr/bin/env bash
# Measures the faults testbed.sh injects on a private two-node testbed and prints one line
# per figure: ping loss at LOSS% (one side, then both), TCP payload throughput at RATE kbit/s
# each way, and what a cut looks like to TCP. Needs root, ping (iputils-ping) and nc
# (netcat-openbsd). Removes everything it created, also on failure or Ctrl-C.
#   usage: measure.sh   (env: LOSS=20 RATE=2000 PINGS=1000 BYTES=2500000 NAME=ltmeasure)
set -euo pipefail
T=$(cd "$(dirname "$0")" && pwd)/testbed.sh
LOSS=${LOSS:-20} RATE=${RATE:-2000} PINGS=${PINGS:-1000} BYTES=${BYTES:-2500000} NAME=${NAME:-ltmeasure}
for c in ping nc ss; do
  command -v "$c" >/dev/null || { echo "measure.sh: '$c' not found (apt-get install iputils-ping netcat-openbsd iproute2)" >&2; exit 1; }
done
"$T" check >/dev/null
trap '"$T" down --name "$NAME" >/dev/null 2>&1 || true' EXIT
trap 'exit 1' INT TERM
"$T" up --name "$NAME" --nodes 2 >/dev/null
A=$("$T" addr --name "$NAME" --node 1) B=$("$T" addr --name "$NAME" --node 2)
tb() { "$T" "$1" --name "$NAME" "${@:2}"; }

ping_loss() {  # ping_loss FROM TO_ADDR [COUNT]
  tb exec --node "$1" -- ping -q -n -c "${3:-$PINGS}" -i 0.005 -W 1 "$2" 2>/dev/null | grep -o '[0-9]* packets transmitted.*loss' || true
}
xfer() {       # xfer FROM TO [BYTES]: kbit/s of TCP payload
  local bytes=${3:-$BYTES} to srv t0 t1 i
  to=$(tb addr --node "$2")
  tb exec --node "$2" -- timeout 120 nc -l "$to" 5001 >/dev/null </dev/null &
  srv=$!
  for ((i = 0; i < 100; i++)); do
    [ -n "$(tb exec --node "$2" -- ss -Hltn "sport = :5001")" ] && break
    sleep 0.05
  done
  t0=$(date +%s%N)
  head -c "$bytes" /dev/zero | tb exec --node "$1" -- timeout 120 nc -N "$to" 5001
  wait "$srv"
  t1=$(date +%s%N)
  echo "node $1 -> node $2: $bytes bytes in $(((t1 - t0) / 1000000)) ms = $((bytes * 8 * 1000000 / (t1 - t0))) kbit/s payload"
}

echo "baseline, ping 1->2:          $(ping_loss 1 "$B")"
tb loss --node 2 --percent "$LOSS" >/dev/null
echo "loss 2 $LOSS%, ping 1->2:       $(ping_loss 1 "$B")   (expected: $(awk -v p="$LOSS" 'BEGIN { printf "%.0f", 100 * (1 - (1 - p / 100) ^ 2) }')%)"
tb loss --node 1 --percent "$LOSS" >/dev/null
echo "loss 1+2 $LOSS%, ping 1->2:     $(ping_loss 1 "$B")   (expected: $(awk -v p="$LOSS" 'BEGIN { printf "%.0f", 100 * (1 - (1 - p / 100) ^ 4) }')%)"
tb clear --node 1 >/dev/null
tb clear --node 2 >/dev/null
echo "uncapped:    $(xfer 1 2 50000000)"
tb rate --node 1 --kbit "$RATE" >/dev/null
echo "rate $RATE: $(xfer 1 2)"
echo "rate $RATE: $(xfer 2 1)"
tb clear --node 1 >/dev/null
tb cut --node 2 >/dev/null
echo "cut 2, ping 1->2:             $(ping_loss 1 "$B" 5)"
t0=$(date +%s%N)
if tb exec --node 1 -- timeout 5 nc -z -w 3 "$B" 22 2>/dev/null; then r="connected?!"; else r="no answer"; fi
echo "cut 2, TCP connect 1->2:      $r after $((($(date +%s%N) - t0) / 1000000)) ms (silent drop, not a refusal)"
tb heal --node 2 >/dev/null
echo "heal 2, ping 1->2:            $(ping_loss 1 "$B" 5)"
echo "measure.sh: done (node 1 is $A, node 2 is $B); testbed removed"
