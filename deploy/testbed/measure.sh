#!/usr/bin/env bash
# Measures every fault the testbed injects, on a private two-host testbed (prefix "ltm" unless
# TESTBED_PREFIX is set), and prints one line per figure. Needs ping (iputils-ping) and nc
# (netcat-openbsd). Removes everything it created, also on failure or Ctrl-C.
set -uo pipefail
export TESTBED_PREFIX=${TESTBED_PREFIX:-ltm}
T=$(cd "$(dirname "$0")" && pwd)/testbed.sh
LOSS=${LOSS:-20} RATE=${RATE:-2000} PINGS=${PINGS:-1000} BYTES=${BYTES:-2500000}
for c in ping nc; do
  command -v $c >/dev/null || { echo "measure: '$c' not found (apt-get install iputils-ping netcat-openbsd)" >&2; exit 1; }
done
"$T" check >/dev/null || exit 1
trap '"$T" down >/dev/null 2>&1' EXIT INT TERM
"$T" up a b >/dev/null || exit 1
A=$("$T" addr a) B=$("$T" addr b)

ping_loss() {  # ping_loss FROM TO_ADDR -> "N transmitted, M received, X% packet loss"
  "$T" exec "$1" ping -q -c "$PINGS" -i 0.005 -W 1 "$2" 2>&1 | grep -o '[0-9]* packets transmitted.*loss'
}
xfer() {       # xfer FROM TO: time BYTES over TCP with nc, print kbit/s of payload
  local to; to=$("$T" addr "$2")
  "$T" exec "$2" timeout 120 nc -l "$to" 5001 >/dev/null </dev/null &
  local srv=$!
  for _ in $(seq 1 50); do "$T" exec "$2" ss -ltn | grep -q ":5001 " && break; sleep 0.05; done
  local t0 t1; t0=$(date +%s.%N)
  head -c "$BYTES" /dev/zero | "$T" exec "$1" timeout 120 nc -N "$to" 5001 >/dev/null
  wait $srv; t1=$(date +%s.%N)
  awk -v b="$BYTES" -v t0="$t0" -v t1="$t1" -v d="$1 -> $2" \
    'BEGIN { printf "%s: %d bytes in %.2f s = %.0f kbit/s payload\n", d, b, t1 - t0, b * 8 / (t1 - t0) / 1000 }'
}

echo "baseline ping a->b:            $(ping_loss a "$B")"
"$T" loss b "$LOSS" >/dev/null
echo "loss b $LOSS, ping a->b:       $(ping_loss a "$B")   (expected round trip: $(awk -v p="$LOSS" 'BEGIN { printf "%.0f", 100 * (1 - (1 - p / 100) ^ 2) }')%)"
echo "loss b $LOSS, ping b->a:       $(ping_loss b "$A")"
"$T" loss a "$LOSS" >/dev/null
echo "loss a+b $LOSS, ping a->b:     $(ping_loss a "$B")   (expected: $(awk -v p="$LOSS" 'BEGIN { printf "%.0f", 100 * (1 - (1 - p / 100) ^ 4) }')%)"
"$T" loss a 0 >/dev/null; "$T" loss b 0 >/dev/null
echo "loss removed, ping a->b:      $(ping_loss a "$B")"
echo "no cap:      $(BYTES=50000000 xfer a b)"
"$T" rate a "$RATE" >/dev/null
echo "rate a $RATE:   $(xfer a b)"
echo "rate a $RATE:   $(xfer b a)"
"$T" rate a 0 >/dev/null
echo "cap removed: $(BYTES=50000000 xfer a b)"
"$T" cut b >/dev/null
echo "cut b, ping a->b:              $(PINGS=5 ping_loss a "$B")"
t0=$(date +%s.%N)
if "$T" exec a timeout 5 nc -z -w 3 "$B" 22 2>/dev/null; then r="connected?!"; else r="no answer"; fi
echo "cut b, TCP connect a->b:       $r after $(awk -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }') s (silent drop, not a refusal)"
"$T" heal b >/dev/null
echo "heal b, ping a->b:             $(PINGS=5 ping_loss a "$B")"
"$T" down >/dev/null
trap - EXIT INT TERM
echo "measure: done, testbed removed"
