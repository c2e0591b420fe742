#!/usr/bin/env bash
# Liên Thông fault testbed: N hosts in network namespaces on one bridge, with packet loss,
# bandwidth caps, partitions and process crashes on demand. Tests and admins use it to
# rehearse a topology on one machine. See README.md beside this file.
#
# What 'up --name T --nodes N' creates (and 'down --name T' removes); nothing is created in
# the caller's own namespace, so the host's interfaces, routes and nft tables are untouched:
#   namespace T-br   bridge T-br, one port T-p<i> per node
#   namespace T-n<i> interface T-n<i> (veth to T-p<i>) with address subnet+i, loopback up
# Faults:
#   loss, cut  nft table "inet T" inside T-n<i>: chain 'in' (hook input) and 'out' (hook
#              output), rebuilt atomically from the node's rule file on every change. A drop
#              in 'out' is seen by the sender's own kernel (ping prints EPERM, TCP
#              retransmits); a drop in 'in' is a silent loss on the wire.
#   rate       tc tbf on T-n<i> (node's egress) and on T-p<i> (node's ingress)
# State, in $TESTBED_RUN_DIR/T (default /run/lienthong-testbed/T):
#   topology       "subnet A.B.C.D/L" and "nodes N"
#   rules/<i>      one fault a line: "loss PCT DIR PEER", "cut PEER", "rate KBIT" (PEER 0 = all)
#   proc/<i>.pid   pid and /proc start time of the process started by 'run' on node i
#   proc/<i>.cmd   its argv, NUL-separated, for 'restart'
#   log/<i>.log    its stdout and stderr
# Exit status: 0 done, 1 failed, 2 bad arguments, 77 this machine cannot run a testbed.
set -euo pipefail

ME=testbed.sh
RUN_DIR=${TESTBED_RUN_DIR:-/run/lienthong-testbed}
STOP_SECONDS=${TESTBED_STOP_SECONDS:-10}

usage() {
  cat <<EOF
usage: $ME COMMAND --name NAME [OPTIONS]

  up      --name NAME --nodes N [--subnet 10.77.0.0/24]
          create namespaces NAME-n1..NAME-nN on one bridge; print node, namespace, address
  down    --name NAME
          kill processes, delete namespaces, links and rules, remove state (idempotent)
  status  --name NAME            nodes, addresses, faults in effect, processes
  addr    --name NAME --node I   print node I's address
  loss    --name NAME --node I [--peer J] --percent P [--direction in|out|both]
          drop P% of packets on node I's link (only those to/from J with --peer); P=0 removes
  rate    --name NAME --node I --kbit K
          cap node I's link at K kbit/s each way (tbf); K=0 removes the cap
  cut     --name NAME --node I [--peer J]   drop everything to/from I (or only between I and J)
  heal    --name NAME --node I [--peer J]   undo cut (all of I's cuts, or only the one with J)
  clear   --name NAME --node I   remove every loss, rate and cut of node I
  run     --name NAME --node I -- CMD...    start CMD in I's namespace in the background
  kill    --name NAME --node I [--signal SIG]  signal it (default TERM) and wait for it to end
  restart --name NAME --node I   stop the process if alive, start its command again
  exec    --name NAME --node I -- CMD...    run CMD in I's namespace in the foreground
  check   can this machine run a testbed? (exit 0, or 77 with the reason)
  help    this text

NAME: 1-10 lower-case letters and digits, starting with a letter. Nodes are numbered 1..N.
Exit status: 0 done, 1 failed, 2 bad arguments, 77 cannot run here (not root, no netns).
Environment: TESTBED_RUN_DIR (default /run/lienthong-testbed), TESTBED_STOP_SECONDS (10).
EOF
}

die() { echo "$ME: $*" >&2; exit 1; }
bad_args() { echo "$ME: $*" >&2; exit 2; }
cannot_run() { echo "$ME: cannot run here: $*" >&2; exit 77; }
say() { echo "$ME: $*"; }

# ------------------------------------------------------------------ arguments

# Options every command may be given; parse_args fills the matching variables.
OPT_NAME="" OPT_NODES="" OPT_SUBNET="" OPT_NODE="" OPT_PEER="" OPT_PERCENT=""
OPT_DIRECTION="" OPT_KBIT="" OPT_SIGNAL=""
CMD_ARGV=()

# parse_args COMMAND "ALLOWED OPTIONS" [--] ARGS...: ALLOWED lists option names without
# dashes; "--" in ALLOWED means the command takes a command line after "--".
parse_args() {
  local cmd=$1 allowed=" $2 " opt val
  shift 2
  while [ $# -gt 0 ]; do
    opt=$1
    if [ "$opt" = -- ]; then
      [[ $allowed == *" -- "* ]] || bad_args "$cmd: takes no command after '--'"
      shift
      CMD_ARGV=("$@")
      [ ${#CMD_ARGV[@]} -gt 0 ] || bad_args "$cmd: no command after '--'"
      return 0
    fi
    [[ $opt == --* ]] || bad_args "$cmd: unexpected argument '$opt' (options start with --; a command goes after '--')"
    opt=${opt#--}
    val=""
    if [[ $opt == *=* ]]; then val=${opt#*=}; opt=${opt%%=*}; shift
    else
      [[ $allowed == *" $opt "* ]] || bad_args "$cmd: unknown option '--$opt' (allowed:$(opts_list "$allowed"))"
      [ $# -ge 2 ] || bad_args "$cmd: option '--$opt' needs a value"
      val=$2; shift 2
    fi
    [[ $allowed == *" $opt "* ]] || bad_args "$cmd: unknown option '--$opt' (allowed:$(opts_list "$allowed"))"
    case $opt in
      name) OPT_NAME=$val ;; nodes) OPT_NODES=$val ;; subnet) OPT_SUBNET=$val ;;
      node) OPT_NODE=$val ;; peer) OPT_PEER=$val ;; percent) OPT_PERCENT=$val ;;
      direction) OPT_DIRECTION=$val ;; kbit) OPT_KBIT=$val ;; signal) OPT_SIGNAL=$val ;;
    esac
  done
  [[ $allowed != *" -- "* ]] || bad_args "$cmd: no command given (put it after '--')"
}

opts_list() {
  local o out=""
  for o in $1; do
    if [ "$o" = -- ]; then out+=" -- CMD..."; else out+=" --$o"; fi
  done
  echo "$out"
}

need_name() {
  [ -n "$OPT_NAME" ] || bad_args "$1: --name is required"
  [[ $OPT_NAME =~ ^[a-z][a-z0-9]{0,9}$ ]] ||
    bad_args "$1: --name '$OPT_NAME' is invalid: use 1-10 lower-case letters and digits, starting with a letter"
  NAME=$OPT_NAME
  S=$RUN_DIR/$NAME
}

is_uint() { [[ $1 =~ ^[0-9]{1,9}$ ]]; }

# need_int COMMAND OPTION VALUE LOW HIGH: a whole number in [LOW, HIGH], printed in base 10.
need_int() {
  [ -n "$3" ] || bad_args "$1: --$2 is required"
  is_uint "$3" || bad_args "$1: --$2 '$3' is not a whole number"
  local v=$((10#$3))
  ((v >= $4 && v <= $5)) || bad_args "$1: --$2 $v is out of range ($4 to $5)"
  echo "$v"
}

# ------------------------------------------------------------------ environment

need_root() {
  [ "$(id -u)" -eq 0 ] || cannot_run "must run as root (network namespaces need CAP_SYS_ADMIN)"
  local c
  for c in ip nft tc flock setsid; do
    command -v "$c" >/dev/null ||
      cannot_run "'$c' not found (install iproute2, nftables and util-linux: deploy/install-deps.sh)"
  done
}

lock() {
  mkdir -p "$RUN_DIR" || die "cannot create $RUN_DIR"
  exec 9>"$RUN_DIR/$NAME.lock" || die "cannot open lock file $RUN_DIR/$NAME.lock"
  flock -w 60 9 || die "another $ME command on testbed '$NAME' held $RUN_DIR/$NAME.lock for 60 s"
}

ns_exists() { [ -e "/run/netns/$1" ]; }
br_ns() { echo "$NAME-br"; }
node_ns() { echo "$NAME-n$1"; }
node_if() { echo "$NAME-n$1"; }   # the node's end of its veth, inside its namespace
port_if() { echo "$NAME-p$1"; }   # the bridge's end, inside $NAME-br

# ------------------------------------------------------------------ addresses

ip2int() {
  local a b c d
  IFS=. read -r a b c d <<<"$1"
  echo $(((a << 24) | (b << 16) | (c << 8) | d))
}
int2ip() { echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"; }
mask_of() { echo $(((0xffffffff << (32 - $1)) & 0xffffffff)); }

valid_ip() {
  [[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || return 1
  local i
  for i in 1 2 3 4; do [ "${BASH_REMATCH[$i]}" -le 255 ] || return 1; done
}

# overlaps NET1 LEN1 NET2 LEN2 (networks as integers)
overlaps() {
  local len=$2
  [ "$4" -lt "$len" ] && len=$4
  local m; m=$(mask_of "$len")
  [ $(($1 & m)) -eq $(($3 & m)) ]
}

# The caller's IPv4 routes (every table) as "PREFIX LINE"; default routes are left out,
# since everything would overlap them.
host_routes() {
  local first second rest line
  while read -r line; do
    read -r first second rest <<<"$line"
    case $first in
      unicast|local|broadcast|multicast|throw|unreachable|prohibit|blackhole|nat|anycast) first=$second ;;
    esac
    [ "$first" = default ] && continue
    [[ $first == */* ]] || first+=/32
    echo "$first $line"
  done < <(ip -4 -o route show table all 2>/dev/null)
}

is_private() {   # is_private NET LEN: inside 10/8, 172.16/12 or 192.168/16
  local p
  for p in 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16; do
    [ "$2" -ge "${p#*/}" ] && overlaps "$1" "$2" "$(ip2int "${p%/*}")" "${p#*/}" && return 0
  done
  return 1
}

# Sets SUBNET_NET (integer) and SUBNET_LEN from --subnet, or exits naming the problem.
parse_subnet() {
  local s=$1 addr len
  [[ $s == */* ]] || bad_args "up: --subnet '$s' must be in CIDR form, e.g. 10.77.0.0/24"
  addr=${s%/*}; len=${s#*/}
  valid_ip "$addr" || bad_args "up: --subnet '$s': '$addr' is not an IPv4 address"
  is_uint "$len" || bad_args "up: --subnet '$s': prefix length '$len' is not a number"
  ((10#$len >= 16 && 10#$len <= 29)) ||
    bad_args "up: --subnet '$s': prefix length must be 16 to 29"
  SUBNET_LEN=$((10#$len))
  SUBNET_NET=$(ip2int "$addr")
  [ $((SUBNET_NET & $(mask_of "$SUBNET_LEN"))) -eq "$SUBNET_NET" ] ||
    bad_args "up: --subnet '$s' has host bits set (its network is $(int2ip $((SUBNET_NET & $(mask_of "$SUBNET_LEN")))))/$SUBNET_LEN)"
  is_private "$SUBNET_NET" "$SUBNET_LEN" ||
    bad_args "up: --subnet '$s' is not private (use part of 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)"
}

# Loads the topology of an existing testbed into SUBNET_NET, SUBNET_LEN, NODES.
load_topology() {
  [ -f "$S/topology" ] || die "no testbed named '$NAME' is up (run: $ME up --name $NAME --nodes N)"
  local key val subnet="" nodes=""
  while read -r key val; do
    case $key in subnet) subnet=$val ;; nodes) nodes=$val ;; esac
  done <"$S/topology"
  [[ -n $subnet && -n $nodes ]] || die "state file $S/topology is damaged (run: $ME down --name $NAME)"
  SUBNET_NET=$(ip2int "${subnet%/*}"); SUBNET_LEN=${subnet#*/}; NODES=$nodes
}

node_addr() { int2ip $((SUBNET_NET + $1)); }

# need_node COMMAND OPTION VALUE: a node number of this testbed whose namespace exists.
need_node() {
  local i
  [ -n "$3" ] || bad_args "$1: --$2 is required"
  is_uint "$3" || bad_args "$1: --$2 '$3' is not a node number"
  i=$((10#$3))
  ((i >= 1 && i <= NODES)) || bad_args "$1: --$2 $i is not a node of '$NAME' (nodes are 1 to $NODES)"
  ns_exists "$(node_ns "$i")" || die "$1: namespace $(node_ns "$i") is missing (run: $ME down --name $NAME, then up again)"
  echo "$i"
}

# ------------------------------------------------------------------ up and down

cmd_up() {
  parse_args up "name nodes subnet" "$@"
  need_name up
  local n; n=$(need_int up nodes "$OPT_NODES" 1 250)
  parse_subnet "${OPT_SUBNET:-10.77.0.0/24}"
  local room=$(((1 << (32 - SUBNET_LEN)) - 2))
  [ "$n" -le "$room" ] || bad_args "up: --subnet $(int2ip "$SUBNET_NET")/$SUBNET_LEN has room for $room nodes, not $n"
  need_root
  local prefix line
  while read -r prefix line; do
    if overlaps "$SUBNET_NET" "$SUBNET_LEN" "$(ip2int "${prefix%/*}")" "${prefix#*/}"; then
      die "up: --subnet $(int2ip "$SUBNET_NET")/$SUBNET_LEN overlaps the host route '$line'; choose another with --subnet"
    fi
  done < <(host_routes)
  lock
  if [ -d "$S" ] || [ -n "$(our_namespaces)" ]; then
    die "up: testbed '$NAME' already exists (see: $ME status --name $NAME; remove: $ME down --name $NAME)"
  fi
  # State first, so that 'down' (and the rollback below) find whatever gets created.
  mkdir -p "$S/rules" "$S/proc" "$S/log" || die "up: cannot create state directory $S"
  printf 'subnet %s/%s\nnodes %s\n' "$(int2ip "$SUBNET_NET")" "$SUBNET_LEN" "$n" >"$S/topology"
  NODES=$n
  trap 'echo "$ME: up failed; removing what was created" >&2; teardown >/dev/null 2>&1 || true' EXIT

  local err br i
  br=$(br_ns)
  err=$(ip netns add "$br" 2>&1) || cannot_run "cannot create a network namespace: ${err%%$'\n'*}"
  step "bridge namespace" ip netns exec "$br" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  step "bridge" ip -n "$br" link add "$br" type bridge
  step "bridge up" ip -n "$br" link set "$br" up
  for ((i = 1; i <= n; i++)); do
    local ns; ns=$(node_ns "$i")
    step "namespace $ns" ip netns add "$ns"
    # No IPv6: the testbed's traffic is the IPv4 the script assigns, nothing else.
    step "sysctl in $ns" ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    step "loopback in $ns" ip -n "$ns" link set lo up
    step "veth for node $i" ip -n "$br" link add "$(port_if "$i")" type veth peer name "$(node_if "$i")" netns "$ns"
    step "bridge port for node $i" ip -n "$br" link set "$(port_if "$i")" master "$br" up
    step "address of node $i" ip -n "$ns" addr add "$(node_addr "$i")/$SUBNET_LEN" dev "$(node_if "$i")"
    step "link of node $i" ip -n "$ns" link set "$(node_if "$i")" up
    : >"$S/rules/$i"
  done
  trap - EXIT
  printf '%-5s %-14s %s\n' NODE NAMESPACE ADDRESS
  for ((i = 1; i <= n; i++)); do
    printf '%-5s %-14s %s\n' "$i" "$(node_ns "$i")" "$(node_addr "$i")/$SUBNET_LEN"
  done
  say "up: testbed '$NAME', $n node(s) on $(int2ip "$SUBNET_NET")/$SUBNET_LEN, state in $S"
}

# step WHAT CMD...: run CMD; on failure exit naming WHAT and the command's first error line.
step() {
  local what=$1 err
  shift
  err=$("$@" 2>&1 >/dev/null) || die "creating $what failed: ${err%%$'\n'*} (command: $*)"
}

# Namespaces of this testbed: those of the state file plus any NAME-br / NAME-n<digits> left
# by a run whose state was lost. A name never contains '-', so no other testbed's match.
our_namespaces() {
  local ns _
  while read -r ns _; do
    [[ $ns == "$NAME-br" || $ns =~ ^$NAME-n[0-9]+$ ]] && echo "$ns"
  done < <(ip netns list 2>/dev/null)
  return 0
}

proc_alive() {   # proc_alive PID [STARTTIME]: the process exists, is not a zombie, is the same one
  local st rest f
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  rest=${st##*) }
  read -r -a f <<<"$rest"
  [ "${f[0]}" != Z ] && [ "${f[0]}" != X ] || return 1
  [ -z "${2:-}" ] || [ "${f[19]}" = "$2" ]
}
proc_starttime() {
  local st rest f
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  rest=${st##*) }
  read -r -a f <<<"$rest"
  echo "${f[19]}"
}

# Kills every process in the given namespaces: TERM, a bounded wait, then KILL.
kill_in_namespaces() {
  local pids=() ns p i alive
  for ns in "$@"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do [ "$p" != $$ ] && pids+=("$p"); done
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < STOP_SECONDS * 10; i++)); do
    alive=0
    for p in "${pids[@]}"; do proc_alive "$p" && alive=1 && break; done
    [ $alive -eq 0 ] && return 0
    sleep 0.1
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive=0
    for p in "${pids[@]}"; do proc_alive "$p" && alive=1 && break; done
    [ $alive -eq 0 ] && return 0
    sleep 0.1
  done
}

# Removes everything of testbed $NAME that exists; safe on a half-created testbed.
teardown() {
  local nss=() ns count=0 dev f pid
  mapfile -t nss < <(our_namespaces)
  # Processes started by 'run' first (they are in our namespaces unless they moved).
  for f in "$S"/proc/*.pid; do
    [ -f "$f" ] || continue
    read -r pid _ <"$f" || continue
    if is_uint "$pid" && proc_alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  [ ${#nss[@]} -eq 0 ] || kill_in_namespaces "${nss[@]}"
  # Deleting a namespace deletes its links (and their veth peers), qdiscs and nft tables.
  for ns in "${nss[@]}"; do
    ip netns del "$ns" 2>/dev/null || true
    ns_exists "$ns" && die "down: cannot delete namespace $ns"
    count=$((count + 1))
  done
  # Nothing is ever created in the caller's namespace; make sure, by our naming pattern.
  while read -r dev; do
    dev=${dev%%@*}
    [[ $dev == "$NAME-br" || $dev =~ ^$NAME-[np][0-9]+$ ]] && ip link del "$dev" 2>/dev/null && count=$((count + 1))
  done < <(ip -o link show 2>/dev/null | awk -F': ' '{ print $2 }')
  rm -rf "$S"
  echo "$count"
}

cmd_down() {
  parse_args down "name" "$@"
  need_name down
  need_root
  lock
  local n; n=$(teardown)
  rm -f "$RUN_DIR/$NAME.lock"
  rmdir "$RUN_DIR" 2>/dev/null || true
  say "down: testbed '$NAME' removed ($n namespace(s) and link(s) deleted)"
}

# ------------------------------------------------------------------ faults

# apply_filters NODE [RULE_FILE]: rebuilds the node's nft table from its rule file in one
# transaction; with no loss or cut left, the table is deleted.
apply_filters() {
  local i=$1 file=${2:-$S/rules/$1} ns dev kind a b c match rules="" in="" out="" chance
  ns=$(node_ns "$i"); dev=$(node_if "$i")
  while read -r kind a b c; do
    case $kind in
      cut)
        match=""; [ "$a" = 0 ] || match=" ip saddr $(node_addr "$a")"
        in+="    iifname \"$dev\"$match counter drop comment \"cut $a\""$'\n'
        match=""; [ "$a" = 0 ] || match=" ip daddr $(node_addr "$a")"
        out+="    oifname \"$dev\"$match counter drop comment \"cut $a\""$'\n'
        ;;
      loss)  # loss PCT DIR PEER
        chance=" numgen random mod 100 < $a"
        [ "$a" -lt 100 ] || chance=""
        if [ "$b" = in ] || [ "$b" = both ]; then
          match=""; [ "$c" = 0 ] || match=" ip saddr $(node_addr "$c")"
          in+="    iifname \"$dev\"$match$chance counter drop comment \"loss $a in $c\""$'\n'
        fi
        if [ "$b" = out ] || [ "$b" = both ]; then
          match=""; [ "$c" = 0 ] || match=" ip daddr $(node_addr "$c")"
          out+="    oifname \"$dev\"$match$chance counter drop comment \"loss $a out $c\""$'\n'
        fi
        ;;
    esac
  done <"$file"
  rules="add table inet $NAME"$'\n'"delete table inet $NAME"$'\n'
  if [ -n "$in$out" ]; then
    rules+="table inet $NAME {"$'\n'
    rules+="  chain in {"$'\n'"    type filter hook input priority -10; policy accept;"$'\n'"$in  }"$'\n'
    rules+="  chain out {"$'\n'"    type filter hook output priority -10; policy accept;"$'\n'"$out  }"$'\n'
    rules+="}"$'\n'
  fi
  local err
  if ! err=$(ip netns exec "$ns" nft -f - <<<"$rules" 2>&1); then
    echo "$ME: nft in $ns failed: ${err%%$'\n'*}" >&2
    return 1
  fi
}

apply_rate() {
  local i=$1 kbit="" kind a _ ns burst err
  ns=$(node_ns "$i")
  while read -r kind a _; do [ "$kind" = rate ] && kbit=$a; done <"$S/rules/$i"
  if [ -z "$kbit" ]; then
    tc -n "$ns" qdisc del dev "$(node_if "$i")" root 2>/dev/null || true
    tc -n "$(br_ns)" qdisc del dev "$(port_if "$i")" root 2>/dev/null || true
    return 0
  fi
  # Bucket: 10 ms of traffic but at least two full frames; queue: 500 ms of traffic.
  burst=$((kbit * 1000 / 8 / 100))
  [ "$burst" -ge 3200 ] || burst=3200
  err=$(tc -n "$ns" qdisc replace dev "$(node_if "$i")" root tbf rate "${kbit}kbit" burst "$burst" latency 500ms 2>&1) ||
    die "tc tbf on $(node_if "$i") in $ns failed: ${err%%$'\n'*}"
  err=$(tc -n "$(br_ns)" qdisc replace dev "$(port_if "$i")" root tbf rate "${kbit}kbit" burst "$burst" latency 500ms 2>&1) ||
    die "tc tbf on $(port_if "$i") in $(br_ns) failed: ${err%%$'\n'*}"
}

# set_rule NODE KIND PEER [LINE]: drop node's KIND lines (only those with PEER, unless PEER
# is "any"), then add LINE.
set_rule() {
  local f=$S/rules/$1
  awk -v kind="$2" -v peer="$3" '!($1 == kind && (peer == "any" || $2 == peer))' "$f" >"$f.tmp"
  [ -z "${4:-}" ] || echo "$4" >>"$f.tmp"
  mv "$f.tmp" "$f"
}

cut_peers() {   # the nodes node I has a pair cut with
  local kind a _
  while read -r kind a _; do [[ $kind == cut && $a != 0 ]] && echo "$a"; done <"$S/rules/$1"
  return 0
}

# Common start of the fault and process commands: name, root, lock, topology, --node.
open_node() {
  need_name "$1"
  need_root
  lock
  load_topology
  NODE=$(need_node "$1" node "$OPT_NODE")
}

open_peer() {
  PEER=0
  [ -z "$OPT_PEER" ] && return 0
  PEER=$(need_node "$1" peer "$OPT_PEER")
  [ "$PEER" != "$NODE" ] || bad_args "$1: --peer $PEER is node $NODE itself"
}

cmd_loss() {
  parse_args loss "name node peer percent direction" "$@"
  local pct dir=${OPT_DIRECTION:-both}
  pct=$(need_int loss percent "$OPT_PERCENT" 0 100)
  [[ $dir =~ ^(in|out|both)$ ]] || bad_args "loss: --direction '$dir' must be in, out or both"
  open_node loss
  open_peer loss
  local dirs="$dir|both"
  [ "$dir" = both ] && dirs="in|out|both"
  # A new loss replaces the ones it covers: same peer, overlapping direction. A 'both' rule
  # narrowed to one direction keeps the other.
  local f=$S/rules/$NODE kind a b c
  : >"$f.new"
  while read -r kind a b c; do
    if [ "$kind" = loss ] && [ "$c" = "$PEER" ] && [[ $b =~ ^($dirs)$ ]]; then
      if [ "$b" = both ] && [ "$dir" != both ]; then
        local other=in; [ "$dir" = in ] && other=out
        echo "loss $a $other $c" >>"$f.new"
      fi
      continue
    fi
    echo "$kind${a:+ $a}${b:+ $b}${c:+ $c}" >>"$f.new"
  done <"$f"
  [ "$pct" -eq 0 ] || echo "loss $pct $dir $PEER" >>"$f.new"
  apply_filters "$NODE" "$f.new" || { rm -f "$f.new"; exit 1; }
  mv "$f.new" "$f"
  local what="node $NODE"; [ "$PEER" = 0 ] || what+=" <-> node $PEER"
  if [ "$pct" -eq 0 ]; then say "loss: removed ($dir) on $what"
  else say "loss: $what drops $pct% of packets ($dir)"; fi
}

cmd_rate() {
  parse_args rate "name node kbit" "$@"
  local kbit; kbit=$(need_int rate kbit "$OPT_KBIT" 0 10000000)
  [ "$kbit" -eq 0 ] || [ "$kbit" -ge 8 ] || bad_args "rate: --kbit $kbit is too low (8 or more; 0 removes the cap)"
  open_node rate
  if [ "$kbit" -eq 0 ]; then set_rule "$NODE" rate any
  else set_rule "$NODE" rate any "rate $kbit"; fi
  apply_rate "$NODE"
  if [ "$kbit" -eq 0 ]; then say "rate: cap removed on node $NODE"
  else say "rate: node $NODE capped at $kbit kbit/s each way"; fi
}

cmd_cut() {
  parse_args cut "name node peer" "$@"
  open_node cut
  open_peer cut
  if [ "$PEER" = 0 ]; then
    set_rule "$NODE" cut 0 "cut 0"
    apply_filters "$NODE"
    say "cut: node $NODE ($(node_addr "$NODE")) is partitioned from every node"
  else
    # Recorded on both sides, so 'heal' from either side finds it.
    set_rule "$NODE" cut "$PEER" "cut $PEER"
    set_rule "$PEER" cut "$NODE" "cut $NODE"
    apply_filters "$NODE"
    apply_filters "$PEER"
    say "cut: nodes $NODE and $PEER cannot reach each other"
  fi
}

cmd_heal() {
  parse_args heal "name node peer" "$@"
  open_node heal
  open_peer heal
  local j
  if [ "$PEER" = 0 ]; then
    for j in $(cut_peers "$NODE"); do
      set_rule "$j" cut "$NODE"
      apply_filters "$j"
    done
    set_rule "$NODE" cut any
    apply_filters "$NODE"
    say "heal: every cut of node $NODE removed"
  else
    set_rule "$NODE" cut "$PEER"
    set_rule "$PEER" cut "$NODE"
    apply_filters "$NODE"
    apply_filters "$PEER"
    say "heal: nodes $NODE and $PEER reach each other again"
  fi
}

cmd_clear() {
  parse_args clear "name node" "$@"
  open_node clear
  local j
  for j in $(cut_peers "$NODE"); do
    set_rule "$j" cut "$NODE"
    apply_filters "$j"
  done
  : >"$S/rules/$NODE"
  apply_filters "$NODE"
  apply_rate "$NODE"
  say "clear: node $NODE has no loss, rate cap or cut"
}

# ------------------------------------------------------------------ processes

recorded_pid() {   # pid of node I's recorded process if it is still that process
  local f=$S/proc/$1.pid pid st
  [ -f "$f" ] || return 1
  read -r pid st <"$f" || return 1
  proc_alive "$pid" "$st" || return 1
  echo "$pid"
}

start_recorded() {
  local i=$1 ns log pid st
  ns=$(node_ns "$i"); log=$S/log/$i.log
  local argv=()
  mapfile -d '' -t argv <"$S/proc/$i.cmd"
  printf '=== %s start: %s\n' "$(date '+%F %T')" "${argv[*]}" >>"$log"
  # In a script, a background job is not a process group leader, so setsid and 'ip netns
  # exec' both exec in place: $! is the command's own pid. Fd 9 (our lock) is not inherited.
  setsid ip netns exec "$ns" "${argv[@]}" </dev/null >>"$log" 2>&1 9>&- &
  pid=$!
  st=$(proc_starttime "$pid") || st=""
  echo "$pid $st" >"$S/proc/$i.pid"
  sleep 0.2
  if ! proc_alive "$pid" "$st"; then
    die "node $i: '${argv[0]}' exited at once: $(grep -v '^=== ' "$log" | tail -n1) (log $log)"
  fi
  say "node $i runs pid $pid: ${argv[*]} (log $log)"
}

# stop_recorded NODE SIGNAL: signal the recorded process; for TERM and KILL wait until it is
# gone (TERM: up to STOP_SECONDS). Prints what happened.
stop_recorded() {
  local i=$1 sig=$2 pid st i2
  pid=$(recorded_pid "$i") || { echo "no process running"; return 0; }
  read -r _ st <"$S/proc/$i.pid"
  kill -s "$sig" "$pid" 2>/dev/null || true
  case $sig in
    KILL|TERM) ;;
    *) echo "sent SIG$sig to pid $pid"; return 0 ;;
  esac
  local limit=$((STOP_SECONDS * 10)); [ "$sig" = KILL ] && limit=50
  for ((i2 = 0; i2 < limit; i2++)); do
    proc_alive "$pid" "$st" || { echo "pid $pid ended (SIG$sig)"; return 0; }
    sleep 0.1
  done
  echo "pid $pid is still alive ${limit}00 ms after SIG$sig"
  return 1
}

cmd_run() {
  parse_args run "name node --" "$@"
  open_node run
  local pid
  if pid=$(recorded_pid "$NODE"); then
    die "run: node $NODE already runs pid $pid (stop it: $ME kill --name $NAME --node $NODE)"
  fi
  printf '%s\0' "${CMD_ARGV[@]}" >"$S/proc/$NODE.cmd"
  start_recorded "$NODE"
}

cmd_kill() {
  parse_args kill "name node signal" "$@"
  local sig=${OPT_SIGNAL:-TERM}
  sig=${sig#SIG}
  sig=${sig^^}
  if is_uint "$sig"; then
    sig=$(kill -l "$sig" 2>/dev/null) || bad_args "kill: --signal '$OPT_SIGNAL' is not a signal"
  fi
  kill -l "$sig" >/dev/null 2>&1 || bad_args "kill: --signal '$OPT_SIGNAL' is not a signal (e.g. TERM, KILL, HUP)"
  open_node kill
  local r
  r=$(stop_recorded "$NODE" "$sig") || die "kill: node $NODE: $r"
  say "kill: node $NODE: $r"
}

cmd_restart() {
  parse_args restart "name node" "$@"
  open_node restart
  [ -f "$S/proc/$NODE.cmd" ] || die "restart: nothing was ever run on node $NODE (use: $ME run --name $NAME --node $NODE -- CMD...)"
  local r
  if recorded_pid "$NODE" >/dev/null; then
    r=$(stop_recorded "$NODE" TERM) || r=$(stop_recorded "$NODE" KILL) || die "restart: node $NODE: $r"
  fi
  start_recorded "$NODE"
}

cmd_exec() {
  parse_args exec "name node --" "$@"
  need_name exec
  need_root
  load_topology
  NODE=$(need_node exec node "$OPT_NODE")
  exec ip netns exec "$(node_ns "$NODE")" "${CMD_ARGV[@]}"
}

# ------------------------------------------------------------------ read-only commands

cmd_addr() {
  parse_args addr "name node" "$@"
  need_name addr
  load_topology
  [ -n "$OPT_NODE" ] || bad_args "addr: --node is required"
  is_uint "$OPT_NODE" || bad_args "addr: --node '$OPT_NODE' is not a node number"
  ((10#$OPT_NODE >= 1 && 10#$OPT_NODE <= NODES)) ||
    bad_args "addr: --node '$OPT_NODE' is not a node of '$NAME' (nodes are 1 to $NODES)"
  node_addr $((10#$OPT_NODE))
}

describe_rules() {
  local kind a b c out=""
  while read -r kind a b c; do
    case $kind in
      loss) out+="loss ${a}% $b"; [ "$c" = 0 ] || out+=" with $c"; out+=", " ;;
      cut) if [ "$a" = 0 ]; then out+="cut, "; else out+="cut from $a, "; fi ;;
      rate) out+="rate ${a}kbit, " ;;
    esac
  done <"$S/rules/$1"
  out=${out%, }
  echo "${out:--}"
}

dropped_by_rules() {   # packets dropped so far by node I's loss and cut rules
  ip netns exec "$(node_ns "$1")" nft list table inet "$NAME" 2>/dev/null |
    awk '{ for (k = 1; k < NF; k++) if ($k == "packets") n += $(k + 1) } END { print n + 0 }'
}

cmd_status() {
  parse_args status "name" "$@"
  need_name status
  need_root
  load_topology
  local i ns pid proc cmd
  printf '%-5s %-14s %-18s %-8s %-34s %s\n' NODE NAMESPACE ADDRESS DROPPED FAULTS PROCESS
  for ((i = 1; i <= NODES; i++)); do
    ns=$(node_ns "$i")
    if ! ns_exists "$ns"; then
      printf '%-5s %-14s %-18s %-8s %-34s %s\n' "$i" "$ns(GONE)" "$(node_addr "$i")/$SUBNET_LEN" - - -
      continue
    fi
    if pid=$(recorded_pid "$i"); then
      cmd=$(tr '\0' ' ' <"$S/proc/$i.cmd")
      proc="pid $pid: ${cmd% }"
    elif [ -f "$S/proc/$i.pid" ]; then
      read -r pid _ <"$S/proc/$i.pid"
      proc="ended (was pid $pid)"
    else
      proc=-
    fi
    printf '%-5s %-14s %-18s %-8s %-34s %s\n' "$i" "$ns" "$(node_addr "$i")/$SUBNET_LEN" \
      "$(dropped_by_rules "$i")" "$(describe_rules "$i")" "$proc"
  done
  local br=missing; ns_exists "$(br_ns)" && br=present
  say "status: testbed '$NAME', $NODES node(s), bridge namespace $(br_ns) $br, state in $S"
}

cmd_check() {
  parse_args check "" "$@"
  need_root
  local probe="ltprobe$$-br" err
  err=$(ip netns add "$probe" 2>&1) || cannot_run "cannot create a network namespace: ${err%%$'\n'*}"
  err=$(ip -n "$probe" link add ltprobe-a type veth peer name ltprobe-b 2>&1 &&
    tc -n "$probe" qdisc replace dev ltprobe-a root tbf rate 1000kbit burst 3200 latency 500ms 2>&1 &&
    ip netns exec "$probe" nft -f - 2>&1 <<EOF
table inet probe {
  chain c { type filter hook output priority 0; oifname "ltprobe-a" numgen random mod 100 < 5 drop; }
}
EOF
  ) || { ip netns del "$probe" 2>/dev/null; cannot_run "veth, tc tbf or nftables numgen unavailable: ${err%%$'\n'*}"; }
  ip netns del "$probe"
  say "check: network namespaces, veth, bridge, tc tbf and nftables work here"
}

# ------------------------------------------------------------------ main

[ $# -gt 0 ] || { usage >&2; exit 2; }
command=$1
shift
case $command in
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  status) cmd_status "$@" ;;
  addr) cmd_addr "$@" ;;
  loss) cmd_loss "$@" ;;
  rate) cmd_rate "$@" ;;
  cut) cmd_cut "$@" ;;
  heal) cmd_heal "$@" ;;
  clear) cmd_clear "$@" ;;
  run) cmd_run "$@" ;;
  kill) cmd_kill "$@" ;;
  restart) cmd_restart "$@" ;;
  exec) cmd_exec "$@" ;;
  check) cmd_check "$@" ;;
  help|-h|--help) usage ;;
  *) bad_args "unknown command '$command' (see: $ME help)" ;;
esac
