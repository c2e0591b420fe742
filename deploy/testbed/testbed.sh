#!/usr/bin/env bash
# Liên Thông fault testbed: a small federation of hosts in Linux network namespaces, with
# packet loss, bandwidth caps, partitions and node crashes on demand. See README.md here.
#
# Layout (nothing is created in the caller's own network namespace):
#   <prefix>-hub     namespace holding bridge "br0"; one port "p<octet>" per host
#   <prefix>-<name>  one namespace per host, interface "eth0" = <subnet>.<octet>/24
# Faults live in the hub, on the host's bridge port, so they act like a bad wire: the
# sender's socket never sees them (no EPERM/ENOBUFS), packets simply vanish or queue.
#   loss  nft table "bridge lienthong_testbed", chain h_<octet>: numgen random drop, applied
#         to frames entering AND leaving the host's port (both directions)
#   cut   same chain: drop every IPv4/IPv6 frame to or from the host (ARP still answered, so
#         peers see timeouts, like a WAN cut beyond the local router)
#   rate  tc tbf on both ends of the host's veth (eth0 in the host, p<octet> in the hub)
# State: $TESTBED_STATE_DIR (default /run/lienthong-testbed/<prefix>): hosts (NAME ADDR),
# faults/, nodes/<name>.{pid,start,config,log}.
set -uo pipefail

P=${TESTBED_PREFIX:-lt}
SUBNET=${TESTBED_SUBNET:-10.231.0}
RUN_DIR=${TESTBED_RUN_DIR:-/run/lienthong-testbed}
S=${TESTBED_STATE_DIR:-$RUN_DIR/$P}
STOP_TIMEOUT=${TESTBED_STOP_TIMEOUT:-10}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
SELF=$here/$(basename "${BASH_SOURCE[0]}")
NODE=${LIENTHONG_NODE:-$root/build/node/lienthong-node}
ADMIN=${LIENTHONG_ADMIN:-$root/build/admin/lienthong-admin}
HUB="$P-hub"
TABLE=lienthong_testbed
ME=testbed

die() { echo "$ME: $*" >&2; exit 1; }
ok() { echo "$ME: $*"; }

# Run a command; on failure die with its first error line, naming what we were doing.
run() {
  local what=$1; shift
  local err
  if ! err=$("$@" 2>&1 >/dev/null); then
    err=$(printf '%s' "$err" | grep -v '^\s*$' | head -n1)
    die "$what failed: ${err:-exit status non-zero} (command: $*)"
  fi
}

validate_prefix() {
  [[ $P =~ ^[A-Za-z0-9_]{1,16}$ ]] ||
    die "TESTBED_PREFIX '$P' is invalid: use 1-16 letters, digits or '_' (no '-')"
  [[ $SUBNET =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] ||
    die "TESTBED_SUBNET '$SUBNET' is invalid: give the first three octets of a /24, e.g. 10.231.0"
}
validate_name() {
  [[ $1 =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}$ ]] ||
    die "host name '$1' is invalid: use 1-31 letters, digits, '_', '.', '-', not starting with '-' or '.'"
  [ "$1" != hub ] || die "host name 'hub' is reserved for the bridge namespace"
}

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces need CAP_SYS_ADMIN)"; }

lock() {
  mkdir -p "$RUN_DIR" || die "cannot create $RUN_DIR"
  exec 9>"$RUN_DIR/$P.lock" || die "cannot open lock $RUN_DIR/$P.lock"
  flock -w 60 9 || die "another testbed.sh for prefix '$P' holds $RUN_DIR/$P.lock for over 60s"
}

ns_exists() { [ -e "/run/netns/$1" ]; }
host_ns() { echo "$P-$1"; }
host_addr() { [ -f "$S/hosts" ] && awk -v n="$1" '$1 == n { print $2; exit }' "$S/hosts"; }
host_port() { echo "p${1##*.}"; }   # hub-side veth name from the address' last octet
host_names() { [ -f "$S/hosts" ] && awk 'NF >= 2 { print $1 }' "$S/hosts"; }

# Resolve NAME to its address or die with a clear message.
need_host() {
  validate_name "$1"
  [ -f "$S/hosts" ] || die "no testbed with prefix '$P' (run: testbed.sh up NAME...)"
  local a; a=$(host_addr "$1")
  [ -n "$a" ] || die "unknown host '$1' (hosts: $(host_names | paste -sd' '))"
  ns_exists "$(host_ns "$1")" || die "namespace $(host_ns "$1") of host '$1' is missing (run: testbed.sh down; testbed.sh up ...)"
  echo "$a"
}

# ---------------------------------------------------------------- up

create_hub() {
  if ! ns_exists "$HUB"; then
    run "creating namespace $HUB" ip netns add "$HUB"
  fi
  ip -n "$HUB" link show br0 >/dev/null 2>&1 ||
    run "creating bridge br0 in $HUB" ip -n "$HUB" link add br0 type bridge
  run "setting br0 up" ip -n "$HUB" link set br0 up
  run "setting lo up in $HUB" ip -n "$HUB" link set lo up
  if ! ip netns exec "$HUB" nft list table bridge $TABLE >/dev/null 2>&1; then
    run "creating nft table bridge $TABLE in $HUB" ip netns exec "$HUB" nft -f - <<EOF
table bridge $TABLE {
  chain faults {
    type filter hook forward priority 0; policy accept;
  }
}
EOF
  fi
}

next_octet() {
  local used o
  used=$( [ -f "$S/hosts" ] && awk 'NF >= 2 { n = split($2, a, "."); print a[n] }' "$S/hosts")
  for o in $(seq 11 250); do
    grep -qx "$o" <<<"$used" || { echo "$o"; return; }
  done
  die "no free address left in $SUBNET.0/24 (240 hosts at most)"
}

create_host() {
  local name=$1 addr=$2 ns port
  ns=$(host_ns "$name"); port=$(host_port "$addr")
  ns_exists "$ns" || run "creating namespace $ns" ip netns add "$ns"
  run "setting lo up in $ns" ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1 || true
  if ! ip -n "$HUB" link show "$port" >/dev/null 2>&1; then
    ip -n "$ns" link del eth0 >/dev/null 2>&1 || true
    run "creating veth $port<->$ns:eth0" ip -n "$HUB" link add "$port" type veth peer name eth0 netns "$ns"
  fi
  run "attaching $port to br0" ip -n "$HUB" link set "$port" master br0
  run "setting $port up" ip -n "$HUB" link set "$port" up
  run "addressing eth0 in $ns" ip -n "$ns" addr replace "$addr/24" dev eth0
  run "setting eth0 up in $ns" ip -n "$ns" link set eth0 up
  # Per-host fault chain in the hub, entered for frames from and to the host's port.
  if ! ip netns exec "$HUB" nft list chain bridge $TABLE "h_${addr##*.}" >/dev/null 2>&1; then
    run "adding fault chain for $name" ip netns exec "$HUB" nft -f - <<EOF
add chain bridge $TABLE h_${addr##*.}
add rule bridge $TABLE faults iifname "$port" jump h_${addr##*.}
add rule bridge $TABLE faults oifname "$port" jump h_${addr##*.}
EOF
  fi
}

print_table() {
  printf '%-16s %-15s %s\n' HOST ADDRESS NAMESPACE
  local n a
  while read -r n a; do
    [ -n "$n" ] && printf '%-16s %-15s %s\n' "$n" "$a" "$(host_ns "$n")"
  done <"$S/hosts"
}

UP_CREATED=()
UP_HUB_NEW=0
up_rollback() {
  local n
  for n in "${UP_CREATED[@]}"; do
    ip netns del "$(host_ns "$n")" >/dev/null 2>&1 || true
    if [ -f "$S/hosts" ]; then
      awk -v n="$n" '$1 != n' "$S/hosts" >"$S/hosts.tmp" && mv "$S/hosts.tmp" "$S/hosts"
    fi
  done
  if [ $UP_HUB_NEW -eq 1 ]; then
    ip netns del "$HUB" >/dev/null 2>&1 || true
    rm -rf "$S"
    rm -f "$RUN_DIR/$P.lock"
    rmdir "$RUN_DIR" 2>/dev/null || true
  fi
}

cmd_up() {
  [ $# -ge 1 ] || die "usage: testbed.sh up NAME..."
  local n seen=" "
  for n in "$@"; do
    validate_name "$n"
    [[ $seen == *" $n "* ]] && die "host name '$n' given twice"
    seen+="$n "
  done
  need_root; lock
  ns_exists "$HUB" || UP_HUB_NEW=1
  [ -d "$S" ] || UP_HUB_NEW=1
  trap up_rollback EXIT
  mkdir -p "$S/faults" "$S/nodes" || die "cannot create state dir $S"
  touch "$S/hosts"
  create_hub
  local a
  for n in "$@"; do
    a=$(host_addr "$n")
    if [ -z "$a" ]; then
      a="$SUBNET.$(next_octet)"
      # Write-ahead: record the host before creating anything, so 'down' finds it.
      echo "$n $a" >>"$S/hosts"
      UP_CREATED+=("$n")
    elif ! ns_exists "$(host_ns "$n")"; then
      UP_CREATED+=("$n")
    fi
    create_host "$n" "$a"
  done
  trap - EXIT
  print_table
  ok "up: $(wc -l <"$S/hosts") host(s) on $SUBNET.0/24, prefix '$P', state in $S"
}

# ---------------------------------------------------------------- faults

# Rewrite the host's fault chain from its recorded loss and cut state, atomically.
apply_faults() {
  local name=$1 addr=$2 o loss cut rules
  o=${addr##*.}
  loss=$(cat "$S/faults/$name.loss" 2>/dev/null || echo 0)
  cut=$(cat "$S/faults/$name.cut" 2>/dev/null || true)
  rules="flush chain bridge $TABLE h_$o"$'\n'
  [ -n "$cut" ] && rules+="add rule bridge $TABLE h_$o meta protocol { ip, ip6 } counter drop comment \"cut\""$'\n'
  [ "$loss" != 0 ] && rules+="add rule bridge $TABLE h_$o meta protocol { ip, ip6 } numgen random mod 100 < $loss counter drop comment \"loss $loss%\""$'\n'
  run "updating fault rules for $name" ip netns exec "$HUB" nft -f - <<<"$rules"
}

cmd_loss() {
  [ $# -eq 2 ] || die "usage: testbed.sh loss NAME PERCENT   (0 removes the loss)"
  [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -le 100 ] || die "loss percent '$2' is invalid: give an integer 0-100"
  need_root; lock
  local addr pct=$((10#$2))
  addr=$(need_host "$1") || exit 1
  if [ "$pct" -eq 0 ]; then rm -f "$S/faults/$1.loss"; else echo "$pct" >"$S/faults/$1.loss"; fi
  apply_faults "$1" "$addr"
  if [ "$pct" -eq 0 ]; then ok "loss: removed on $1"; else ok "loss: $1 drops $pct% of packets each way"; fi
}

cmd_cut() {
  [ $# -eq 1 ] || die "usage: testbed.sh cut NAME"
  need_root; lock
  local addr; addr=$(need_host "$1") || exit 1
  echo cut >"$S/faults/$1.cut"
  apply_faults "$1" "$addr"
  ok "cut: $1 ($addr) is partitioned from every host"
}

cmd_heal() {
  [ $# -eq 1 ] || die "usage: testbed.sh heal NAME"
  need_root; lock
  local addr; addr=$(need_host "$1") || exit 1
  rm -f "$S/faults/$1.cut"
  apply_faults "$1" "$addr"
  ok "heal: $1 ($addr) is reachable again"
}

cmd_rate() {
  [ $# -eq 2 ] || die "usage: testbed.sh rate NAME KBIT   (0 removes the cap)"
  [[ $2 =~ ^[0-9]+$ ]] || die "rate '$2' is invalid: give an integer number of kbit/s"
  need_root; lock
  local addr kbit=$((10#$2)) ns port burst
  addr=$(need_host "$1") || exit 1
  ns=$(host_ns "$1"); port=$(host_port "$addr")
  [ "$kbit" -eq 0 ] || [ "$kbit" -ge 8 ] || die "rate '$kbit' kbit/s is too low: 8 or more (0 removes the cap)"
  if [ "$kbit" -eq 0 ]; then
    ip -n "$ns" link show eth0 >/dev/null 2>&1 && tc -n "$ns" qdisc del dev eth0 root >/dev/null 2>&1
    tc -n "$HUB" qdisc del dev "$port" root >/dev/null 2>&1
    rm -f "$S/faults/$1.rate"
    ok "rate: cap removed on $1"
    return
  fi
  # Bucket: 20 ms worth of bytes, at least 3200 (two full frames); queue: 500 ms.
  burst=$(( kbit * 1000 / 8 / 50 )); [ $burst -lt 3200 ] && burst=3200
  run "setting tbf on $ns:eth0" tc -n "$ns" qdisc replace dev eth0 root tbf rate "${kbit}kbit" burst "$burst" latency 500ms
  run "setting tbf on $HUB:$port" tc -n "$HUB" qdisc replace dev "$port" root tbf rate "${kbit}kbit" burst "$burst" latency 500ms
  echo "$kbit" >"$S/faults/$1.rate"
  ok "rate: $1 capped at ${kbit} kbit/s each way"
}

# ---------------------------------------------------------------- nodes

proc_start() {   # starttime of a live, non-zombie process, or nothing
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  st=${st##*) }
  set -- $st
  [ "$1" != Z ] && [ "$1" != X ] || return 1
  echo "${20}"
}
node_pid() {     # pid of the host's node if it is still the process we started
  local f=$S/nodes/$1 pid st
  [ -f "$f.pid" ] || return 1
  pid=$(cat "$f.pid"); st=$(proc_start "$pid") || return 1
  [ "$st" = "$(cat "$f.start" 2>/dev/null)" ] || return 1
  echo "$pid"
}
wait_gone() {    # wait_gone PID STARTTIME SECONDS
  local i
  for ((i = 0; i < $3 * 20; i++)); do
    [ "$(proc_start "$1")" = "$2" ] || return 0
    sleep 0.05
  done
  return 1
}

cmd_node_start() {
  [ $# -eq 2 ] || die "usage: testbed.sh node-start NAME CONFIG"
  need_root; lock
  local name=$1 cfg=$2 ns pid st log
  need_host "$name" >/dev/null || exit 1
  [ -f "$cfg" ] || die "config '$cfg' not found"
  cfg=$(cd "$(dirname "$cfg")" && pwd)/$(basename "$cfg")
  [ -x "$NODE" ] || die "node binary '$NODE' not found or not executable (build it, or set LIENTHONG_NODE)"
  ns=$(host_ns "$name"); log=$S/nodes/$name.log
  mkdir -p "$S/nodes"
  if pid=$(node_pid "$name"); then
    [ "$(cat "$S/nodes/$name.config")" = "$cfg" ] ||
      die "host '$name' already runs a node (pid $pid) with another config: $(cat "$S/nodes/$name.config")"
    ok "node-start: $name already runs lienthong-node (pid $pid)"
    return
  fi
  echo "$cfg" >"$S/nodes/$name.config"
  echo "=== $(date '+%F %T') node-start $NODE --config $cfg" >>"$log"
  # setsid execs in place (we are not a group leader), as does 'ip netns exec': $! is the node.
  # fd 9 (our lock) is closed for the node, or the node would hold the lock for its lifetime.
  setsid ip netns exec "$ns" "$NODE" --config "$cfg" </dev/null >>"$log" 2>&1 9>&- &
  pid=$!
  st=$(proc_start "$pid") || true
  echo "$pid" >"$S/nodes/$name.pid"; echo "$st" >"$S/nodes/$name.start"
  sleep 0.3
  if ! node_pid "$name" >/dev/null; then
    die "node-start: lienthong-node on $name exited at once: $(grep -v '^===' "$log" | tail -n1) (log $log)"
  fi
  ok "node-start: $name runs lienthong-node pid $pid, log $log"
}

stop_node() {    # stop_node NAME SIGNAL -> prints how it ended
  local name=$1 sig=$2 pid st
  pid=$(node_pid "$name") || { rm -f "$S/nodes/$name.pid" "$S/nodes/$name.start"; echo "not running"; return 0; }
  st=$(cat "$S/nodes/$name.start")
  kill -"$sig" "$pid" 2>/dev/null || true
  if [ "$sig" = KILL ]; then
    wait_gone "$pid" "$st" 5 || { echo "pid $pid survived SIGKILL"; return 1; }
    echo "pid $pid killed (SIGKILL)"
  elif wait_gone "$pid" "$st" "$STOP_TIMEOUT"; then
    echo "pid $pid stopped (SIGTERM)"
  else
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" "$st" 5 || true
    echo "pid $pid ignored SIGTERM for ${STOP_TIMEOUT}s and was killed (SIGKILL)"
  fi
  rm -f "$S/nodes/$name.pid" "$S/nodes/$name.start"
}

cmd_node_kill() {
  [ $# -eq 1 ] || die "usage: testbed.sh node-kill NAME"
  need_root; lock
  need_host "$1" >/dev/null || exit 1
  local r; r=$(stop_node "$1" KILL) || die "node-kill: $1: $r"
  ok "node-kill: $1: $r"
}

cmd_node_stop() {
  [ $# -eq 1 ] || die "usage: testbed.sh node-stop NAME"
  need_root; lock
  need_host "$1" >/dev/null || exit 1
  local r; r=$(stop_node "$1" TERM) || die "node-stop: $1: $r"
  ok "node-stop: $1: $r"
}

cmd_node_restart() {
  [ $# -eq 1 ] || die "usage: testbed.sh node-restart NAME"
  [ -f "$S/nodes/$1.config" ] || die "node-restart: no node was ever started on '$1' (use node-start NAME CONFIG)"
  local cfg; cfg=$(cat "$S/nodes/$1.config")
  "$SELF" node-stop "$1" >/dev/null || exit 1
  "$SELF" node-start "$1" "$cfg" >/dev/null || exit 1
  ok "node-restart: $1 runs lienthong-node pid $(cat "$S/nodes/$1.pid")"
}

# ---------------------------------------------------------------- read commands

cmd_addr() {
  [ $# -eq 1 ] || die "usage: testbed.sh addr NAME"
  validate_name "$1"
  [ -f "$S/hosts" ] || die "no testbed with prefix '$P' (run: testbed.sh up NAME...)"
  local a; a=$(host_addr "$1")
  [ -n "$a" ] || die "unknown host '$1' (hosts: $(host_names | paste -sd' '))"
  echo "$a"
}

cmd_exec() {
  [ $# -ge 2 ] || die "usage: testbed.sh exec NAME CMD..."
  need_root
  local name=$1; shift
  need_host "$name" >/dev/null || exit 1
  exec ip netns exec "$(host_ns "$name")" "$@"
}

cmd_status() {
  [ -f "$S/hosts" ] || { ok "status: no testbed with prefix '$P'"; return 0; }
  local n a faults pid ns
  printf '%-16s %-15s %-5s %-28s %s\n' HOST ADDRESS NS FAULTS NODE
  while read -r n a; do
    [ -n "$n" ] || continue
    ns=present; ns_exists "$(host_ns "$n")" || ns=GONE
    faults=""
    [ -f "$S/faults/$n.cut" ] && faults+="cut "
    [ -f "$S/faults/$n.loss" ] && faults+="loss=$(cat "$S/faults/$n.loss")% "
    [ -f "$S/faults/$n.rate" ] && faults+="rate=$(cat "$S/faults/$n.rate")kbit "
    if pid=$(node_pid "$n"); then pid="pid $pid"
    elif [ -f "$S/nodes/$n.pid" ]; then pid="exited (was pid $(cat "$S/nodes/$n.pid"))"
    else pid="-"; fi
    printf '%-16s %-15s %-5s %-28s %s\n' "$n" "$a" "$([ $ns = present ] && echo ok || echo GONE)" "${faults:--}" "$pid"
  done <"$S/hosts"
  ok "status: prefix '$P', hub $HUB $(ns_exists "$HUB" && echo present || echo MISSING), state $S"
}

# ---------------------------------------------------------------- down

kill_ns_pids() {  # SIGTERM every process in the namespaces, wait, then SIGKILL
  local ns pids=() p i
  for ns in "$@"; do
    ns_exists "$ns" || continue
    for p in $(ip netns pids "$ns" 2>/dev/null); do
      [ "$p" != $$ ] && pids+=("$p")
    done
  done
  [ ${#pids[@]} -eq 0 ] && return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    local alive=0
    for p in "${pids[@]}"; do proc_start "$p" >/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  sleep 0.1
}

cmd_down() {
  need_root; lock
  local n nss=() ns count=0 pidf
  # Nodes we started (they live in our namespaces, but be sure even if one was moved).
  for pidf in "$S"/nodes/*.pid; do
    [ -f "$pidf" ] || continue
    n=$(basename "$pidf" .pid)
    stop_node "$n" TERM >/dev/null || true
  done
  for n in $(host_names); do nss+=("$(host_ns "$n")"); done
  # Leftovers of an earlier run whose state was lost: every '<prefix>-*' namespace is ours
  # (a prefix cannot contain '-', so no other prefix's namespaces match).
  while read -r ns _; do
    [[ $ns == "$P-"* ]] && [[ " ${nss[*]} " != *" $ns "* ]] && nss+=("$ns")
  done < <(ip netns list 2>/dev/null)
  kill_ns_pids "${nss[@]}"
  for ns in "${nss[@]}"; do
    if ns_exists "$ns"; then
      ip netns del "$ns" 2>/dev/null || die "down: cannot delete namespace $ns"
      count=$((count + 1))
    fi
  done
  rm -rf "$S"
  rm -f "$RUN_DIR/$P.lock"
  rmdir "$RUN_DIR" 2>/dev/null || true
  ok "down: prefix '$P' removed ($count namespace(s) deleted, nodes stopped, state cleared)"
}

# ---------------------------------------------------------------- check

cmd_check() {
  [ "$(id -u)" -eq 0 ] || die "check: not root, network namespaces need root (CAP_SYS_ADMIN)"
  local c
  for c in ip nft tc flock setsid; do
    command -v "$c" >/dev/null || die "check: '$c' not found (install iproute2, nftables, util-linux)"
  done
  local a="$P-chk$$a" b="$P-chk$$b" err=""
  cleanup_check() { ip netns del "$a" >/dev/null 2>&1; ip netns del "$b" >/dev/null 2>&1; }
  trap cleanup_check EXIT
  if ! err=$(ip netns add "$a" 2>&1); then
    die "check: cannot create a network namespace: $(head -n1 <<<"$err")"
  fi
  err=$(ip netns add "$b" 2>&1 &&
        ip -n "$a" link add br0 type bridge 2>&1 &&
        ip -n "$a" link add p1 type veth peer name eth0 netns "$b" 2>&1 &&
        ip -n "$a" link set p1 master br0 2>&1) ||
    die "check: cannot create a bridge and veth pair in a namespace: $(head -n1 <<<"$err")"
  err=$(ip netns exec "$a" nft -f - 2>&1 <<EOF
table bridge t {
  chain c {
    type filter hook forward priority 0;
    iifname "p1" meta protocol { ip, ip6 } numgen random mod 100 < 5 drop
  }
}
EOF
) || die "check: nftables bridge filtering with numgen is unavailable: $(head -n1 <<<"$err")"
  err=$(tc -n "$a" qdisc replace dev p1 root tbf rate 1000kbit burst 3200 latency 500ms 2>&1) ||
    die "check: tc tbf is unavailable: $(head -n1 <<<"$err")"
  cleanup_check; trap - EXIT
  ok "check: network namespaces, bridge, veth, nftables (bridge, numgen) and tc tbf work here"
}

# ---------------------------------------------------------------- demo

cmd_demo() {
  need_root
  command -v "$ADMIN" >/dev/null || [ -x "$ADMIN" ] ||
    die "demo: admin binary '$ADMIN' not found (build it, or set LIENTHONG_ADMIN)"
  [ -x "$NODE" ] || die "demo: node binary '$NODE' not found (build it, or set LIENTHONG_NODE)"
  if [ -f "$S/hosts" ]; then die "demo: prefix '$P' already has a testbed (run: testbed.sh down, or set TESTBED_PREFIX)"; fi
  local work self="$SELF" i j line
  work=$(mktemp -d /tmp/lienthong-testbed-demo.XXXXXX)
  trap '"$self" down >/dev/null 2>&1; rm -rf "$work"' EXIT
  local hosts=(province district commune)
  local agencies=(000.00.00.H41 000.01.00.H41 001.01.00.H41)
  local titles=("Văn phòng UBND tỉnh" "UBND huyện" "UBND xã")
  "$self" up "${hosts[@]}" || exit 1
  for i in 0 1 2; do
    "$ADMIN" init --agency "${agencies[$i]}" --name "${titles[$i]}" \
      --listen "tcp://$("$self" addr "${hosts[$i]}"):7001" --dir "$work/${hosts[$i]}" >/dev/null ||
      die "demo: lienthong-admin init failed for ${hosts[$i]}"
  done
  # Every node trusts the two others: peers written into node.yaml before start.
  for i in 0 1 2; do
    local block="peers:"
    for j in 0 1 2; do
      [ $i -eq $j ] && continue
      line=$("$ADMIN" -c "$work/${hosts[$j]}/node.yaml" id | head -n1)
      block+=$'\n'"  - agency: \"${agencies[$j]}\""
      block+=$'\n'"    endpoint: \"tcp://$("$self" addr "${hosts[$j]}"):7001\""
      block+=$'\n'"    identity: \"$line\""
    done
    BLOCK=$block awk '/^peers: \[\]$/ { print ENVIRON["BLOCK"]; next } { print }' \
      "$work/${hosts[$i]}/node.yaml" >"$work/node.yaml.tmp" && mv "$work/node.yaml.tmp" "$work/${hosts[$i]}/node.yaml"
  done
  "$self" loss commune 10 || exit 1
  for i in 0 1 2; do "$self" node-start "${hosts[$i]}" "$work/${hosts[$i]}/node.yaml" || exit 1; done
  for i in 0 1 2; do
    for _ in $(seq 1 100); do [ -S "$work/${hosts[$i]}/data/api.sock" ] && break; sleep 0.1; done
  done
  "$self" status
  local cfg1=$work/province/node.yaml cfg3=$work/commune/node.yaml id att=$work/attachment.bin
  head -c 200000 /dev/urandom >"$att"
  echo "== sending a document with a 200000-byte attachment from province to commune (10% loss on commune's link)"
  id=$("$ADMIN" -c "$cfg1" send --to "${agencies[2]}" --subject "Thử nghiệm liên thông qua đường truyền kém" \
    --type "Công văn" --number "1/TB" --signer "Nguyễn Văn A" --body "Kiểm tra gửi nhận khi mất gói." --attach "$att") ||
    die "demo: lienthong-admin send failed"
  echo "   message id $id"
  local t0=$SECONDS delivered=0
  while [ $((SECONDS - t0)) -lt 60 ]; do
    if [ "$("$ADMIN" -c "$cfg1" --json outbox --pending | grep -c '"pending"' || true)" = 0 ]; then delivered=1; break; fi
    sleep 0.2
  done
  echo "== province outbox"
  "$ADMIN" -c "$cfg1" outbox
  echo "== commune inbox"
  "$ADMIN" -c "$cfg3" inbox
  "$self" status
  [ $delivered -eq 1 ] || die "demo: the document was not delivered within 60s (logs in $S/nodes/)"
  echo "== receipts held by province"
  "$ADMIN" -c "$cfg1" receipt "$id"
  local dropped
  dropped=$(ip netns exec "$HUB" nft list chain bridge $TABLE "h_$("$self" addr commune | cut -d. -f4)" |
    grep -o 'counter packets [0-9]*' | awk '{ print $3 }')
  echo "== the loss rule on commune's link dropped ${dropped:-?} packets during the demo"
  "$ADMIN" -c "$cfg1" receipt "$id" | grep -q INVALID && die "demo: a receipt did not verify"
  "$ADMIN" -c "$cfg1" receipt "$id" | grep -q VALID || die "demo: no valid receipt from the commune"
  "$ADMIN" -c "$cfg3" export "$id" --out "$work/exported" >/dev/null && cmp -s "$att" "$work/exported/$(basename "$att")" ||
    die "demo: the exported attachment differs from the one sent"
  "$self" down >/dev/null
  rm -rf "$work"
  trap - EXIT
  ok "demo: delivered province -> commune through 10% loss in $((SECONDS - t0))s (${dropped:-?} packets dropped), signed receipt valid, attachment byte-identical; testbed removed"
}

usage() {
  cat <<EOF
usage: testbed.sh COMMAND [ARGS]   (env: TESTBED_PREFIX=$P TESTBED_SUBNET=$SUBNET LIENTHONG_NODE)
  up NAME...              create the hub and one namespace per host; print the address table
  addr NAME               print the host's address
  exec NAME CMD...        run CMD inside the host's namespace
  loss NAME PERCENT       drop PERCENT% of packets each way on the host's link (0 removes)
  rate NAME KBIT          cap the host's link at KBIT kbit/s each way (0 removes)
  cut NAME | heal NAME    partition the host from everyone / restore it
  node-start NAME CONFIG  run lienthong-node --config CONFIG in the host's namespace
  node-stop NAME          SIGTERM the node, SIGKILL after \$TESTBED_STOP_TIMEOUT s (default 10)
  node-kill NAME          SIGKILL the node
  node-restart NAME       stop, then start with the same config
  status                  hosts, addresses, faults, node pids
  down                    stop nodes, delete every namespace, rule and qdisc, remove state
  check                   exit 0 if this machine can run the testbed, else say why
  demo                    3 hosts, 3 nodes, a document delivered through 10% loss; tears down
EOF
}

validate_prefix
cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
  up) cmd_up "$@" ;;
  addr) cmd_addr "$@" ;;
  exec) cmd_exec "$@" ;;
  loss) cmd_loss "$@" ;;
  rate) cmd_rate "$@" ;;
  cut) cmd_cut "$@" ;;
  heal) cmd_heal "$@" ;;
  node-start) cmd_node_start "$@" ;;
  node-stop) cmd_node_stop "$@" ;;
  node-kill) cmd_node_kill "$@" ;;
  node-restart) cmd_node_restart "$@" ;;
  status) cmd_status "$@" ;;
  down) cmd_down "$@" ;;
  check) cmd_check "$@" ;;
  demo) cmd_demo "$@" ;;
  -h|--help|help) usage ;;
  "") usage >&2; exit 2 ;;
  *) die "unknown command '$cmd' (run: testbed.sh help)" ;;
esac
