#!/usr/bin/env bash
# Rehearsal of a province on one machine (issue 19): 100 real lienthong-node processes on
# 127.0.0.1 — 1 province, 9 districts, 90 communes — with low memory settings, enrolled under
# one root (districts by the root, communes by their district's delegated issuer key), the
# directory left to spread by gossip over the tree links (commune–district–province), then
# DOCS documents sent commune → commune across districts. A commune's directory record
# names an endpoint nobody listens on (a commune behind a firewall: only its district's
# configured link reaches it), so every document goes commune → district → province →
# district → commune: 3 relay hops. Checks every document arrives exactly once, and prints
# the directory's convergence time, the delivery time, resident memory per node and CPU.
#
#   usage: rehearsal.sh   (env: BUILD_DIR=build DOCS=500 PORT=27000 KEEP=0 TIMEOUT=600)
# Every process it starts it stops (TERM, then KILL after 10 s), also on failure or Ctrl-C;
# its directory (mktemp) is removed unless KEEP=1. Exit status 0 when every check passed.
set -euo pipefail

ME=rehearsal.sh
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
NODE=$BUILD/node/lienthong-node
ADMIN=$BUILD/admin/lienthong-admin
DOCS=${DOCS:-500} PORT=${PORT:-27000} KEEP=${KEEP:-0} TIMEOUT=${TIMEOUT:-600}
DISTRICTS=9 COMMUNES=10   # per district

die() { echo "$ME: $*" >&2; exit 1; }
[ -x "$NODE" ] && [ -x "$ADMIN" ] || die "build lienthong-node and lienthong-admin first ($BUILD)"
[[ $DOCS =~ ^[0-9]+$ ]] && ((DOCS >= 1 && DOCS <= 100000)) || die "DOCS '$DOCS' must be 1..100000"
[[ $PORT =~ ^[0-9]+$ ]] && ((PORT >= 1024 && PORT + 1100 <= 65535)) || die "PORT '$PORT' must be 1024..64435"
command -v jq >/dev/null || die "jq not found (apt-get install jq)"

WORK=$(mktemp -d /tmp/lienthong-rehearsal.XXXXXX)
PIDS=()
cleanup() {
  local pid i
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for ((i = 0; i < 100; i++)); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  if [ "$KEEP" = 1 ]; then echo "$ME: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

now_ms() { date +%s%3N; }
admin() { "$ADMIN" "$@"; }

# ---- the agencies: index 0 the province, 1..9 districts, then 10 communes per district
CODES=() PARENT=() LISTEN=()
CODES+=("000.00.00.P01"); PARENT+=("")
for ((d = 1; d <= DISTRICTS; d++)); do CODES+=("000.0$d.00.D0$d"); PARENT+=(0); done
for ((d = 1; d <= DISTRICTS; d++)); do
  for ((c = 1; c <= COMMUNES; c++)); do
    CODES+=("$(printf '000.0%d.%02d.C%02d' "$d" "$c" "$c")"); PARENT+=("$d")
  done
done
N=${#CODES[@]}
is_commune() { (($1 > DISTRICTS)); }
for ((i = 0; i < N; i++)); do
  LISTEN+=("tcp://127.0.0.1:$((PORT + i))")
  for p in $((PORT + i)) $((PORT + 1000 + i)); do
    [ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ] || die "port $p is in use: pick another PORT"
  done
done

# ---- keys, root, delegation, enrollment (as an operator would, with the admin CLI)
KEYS=$WORK/keys
mkdir -p "$KEYS"
admin root init --name rehearsal --out "$KEYS" >/dev/null
ROOT_LINE=$(head -n1 "$KEYS/root.pub")
IDS=()
for ((i = 0; i < N; i++)); do
  dir=$WORK/n$i
  admin init --agency "${CODES[$i]}" --name "Rehearsal ${CODES[$i]}" --listen "${LISTEN[$i]}" --dir "$dir" >/dev/null
  IDS+=("$(admin -c "$dir/node.yaml" id | head -n1)")
done
for ((d = 1; d <= DISTRICTS; d++)); do
  admin issuer init --agency "${CODES[$d]}" --out "$KEYS/d$d" >/dev/null
  pub=$(admin root show --key "$KEYS/d$d/issuer.key" | head -n1)
  admin issuer delegate --key "$KEYS/root.key" --pubkey "$pub" --prefix "000.0$d." --serial 1 \
    --valid-days 30 --out "$KEYS/d$d/issuer.rec" >/dev/null
done

# peer_yaml I: the config entry for node I as a neighbour
peer_yaml() {
  printf '  - agency: "%s"\n    endpoint: "%s"\n    identity: "%s"\n' "${CODES[$1]}" "${LISTEN[$1]}" "${IDS[$1]}"
}
write_config() {  # write_config I
  local i=$1 dir=$WORK/n$1 d c
  {
    printf 'agency: "%s"\nname: "Rehearsal %s"\ndata_dir: data\nkey_file: node.key\nlisten: "%s"\n' \
      "${CODES[$i]}" "${CODES[$i]}" "${LISTEN[$i]}"
    echo "peers:"
    if ((i == 0)); then for ((d = 1; d <= DISTRICTS; d++)); do peer_yaml "$d"; done
    elif ! is_commune "$i"; then
      peer_yaml 0
      for ((c = 0; c < COMMUNES; c++)); do peer_yaml $((DISTRICTS + 1 + (i - 1) * COMMUNES + c)); done
    else peer_yaml "${PARENT[$i]}"; fi
    # Low memory: small windows and transfers (the documents here are small).
    printf 'retry:\n  initial_ms: 200\n  max_ms: 2000\nheartbeat_ms: 1000\n'
    printf 'limits:\n  max_envelope_bytes: 1048576\n  window_documents: 64\n  window_bytes: 1048576\n'
    printf '  batch_documents: 128\n  transfers_per_peer: 2\n  transfer_bytes_per_peer: 4194304\n'
    printf 'trust:\n  roots: ["%s"]\n  gossip_ms: 1000\n' "$ROOT_LINE"
    printf 'relay:\n  fallback_ms: 500\n'
    if ((i == 0)); then
      echo "  routes:"
      for ((d = 1; d <= DISTRICTS; d++)); do printf '    - {to: "000.0%d.", via: "%s"}\n' "$d" "${CODES[$d]}"; done
    elif ! is_commune "$i"; then printf '  default_via: "%s"\n' "${CODES[0]}"
    else printf '  default_via: "%s"\n' "${CODES[${PARENT[$i]}]}"; fi
  } >"$dir/node.yaml"
}
for ((i = 0; i < N; i++)); do
  write_config "$i"
  dir=$WORK/n$i
  endpoint=${LISTEN[$i]}
  # A commune's record names a port nobody listens on: reachable only through its district.
  is_commune "$i" && endpoint=tcp://127.0.0.1:$((PORT + 1000 + i))
  parent=()
  ((i > 0)) && parent=(--parent "${CODES[${PARENT[$i]}]}")
  admin -c "$dir/node.yaml" enroll request --endpoint "$endpoint" "${parent[@]}" --out "$dir/req.txt" >/dev/null
  if is_commune "$i"; then
    d=${PARENT[$i]}
    admin enroll issue "$dir/req.txt" --key "$KEYS/d$d/issuer.key" --issuer-record "$KEYS/d$d/issuer.rec" \
      --serial 1 --valid-days 30 --out "$dir/record.txt" >/dev/null
  else
    admin enroll issue "$dir/req.txt" --key "$KEYS/root.key" --serial 1 --valid-days 30 --out "$dir/record.txt" >/dev/null
  fi
done

# ---- start, bootstrap (each node its own record and issuer chain; nothing else)
t_start=$(now_ms)
for ((i = 0; i < N; i++)); do
  dir=$WORK/n$i
  (cd "$dir" && exec setsid "$NODE" --config node.yaml >node.log 2>&1) &
  PIDS+=($!)
done
for ((i = 0; i < N; i++)); do
  dir=$WORK/n$i
  for ((k = 0; k < 300; k++)); do [ -S "$dir/data/api.sock" ] && break; kill -0 "${PIDS[$i]}" 2>/dev/null || die "node ${CODES[$i]} exited: $(tail -n3 "$dir/node.log")"; sleep 0.1; done
  [ -S "$dir/data/api.sock" ] || die "node ${CODES[$i]} did not open its API in 30 s"
  if is_commune "$i"; then
    cat "$dir/record.txt" "$KEYS/d${PARENT[$i]}/issuer.rec" >"$dir/bundle.txt"
  elif ((i > 0)); then
    cat "$dir/record.txt" "$KEYS/d$i/issuer.rec" >"$dir/bundle.txt"
  else
    cp "$dir/record.txt" "$dir/bundle.txt"
  fi
  admin -c "$dir/node.yaml" enroll import "$dir/bundle.txt" >/dev/null
done
t_enrolled=$(now_ms)
echo "$ME: $N nodes started and enrolled in $(((t_enrolled - t_start) / 1000)) s"

# ---- the directory spreads: every node uses a record of every agency
deadline=$(($(date +%s) + TIMEOUT))
while :; do
  short=0
  for ((i = 0; i < N; i++)); do
    n=$(admin -c "$WORK/n$i/node.yaml" --json directory list 2>/dev/null |
      jq '[.nodes[] | select(.state == "current")] | length' 2>/dev/null || echo 0)
    ((n == N)) || { short=$((short + 1)); }
  done
  ((short == 0)) && break
  (($(date +%s) < deadline)) || die "the directory did not converge in $TIMEOUT s ($short nodes short)"
  sleep 1
done
t_converged=$(now_ms)
echo "$ME: directory converged: every node holds all $N agencies, $(((t_converged - t_enrolled) / 1000)) s after enrollment"

# ---- DOCS documents, commune -> commune in another district
FIRST_COMMUNE=$((DISTRICTS + 1)) TOTAL_COMMUNES=$((DISTRICTS * COMMUNES))
declare -A EXPECT
echo "rehearsal body" >"$WORK/body.txt"
t_send=$(now_ms)
for ((k = 0; k < DOCS; k++)); do
  from=$((FIRST_COMMUNE + k % TOTAL_COMMUNES))
  fd=${PARENT[$from]}
  td=$(((fd - 1 + 1 + k % (DISTRICTS - 1)) % DISTRICTS + 1))   # any district but its own
  to=$((DISTRICTS + 1 + (td - 1) * COMMUNES + (k / TOTAL_COMMUNES + k) % COMMUNES))
  admin -c "$WORK/n$from/node.yaml" send --to "${CODES[$to]}" --subject "rehearsal $k" --body-file "$WORK/body.txt" >/dev/null
  EXPECT[$to]+=" $k"
done
t_sent=$(now_ms)
echo "$ME: $DOCS documents submitted in $(((t_sent - t_send) / 1000)) s"

# Every document in its recipient's inbox exactly once, and nothing else there.
deadline=$(($(date +%s) + TIMEOUT))
while :; do
  missing=0 dup=0
  for to in "${!EXPECT[@]}"; do
    got=$(admin -c "$WORK/n$to/node.yaml" --json inbox 2>/dev/null | jq -r '.. | .subject? // empty' 2>/dev/null | sort || true)
    for k in ${EXPECT[$to]}; do
      c=$(grep -cx "rehearsal $k" <<<"$got" || true)
      ((c == 0)) && missing=$((missing + 1))
      ((c > 1)) && dup=$((dup + 1))
    done
    extra=$(($(grep -c . <<<"$got" || true) - $(wc -w <<<"${EXPECT[$to]}")))
    ((extra > 0)) && dup=$((dup + extra))
  done
  ((dup == 0)) || die "$dup documents arrived more than once (or unexpected ones arrived)"
  ((missing == 0)) && break
  (($(date +%s) < deadline)) || die "$missing of $DOCS documents did not arrive in $TIMEOUT s"
  sleep 1
done
t_delivered=$(now_ms)
# The path, from the logs: a "relayed" line is one envelope handed to the next relay.
count_relayed() {  # count_relayed FIRST LAST: "relayed" lines in the logs of nodes FIRST..LAST
  local i n=0
  for ((i = $1; i <= $2; i++)); do n=$((n + $(grep -c "event=relayed" "$WORK/n$i/node.log" || true))); done
  echo "$n"
}
hop1=$(count_relayed $((DISTRICTS + 1)) $((N - 1))) hop2=$(count_relayed 1 "$DISTRICTS") hop3=$(count_relayed 0 0)
echo "$ME: all $DOCS documents arrived exactly once, $(((t_delivered - t_send) / 1000)) s after the first was sent"
echo "$ME: envelopes handed on: communes -> their district $hop1, districts -> province $hop2, province -> the recipient's district $hop3"
((hop3 >= DOCS)) || echo "$ME: note: fewer than $DOCS envelopes passed the province; some went another way"

# ---- memory and CPU per node
hz=$(getconf CLK_TCK)
total_rss=0 max_rss=0 total_cpu=0 max_cpu=0
for pid in "${PIDS[@]}"; do
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
  cpu=$(awk -v hz="$hz" '{sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / hz)}' "/proc/$pid/stat")
  total_rss=$((total_rss + rss)); ((rss > max_rss)) && max_rss=$rss
  total_cpu=$((total_cpu + cpu)); ((cpu > max_cpu)) && max_cpu=$cpu
done
echo "$ME: resident memory: $((total_rss / 1024)) MiB in all, $((total_rss / N / 1024)) MiB per node on average, $((max_rss / 1024)) MiB the largest"
echo "$ME: CPU: $((total_cpu / 1000)) s in all, $((total_cpu / N)) ms per node on average, $((max_cpu)) ms the busiest (province)"
echo "$ME: wall time $(((t_delivered - t_start) / 1000)) s; stopping $N nodes"
