# shellcheck shell=bash
# Process and lock helpers shared by dev/cluster.sh, dev/mysql.sh and dev/serve.sh.
# Sourced, not run. They print nothing: each script says what happened in its own words.

# alive PID: the process exists.
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# wait_gone PID [SECONDS]: returns once the process has exited (default: wait up to 10 s).
wait_gone() {
  local pid="$1" i
  for ((i = 0; i < ${2:-10} * 20; i++)); do
    alive "$pid" || return 0
    sleep 0.05
  done
  return 1
}

# stop_process PID GRACE: SIGTERM, up to GRACE seconds to exit, then SIGKILL; returns once
# the process is gone. Status 1: it had to be killed.
stop_process() {
  local pid="$1" grace="$2"
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait_gone "$pid" "$grace" && return 0
  kill -KILL "$pid" 2>/dev/null || true
  wait_gone "$pid" || true
  return 1
}

# kill_process PID: SIGKILL (a crash, for fault tests); returns once the process is gone.
kill_process() {
  alive "$1" || return 0
  kill -KILL "$1" 2>/dev/null || true
  wait_gone "$1"
}

# take_lock FILE SECONDS: holds an exclusive lock on FILE (fd 9) until the script exits.
# Status 1: another holder kept it for SECONDS.
take_lock() {
  mkdir -p "$(dirname "$1")"
  exec 9>"$1"
  flock -w "$2" 9
}

# close_fds_above_2: closes every descriptor but stdin, stdout and stderr. Call it in the
# subshell that is about to exec a daemon, so the daemon holds no pipe or lock of its caller
# (a harness reading our output would otherwise wait for the daemon to exit).
close_fds_above_2() {
  local f fd
  for f in /proc/"$BASHPID"/fd/*; do
    fd="${f##*/}"
    if [ "$fd" -gt 2 ]; then exec {fd}>&-; fi
  done
}

# daemonize LOG COMMAND...: starts COMMAND in its own session, in the background, with no
# descriptor of ours but its log; $! is its pid (setsid execs in place in a subshell).
daemonize() {
  local log="$1"; shift
  ( close_fds_above_2; exec setsid "$@" </dev/null >>"$log" 2>&1 ) &
}
