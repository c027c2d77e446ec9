#!/usr/bin/env bash
# Local HDFS cluster for lender: a real Hadoop 3.3.6 HDFS with one NameNode JVM
# and three DataNode JVMs, from jars resolved by Maven (docker/hadoop/pom.xml; p4-hdfs
# built with HADOOP_SOURCE=maven resolves the same file) into .local/hadoop/lib
# (git-ignored). Config: docker/hadoop/conf (the one copy, shared with the Docker
# images), or docker/hadoop/conf-course (Hadoop's defaults) in the course profile;
# daemons: docker/hadoop/start-{namenode,datanode}.sh.
#
# Network: each DataNode runs in its own network namespace lender-dnN, linked by
# a veth pair to the bridge lender0 (10.213.0.1/24); DataNode N is 10.213.0.(10+N)
# with standard ports (xfer 9866, http 9864, ipc 9867) and registers that IP as
# its dfs.datanode.hostname, so clients see three distinct hosts. The NameNode
# runs in the root namespace; its RPC (9000) is on the bridge address 10.213.0.1,
# which host clients use too (with Hadoop's defaults the NameNode binds only the
# address of fs.defaultFS); HTTP 9870 on 0.0.0.0. Needs root.
#
# Usage: dev/cluster.sh <command>
#   up [--profile fast|contract|course] [--fresh]
#                     fetch jars if missing, create namespaces, format (if needed)
#                     and start NN + 3 DNs, wait for 3 live DNs and safemode off.
#                     Keeps HDFS data across down/up; --fresh wipes it. A healthy
#                     cluster is left alone (NN restarted if the profile differs);
#                     anything half-started is stopped and started again.
#   down              stop all daemons, remove namespaces and bridge (keeps jars, data)
#   status            daemons and the NameNode's view of live/dead DataNodes
#   kill-dn N         SIGKILL DataNode N's JVM (connections are refused at once)
#   cut-dn N          drop every packet in/out of DataNode N's namespace (nftables):
#                     connections to it hang, its heartbeats stop; the JVM keeps running
#   restore-dn N      undo kill-dn/cut-dn: reconnect (or restart) DN N, wait until live
#   restart-nn [--profile fast|contract|course]
#                     restart only the NameNode (data kept), wait for 3 live DNs;
#                     the DataNodes too when the config changes (course <-> tuned)
#   hdfs dfs|dfsadmin|fsck|getconf|version ARGS...
#                     the hdfs CLI (FsShell, DFSAdmin, DFSck, ...) against the local NN
#   env               print export lines (LENDER_HDFS_URL, LENDER_WEBHDFS_URL, ...)
#
# Profiles (docs/hadoop-profiles.md lists every setting and its reason):
#   fast (default here): our tuned config, heartbeat 1 s, recheck 1 s, stale 3 s -> dead after ~12-17 s
#   contract:            our tuned config, heartbeat 3 s, recheck 30 s, stale 10 s -> dead after ~90 s
#   course:              what the course runs: Hadoop 3.3.6's defaults (permissions on, WebHDFS
#                        static user dr.who, 128 MiB blocks, ...) plus its two NameNode -D flags
#                        (stale 10 s, recheck 30 s -> dead after ~90 s); only the registration
#                        hostname check is off (namespace IPs have no reverse DNS)
# Environment: LENDER_HDFS_TIMEOUT (seconds to wait in up/restart, default 180).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=dev/lib.sh
. "$ROOT/dev/lib.sh"
POM="$ROOT/docker/hadoop/pom.xml"
CONF="$ROOT/docker/hadoop/conf"            # tuned profiles; conf_dir() picks per profile
CONF_COURSE="$ROOT/docker/hadoop/conf-course"
START_NN="$ROOT/docker/hadoop/start-namenode.sh"
START_DN="$ROOT/docker/hadoop/start-datanode.sh"
LIB="$ROOT/.local/hadoop/lib"
RUN="$ROOT/.local/hdfs"
LOGS="$RUN/logs"
PIDS="$RUN/pids"

NUM_DN=3
BRIDGE=lender0
SUBNET_PREFIX=10.213.0
BRIDGE_IP="$SUBNET_PREFIX.1"
NN_RPC_PORT=9000
NN_HTTP_PORT=9870
DN_XFER_PORT=9866
HDFS_URL="hdfs://$BRIDGE_IP:$NN_RPC_PORT"
WEBHDFS_URL="http://127.0.0.1:$NN_HTTP_PORT"
TIMEOUT="${LENDER_HDFS_TIMEOUT:-180}"
CUT_TABLE=lender_cut

dn_ns()   { echo "lender-dn$1"; }
dn_ip()   { echo "$SUBNET_PREFIX.$((10 + $1))"; }
dn_veth() { echo "lender-dn$1"; }          # host side of the veth pair
log()     { echo "cluster.sh: $*" >&2; }
die()     { echo "cluster.sh: ERROR: $*" >&2; exit 1; }

# ---------------------------------------------------------------- java / tools
pick_java() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then :
  else
    local d
    for d in /usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/temurin-17-*; do
      if [ -x "$d/bin/java" ]; then JAVA_HOME="$d"; break; fi
    done
  fi
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    JAVA="$JAVA_HOME/bin/java"; export JAVA_HOME
  else
    JAVA="$(command -v java || true)"
    [ -n "$JAVA" ] || die "no java found (need JDK 17)"
  fi
  export JAVA
}

need_root() { [ "$(id -u)" = 0 ] || die "needs root (network namespaces, nftables)"; }

apt_install() {
  log "installing Debian package(s): $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "$@" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$@" >/dev/null; } ||
    die "apt-get install $* failed"
}

ensure_tools() {
  need_root
  command -v ip >/dev/null || apt_install iproute2
  command -v nft >/dev/null || apt_install nftables
  command -v python3 >/dev/null || die "python3 is needed"
  command -v setsid >/dev/null || die "setsid (util-linux) is needed"
}

# ---------------------------------------------------------------- jars
jars_ok() {
  [ -f "$LIB/.stamp" ] && [ "$(cat "$LIB/.stamp")" = "$(sha256sum "$POM" | cut -d' ' -f1)" ]
}

fetch_jars() {
  if jars_ok; then return 0; fi
  command -v mvn >/dev/null || die "mvn (Maven) is needed to fetch the Hadoop jars"
  log "fetching Hadoop 3.3.6 jars with Maven into $LIB (once) ..."
  local t0=$SECONDS tmp="$LIB.tmp"
  rm -rf "$tmp"; mkdir -p "$(dirname "$LIB")"
  if ! mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
       -DoutputDirectory="$tmp" >"$LIB.mvn.log" 2>&1; then
    tail -n 20 "$LIB.mvn.log" >&2
    die "Maven could not resolve the jars of $POM (log: $LIB.mvn.log)"
  fi
  [ -f "$tmp/hadoop-hdfs-3.3.6.jar" ] || die "Maven ran but $tmp has no hadoop-hdfs-3.3.6.jar"
  sha256sum "$POM" | cut -d' ' -f1 >"$tmp/.stamp"
  rm -rf "$LIB"; mv "$tmp" "$LIB"
  log "jars ready: $(find "$LIB" -name "*.jar" | wc -l) jars, $(du -sh "$LIB" | cut -f1), $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- network
net_up() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$BRIDGE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  local n ns veth
  for n in $(seq 1 $NUM_DN); do
    ns="$(dn_ns "$n")"; veth="$(dn_veth "$n")"
    ip netns list | grep -qw "^$ns" || ip netns add "$ns"
    if ! ip link show "$veth" >/dev/null 2>&1; then
      ip netns exec "$ns" ip link del eth0 2>/dev/null || true
      ip link add "$veth" type veth peer name eth0 netns "$ns"
    fi
    ip link set "$veth" master "$BRIDGE"
    ip link set "$veth" up
    ip netns exec "$ns" ip link set lo up
    ip netns exec "$ns" ip addr replace "$(dn_ip "$n")/24" dev eth0
    ip netns exec "$ns" ip link set eth0 up
  done
}

net_down() {
  local n ns
  for n in $(seq 1 $NUM_DN); do
    ns="$(dn_ns "$n")"
    if ip netns list | grep -qw "^$ns"; then ip netns del "$ns"; fi
    ip link del "$(dn_veth "$n")" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
}

is_cut() { ip netns exec "$(dn_ns "$1")" nft list table inet $CUT_TABLE >/dev/null 2>&1; }

cut_on() {
  is_cut "$1" && return 0
  # Policy drop on input and output (loopback exempt): SYNs to the DataNode get
  # no answer (connects hang), its own traffic (heartbeats, pipelines) vanishes.
  ip netns exec "$(dn_ns "$1")" nft -f - <<EOF
table inet $CUT_TABLE {
  chain input  { type filter hook input  priority -300; policy drop; iifname "lo" accept; }
  chain output { type filter hook output priority -300; policy drop; oifname "lo" accept; }
}
EOF
}

cut_off() {
  if ip netns list | grep -qw "^$(dn_ns "$1")" && is_cut "$1"; then
    ip netns exec "$(dn_ns "$1")" nft delete table inet $CUT_TABLE
  fi
}

# ---------------------------------------------------------------- processes
cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }
has_role() { cmdline "$1" | grep -q -- "-Dlender.hdfs.role=$2 "; }

# pid of the lender NameNode: from the pid file, else whoever of ours listens on 9870/9000
nn_pid() {
  local p
  p="$(cat "$PIDS/nn.pid" 2>/dev/null || true)"
  if [ -n "$p" ] && has_role "$p" namenode; then echo "$p"; return 0; fi
  for p in $(ss -ltnpH "( sport = :$NN_HTTP_PORT or sport = :$NN_RPC_PORT )" 2>/dev/null |
             grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
    if has_role "$p" namenode; then echo "$p"; return 0; fi
  done
  return 0
}

# pid of DataNode N: the datanode JVM inside its namespace
dn_pid() {
  local ns p
  ns="$(dn_ns "$1")"
  ip netns list | grep -qw "^$ns" || return 0
  for p in $(ip netns pids "$ns" 2>/dev/null); do
    if has_role "$p" datanode; then echo "$p"; return 0; fi
  done
  return 0
}

stop_pid() {  # pid name [grace seconds]
  local p="$1" name="$2" grace="${3:-10}"
  alive "$p" || return 0
  if stop_process "$p" "$grace"; then
    log "stopped $name (pid $p)"; return 0
  fi
  log "killed $name (pid $p) after ${grace}s"
}

stop_dn() {
  local n="$1" ns p
  ns="$(dn_ns "$n")"
  stop_pid "$(dn_pid "$n")" "DataNode $n" 10
  # anything else left in the namespace was started by us too
  if ip netns list | grep -qw "^$ns"; then
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  fi
  rm -f "$PIDS/dn$n.pid"
}

stop_nn() {
  local p
  p="$(nn_pid)"
  if [ -n "$p" ] && ! cmdline "$p" | grep -q -- "$CONF"; then
    log "the lender NameNode running now (pid $p) belongs to another checkout: stopping it"
  fi
  stop_pid "$p" NameNode 15
  rm -f "$PIDS/nn.pid"
}

check_ports_free() {
  local port line
  for port in $NN_RPC_PORT $NN_HTTP_PORT; do
    line="$(ss -ltnpH "( sport = :$port )" 2>/dev/null | head -1)"
    [ -z "$line" ] || die "port $port is in use by something that is not a lender NameNode: $line"
  done
}

current_profile() { cat "$RUN/profile" 2>/dev/null || echo fast; }

check_profile() {
  case "$1" in fast|contract|course) ;; *) die "profile must be fast, contract or course (got '$1')" ;; esac
}

# The config directory a profile runs with: course runs Hadoop's defaults, the others ours.
conf_dir() { if [ "$1" = course ]; then echo "$CONF_COURSE"; else echo "$CONF"; fi; }

# Profiles whose daemons read different config files cannot share a cluster: switching
# between them restarts the DataNodes as well as the NameNode.
same_conf() { [ "$(conf_dir "$1")" = "$(conf_dir "$2")" ]; }

# The user our HDFS clients name (the server's LENDER_HDFS_USER): the one the daemons run as,
# HDFS's superuser.
hdfs_user() { id -un; }

start_nn() {  # profile format(auto|force|never)
  local profile="$1" format="$2" p
  mkdir -p "$LOGS" "$PIDS"
  echo "==== $(date '+%F %T') start NameNode profile=$profile" >>"$LOGS/nn.log"
  HADOOP_CP="$LIB/*" HADOOP_CONF_DIR="$(conf_dir "$profile")" HDFS_NAME_DIR="$RUN/nn" HDFS_FORMAT="$format" \
  HDFS_NN_HOST="$BRIDGE_IP" HDFS_NN_RPC_PORT=$NN_RPC_PORT HDFS_NN_HTTP_PORT=$NN_HTTP_PORT \
  HDFS_PROFILE="$profile" HDFS_HEAP="${LENDER_HDFS_NN_HEAP:-384m}" \
    daemonize "$LOGS/nn.log" "$START_NN"
  p=$!
  echo "$p" >"$PIDS/nn.pid"
  echo "$profile" >"$RUN/profile"
  log "started NameNode (pid $p, profile $profile), log $LOGS/nn.log"
}

start_dn() {  # n profile
  local n="$1" profile="$2" p
  mkdir -p "$LOGS" "$PIDS" "$RUN/dn$n"
  echo "==== $(date '+%F %T') start DataNode $n profile=$profile" >>"$LOGS/dn$n.log"
  HADOOP_CP="$LIB/*" HADOOP_CONF_DIR="$(conf_dir "$profile")" HDFS_DATA_DIR="$RUN/dn$n" \
  HDFS_NN_HOST="$BRIDGE_IP" HDFS_NN_RPC_PORT=$NN_RPC_PORT HDFS_DN_HOSTNAME="$(dn_ip "$n")" \
  HDFS_PROFILE="$profile" HDFS_HEAP="${LENDER_HDFS_DN_HEAP:-256m}" \
    daemonize "$LOGS/dn$n.log" ip netns exec "$(dn_ns "$n")" "$START_DN"
  p=$!
  echo "$p" >"$PIDS/dn$n.pid"
  echo "$profile" >"$RUN/dn$n.profile"
  log "started DataNode $n (pid $p, $(dn_ip "$n") in netns $(dn_ns "$n")), log $LOGS/dn$n.log"
}

# ---------------------------------------------------------------- NameNode view
# Prints: "nn up|down", "live N", "dead N", "safemode on|off", and per DataNode
# "node IP live|dead LASTCONTACT_S".
nn_view() {
  python3 - "$WEBHDFS_URL" <<'PY'
import json, sys, urllib.request
base = sys.argv[1]
def bean(name):
    with urllib.request.urlopen(f"{base}/jmx?qry=Hadoop:service=NameNode,name={name}", timeout=3) as r:
        return json.load(r)["beans"][0]
try:
    info = bean("NameNodeInfo")
except Exception:
    print("nn down"); sys.exit(0)
live = json.loads(info.get("LiveNodes") or "{}")
dead = json.loads(info.get("DeadNodes") or "{}")
print("nn up")
print("live", len(live)); print("dead", len(dead))
print("safemode", "on" if info.get("Safemode") else "off")
for state, nodes in (("live", live), ("dead", dead)):
    for key, v in sorted(nodes.items()):
        ip = (v.get("xferaddr") or key).split(":")[0]
        print("node", ip, state, v.get("lastContact", -1))
PY
}

view_get() { awk -v k="$1" '$1 == k { print $2; exit }' <<<"$2"; }
node_state() {  # view n -> "live LASTCONTACT" | "dead LASTCONTACT" | ""
  awk -v ip="$(dn_ip "$2")" '$1 == "node" && $2 == ip { print $3, $4; exit }' <<<"$1"
}

wait_nn_http() {
  local deadline=$((SECONDS + TIMEOUT)) v p
  p="$(cat "$PIDS/nn.pid" 2>/dev/null || true)"
  log "waiting for the NameNode web server on $WEBHDFS_URL (up to ${TIMEOUT}s) ..."
  while :; do
    v="$(nn_view)"
    [ "$(view_get nn "$v")" = up ] && return 0
    if [ -z "$p" ] || ! kill -0 "$p" 2>/dev/null; then fail_timeout "the NameNode process exited" "$LOGS/nn.log"; fi
    [ $SECONDS -lt $deadline ] || fail_timeout "NameNode web server not up after ${TIMEOUT}s" "$LOGS/nn.log"
    sleep 1
  done
}

fail_timeout() {  # message log
  echo "cluster.sh: ERROR: $1" >&2
  echo "cluster.sh: see $2 ; last lines:" >&2
  tail -n 15 "$2" 2>/dev/null | sed 's/^/    /' >&2 || true
  echo "cluster.sh: daemons are left running for inspection: 'dev/cluster.sh status', 'down' stops them, 'up' starts over" >&2
  exit 1
}

# wait until DataNodes $want (list of N) are live with a fresh heartbeat, the
# others as given, and safemode is off
wait_live() {  # want_live_count
  local want="$1" deadline=$((SECONDS + TIMEOUT)) v live dead sm last=""
  log "waiting for $want live DataNode(s) and safemode off (up to ${TIMEOUT}s) ..."
  while :; do
    v="$(nn_view)"
    live="$(view_get live "$v")"; dead="$(view_get dead "$v")"; sm="$(view_get safemode "$v")"
    if [ "$(view_get nn "$v")" = up ] && [ "$live" = "$want" ] && [ "$sm" = off ]; then
      log "NameNode reports live=$live dead=$dead, safemode off"; return 0
    fi
    if [ "live=$live dead=$dead safemode=$sm" != "$last" ]; then
      last="live=$live dead=$dead safemode=$sm"; log "  ... $last"
    fi
    [ $SECONDS -lt $deadline ] ||
      fail_timeout "timed out after ${TIMEOUT}s waiting for $want live DataNodes ($last)" \
        "$LOGS/nn.log and $LOGS/dn*.log"
    sleep 1
  done
}

# DataNode N's own view: "up ACTORSTATE SECONDS_SINCE_HEARTBEAT_RESPONSE" or "down"
dn_view() {
  python3 - "http://$(dn_ip "$1"):9864" <<'PY'
import json, sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1] + "/jmx?qry=Hadoop:service=DataNode,name=DataNodeInfo", timeout=2) as r:
        b = json.load(r)["beans"][0]
    a = json.loads(b.get("BPServiceActorInfo") or "[]")[0]
    print("up", a.get("ActorState", "?"), a.get("LastHeartbeatResponseTime", a.get("LastHeartbeat", "-1")))
except Exception:
    print("down")
PY
}

# wait until DataNode N heartbeats: the NameNode lists it as live with a recent
# heartbeat and the DataNode itself got a heartbeat answer in the last 3 s
wait_dn_live() {  # n timeout -> 0 ok, 1 not yet
  local n="$1" t="$2" deadline v st d
  deadline=$((SECONDS + t))
  while [ $SECONDS -lt $deadline ]; do
    v="$(nn_view)"; st="$(node_state "$v" "$n")"
    if [ "${st%% *}" = live ] && [ "${st##* }" -le 3 ]; then
      d="$(dn_view "$n")"
      if [ "$(cut -d' ' -f1,2 <<<"$d")" = "up RUNNING" ] && [ "${d##* }" -ge 0 ] && [ "${d##* }" -le 3 ]; then
        return 0
      fi
    fi
    sleep 1
  done
  return 1
}

healthy() {  # profile -> 0 if NN + all DNs of this checkout run, are live, nothing cut
  local v n p
  p="$(nn_pid)"; [ -n "$p" ] && cmdline "$p" | grep -q -- "$CONF" || return 1
  for n in $(seq 1 $NUM_DN); do
    [ -n "$(dn_pid "$n")" ] || return 1
    ! is_cut "$n" || return 1
    cmdline "$(dn_pid "$n")" | grep -q -- "$CONF" || return 1
  done
  v="$(nn_view)"
  [ "$(view_get live "$v")" = "$NUM_DN" ] && [ "$(view_get safemode "$v")" = off ]
}

# ---------------------------------------------------------------- commands
summary() {
  local v n st
  v="$(nn_view)"
  echo "HDFS is up (profile $(current_profile)):"
  echo "  NameNode  pid $(nn_pid)  rpc $HDFS_URL  http $WEBHDFS_URL  (DataNodes reach it at $BRIDGE_IP)"
  for n in $(seq 1 $NUM_DN); do
    st="$(node_state "$v" "$n")"
    printf '  DataNode %s pid %-7s host %s (netns %s, xfer :%s)  %s%s\n' "$n" "$(dn_pid "$n")" \
      "$(dn_ip "$n")" "$(dn_ns "$n")" "$DN_XFER_PORT" "${st%% *}" "$(if is_cut "$n"; then echo ' [cut]'; fi)"
  done
  echo "  logs $LOGS   CLI: dev/cluster.sh hdfs dfs -ls /   env: eval \"\$(dev/cluster.sh env)\""
}

cmd_up() {
  local profile=fast fresh=0 t0=$SECONDS n
  while [ $# -gt 0 ]; do
    case "$1" in
      --profile) profile="${2:-}"; shift 2 ;;
      --profile=*) profile="${1#*=}"; shift ;;
      --fresh) fresh=1; shift ;;
      *) die "up: unknown argument $1" ;;
    esac
  done
  check_profile "$profile"
  ensure_tools; pick_java

  if [ $fresh = 0 ] && jars_ok && healthy; then
    if [ "$(current_profile)" = "$profile" ]; then
      log "cluster already up and healthy"; summary; return 0
    fi
    log "cluster up with profile $(current_profile): restarting it with $profile"
    cmd_restart_nn --profile "$profile"; summary; return 0
  fi

  # Anything there is stale or half-started: stop it all, then start clean.
  for n in $(seq 1 $NUM_DN); do stop_dn "$n"; done
  stop_nn
  check_ports_free
  fetch_jars
  net_up
  for n in $(seq 1 $NUM_DN); do cut_off "$n"; done

  local format=auto
  if [ $fresh = 1 ] || [ ! -f "$RUN/nn/current/VERSION" ]; then
    log "fresh HDFS: formatting the NameNode, wiping DataNode dirs"
    rm -rf "$RUN/nn" "$RUN"/dn[0-9]*
    format=force
  fi
  mkdir -p "$LOGS"
  for f in "$LOGS"/*.log; do [ -f "$f" ] && mv -f "$f" "$f.prev"; done

  start_nn "$profile" "$format"
  for n in $(seq 1 $NUM_DN); do start_dn "$n" "$profile"; done
  wait_nn_http
  wait_live "$NUM_DN"
  log "up in $((SECONDS - t0)) s"
  summary
}

cmd_down() {
  need_root
  local n
  for n in $(seq 1 $NUM_DN); do stop_dn "$n"; done
  stop_nn
  net_down
  log "cluster down (jars in $LIB and data in $RUN kept; 'up --fresh' wipes data)"
}

cmd_status() {
  local v n p st rc=0
  v="$(nn_view)"
  p="$(nn_pid)"
  if [ "$(view_get nn "$v")" = up ]; then
    echo "NameNode: up (pid ${p:-?}, profile $(current_profile)), live=$(view_get live "$v") dead=$(view_get dead "$v") safemode=$(view_get safemode "$v")"
  else
    echo "NameNode: down${p:+ (pid $p running, web server not answering)}"; rc=1
  fi
  for n in $(seq 1 $NUM_DN); do
    st="$(node_state "$v" "$n")"
    printf 'DataNode %s %-12s jvm=%-8s net=%-4s namenode=%s\n' "$n" "$(dn_ip "$n")" \
      "$(p="$(dn_pid "$n")"; echo "${p:-down}")" \
      "$(ip netns list 2>/dev/null | grep -qw "^$(dn_ns "$n")" && { is_cut "$n" && echo cut || echo ok; } || echo none)" \
      "${st:-unknown}${st:+ s-since-heartbeat}"
  done
  return $rc
}

check_n() {
  if ! { [[ "${1:-}" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le $NUM_DN ]; }; then
    die "DataNode number must be 1..$NUM_DN"
  fi
}

cmd_kill_dn() {
  check_n "${1:-}"; need_root
  local p
  p="$(dn_pid "$1")"
  if [ -z "$p" ]; then log "DataNode $1 is not running"; return 0; fi
  kill_process "$p"
  rm -f "$PIDS/dn$1.pid"
  log "killed DataNode $1 (pid $p, $(dn_ip "$1")): its ports now refuse connections"
}

cmd_cut_dn() {
  check_n "${1:-}"; ensure_tools
  ip netns list | grep -qw "^$(dn_ns "$1")" || die "namespace $(dn_ns "$1") does not exist (cluster down?)"
  cut_on "$1"
  log "cut DataNode $1 ($(dn_ip "$1")): all its packets are dropped (JVM pid $(dn_pid "$1") keeps running)"
}

cmd_restore_dn() {
  check_n "${1:-}"; ensure_tools; pick_java
  local n="$1" profile
  profile="$(cat "$RUN/dn$n.profile" 2>/dev/null || current_profile)"
  [ -n "$(nn_pid)" ] || die "the NameNode is not running (use dev/cluster.sh up)"
  net_up
  local was_cut=0
  if is_cut "$n"; then was_cut=1; cut_off "$n"; log "uncut DataNode $n"; fi
  if [ -z "$(dn_pid "$n")" ]; then
    start_dn "$n" "$profile"
  elif [ $was_cut = 1 ]; then
    # The JVM survived the cut; its TCP connection to the NameNode may sit in
    # retransmission backoff for a while. Give it a few seconds, else restart it.
    log "waiting up to 10 s for DataNode $n to heartbeat again ..."
    if ! wait_dn_live "$n" 10; then
      log "DataNode $n did not reconnect in 10 s: restarting its JVM"
      stop_dn "$n"; start_dn "$n" "$profile"
    fi
  fi
  log "waiting for DataNode $n ($(dn_ip "$n")) to be live (up to ${TIMEOUT}s) ..."
  wait_dn_live "$n" "$TIMEOUT" ||
    fail_timeout "DataNode $n not live after ${TIMEOUT}s" "$LOGS/dn$n.log"
  log "DataNode $n is live"
}

cmd_restart_nn() {
  local profile
  profile="$(current_profile)"
  while [ $# -gt 0 ]; do
    case "$1" in
      --profile) profile="${2:-}"; shift 2 ;;
      --profile=*) profile="${1#*=}"; shift ;;
      *) die "restart-nn: unknown argument $1" ;;
    esac
  done
  check_profile "$profile"
  ensure_tools; pick_java
  [ -f "$RUN/nn/current/VERSION" ] || die "no NameNode data in $RUN/nn: run dev/cluster.sh up first"
  local t0=$SECONDS n dns=0
  same_conf "$(current_profile)" "$profile" || dns=1
  if [ $dns = 1 ]; then
    log "profile $profile reads other config files than $(current_profile): restarting the DataNodes too"
    for n in $(seq 1 $NUM_DN); do stop_dn "$n"; done
  fi
  stop_nn
  check_ports_free
  start_nn "$profile" never
  if [ $dns = 1 ]; then
    for n in $(seq 1 $NUM_DN); do cut_off "$n"; start_dn "$n" "$profile"; done
  fi
  wait_nn_http
  wait_live "$NUM_DN"
  log "NameNode restarted with profile $profile in $((SECONDS - t0)) s"
}

# The hdfs CLI against the local cluster: docker/hadoop/hdfs-cli.sh (p4-hdfs's `hdfs` when
# built from Maven jars) on the local jars.
cmd_hdfs() {
  local sub="${1:-}" gen=()
  [ $# -gt 0 ] && shift
  case "$sub" in
    dfs|dfsadmin|fsck|getconf) gen=(-D "fs.defaultFS=$HDFS_URL") ;;
    version|classpath) ;;
    *) die "hdfs: use one of dfs, dfsadmin, fsck, getconf, version, classpath" ;;
  esac
  pick_java
  jars_ok || fetch_jars
  HADOOP_CP="$LIB/*" HADOOP_CONF_DIR="$(conf_dir "$(current_profile)")" \
    exec "$ROOT/docker/hadoop/hdfs-cli.sh" "$sub" "${gen[@]}" "$@"
}

cmd_env() {
  local n hosts=""
  for n in $(seq 1 $NUM_DN); do hosts="$hosts${hosts:+,}$(dn_ip "$n")"; done
  echo "export LENDER_HDFS_URL=$HDFS_URL"
  echo "export LENDER_WEBHDFS_URL=$WEBHDFS_URL"
  echo "export LENDER_HDFS_DN_HOSTS=$hosts"
  for n in $(seq 1 $NUM_DN); do echo "export LENDER_HDFS_DN${n}=$(dn_ip "$n")"; done
  echo "export LENDER_HDFS_DN_XFER_PORT=$DN_XFER_PORT"
  echo "export LENDER_HDFS_PROFILE=$(current_profile)"
  echo "export LENDER_HDFS_USER=$(hdfs_user)"
  echo "export LENDER_HDFS_CLI=\"$ROOT/dev/cluster.sh hdfs\""
  echo "export HADOOP_CONF_DIR=$(conf_dir "$(current_profile)")"
  echo "export HADOOP_CP=\"$LIB/*\""
  echo "# plain java: java -cp \"\$HADOOP_CONF_DIR:\$HADOOP_CP\" org.apache.hadoop.fs.FsShell -fs $HDFS_URL -ls /"
}

main() {
  local cmd="${1:-}"
  [ $# -gt 0 ] && shift
  case "$cmd" in
    hdfs) cmd_hdfs "$@"; return ;;
    env) cmd_env; return ;;
    status) cmd_status; return ;;
    up|down|kill-dn|cut-dn|restore-dn|restart-nn)
      take_lock "$RUN/.lock" 600 || die "another cluster.sh is running (lock $RUN/.lock)"
      case "$cmd" in
        up) cmd_up "$@" ;;
        down) cmd_down ;;
        kill-dn) cmd_kill_dn "$@" ;;
        cut-dn) cmd_cut_dn "$@" ;;
        restore-dn) cmd_restore_dn "$@" ;;
        restart-nn) cmd_restart_nn "$@" ;;
      esac ;;
    -h|--help|help|"") sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
    *) die "unknown command '$cmd' (try: dev/cluster.sh help)" ;;
  esac
}

main "$@"
