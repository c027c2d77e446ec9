#!/usr/bin/env bash
# The lender server against the local cluster, in the background.
#   dev/serve.sh start     build (release), start on 127.0.0.1:5000 with the web board on
#                          127.0.0.1:8080 (LENDER_BOARD_LISTEN=off: none), return once it answers
#   dev/serve.sh stop      stop it (SIGTERM, then SIGKILL)
#   dev/serve.sh kill      SIGKILL it (crash tests)
#   dev/serve.sh status    running or not
#   dev/serve.sh env       the environment the server runs with (export lines)
#   dev/serve.sh url       the web board's address ("board: http://127.0.0.1:8080/"), if on
# Idempotent: start leaves a running server of the current binary alone.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=dev/lib.sh
. "$ROOT/dev/lib.sh"
RUN="$ROOT/.local/server"
PID="$RUN/server.pid"
LOG="$RUN/server.log"
BIN="$ROOT/target/release/lender"
mkdir -p "$RUN"

server_env() {
  # MySQL and HDFS endpoints as the scripts that run them print them; a variable set wins.
  local services
  services=$("$ROOT/dev/mysql.sh" env; "$ROOT/dev/cluster.sh" env)
  cat <<ENV
export LENDER_LISTEN=${LENDER_LISTEN:-127.0.0.1:5000}
export LENDER_MYSQL_URL=${LENDER_MYSQL_URL:-$(service LENDER_MYSQL_URL)}
export LENDER_HDFS_URL=${LENDER_HDFS_URL:-$(service LENDER_HDFS_URL)}
export LENDER_WEBHDFS_URL=${LENDER_WEBHDFS_URL:-$(service LENDER_WEBHDFS_URL)}
export LENDER_DB=${LENDER_DB:-$RUN/lender.redb}
export LENDER_METRICS_LISTEN=${LENDER_METRICS_LISTEN:-127.0.0.1:9464}
export LENDER_BOARD_LISTEN=${LENDER_BOARD_LISTEN:-127.0.0.1:8080}
ENV
}

# service NAME: NAME's value in the services' env output (set by server_env).
service() { sed -n "s/^export $1=//p" <<<"$services"; }

running() { [[ -f $PID ]] && alive "$(cat "$PID")"; }

port() { server_env | sed -n 's/^export LENDER_LISTEN=.*:\([0-9]*\)$/\1/p'; }

# The board's address as the server will bind it ("off": none).
board() { server_env | sed -n 's/^export LENDER_BOARD_LISTEN=//p'; }

answers() { (exec 3<>"/dev/tcp/127.0.0.1/${1:-$(port)}") 2>/dev/null; }

# Where a person opens the board, once the server is up (nothing when it is off).
say_board() {
  local addr; addr=$(board)
  [[ $addr == off ]] || echo "board: http://$addr/"
}

start() {
  (cd "$ROOT" && cargo build --release --quiet --bin lender)
  if running; then
    if [[ $BIN -ot $PID ]] && answers; then
      echo "server already running (pid $(cat "$PID"))"; say_board; return 0
    fi
    echo "binary changed: restarting the server"; stop
  fi
  if answers; then
    echo "port $(port) is already taken by another process (a server from another checkout?); stop it first"; return 1
  fi
  # The server would exit on a taken board port: say which setting to change instead.
  local board_addr; board_addr=$(board)
  if [[ $board_addr != off ]] && answers "${board_addr##*:}"; then
    echo "board port $board_addr is already taken; stop its owner or set LENDER_BOARD_LISTEN (another IP:port, or off)"; return 1
  fi
  eval "$(server_env)"
  echo "--- start $(date -u +%FT%TZ)" >>"$LOG"
  daemonize "$LOG" "$BIN" serve
  echo $! >"$PID"
  for _ in $(seq 1 100); do
    if answers; then echo "server up on $LENDER_LISTEN (pid $(cat "$PID"), log $LOG)"; say_board; return 0; fi
    running || { echo "server exited; last log lines:"; tail -20 "$LOG"; return 1; }
    sleep 0.1
  done
  echo "server did not answer within 10 s; see $LOG"; return 1
}

stop() {
  running || { rm -f "$PID"; return 0; }
  local pid; pid=$(cat "$PID")
  stop_process "$pid" 15 || echo "server did not stop within 15 s: killed it"
  rm -f "$PID"
  echo "server stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) running && kill_process "$(cat "$PID")"; rm -f "$PID"; echo "server killed" ;;
  status) if running; then echo "running (pid $(cat "$PID"))"; else echo "stopped"; fi ;;
  env) server_env ;;
  url) say_board ;;
  *) sed -n '2,10p' "$0"; exit 2 ;;
esac
