#!/usr/bin/env bash
# Two builds of lender, one DbToHdfs question: which is faster, which holds less memory?
#
#   bash bench/ab_export.sh BIN_A BIN_B [ROUNDS]
#
# Runs each binary as the server in turn (A, B, A, B, ... ROUNDS rounds of two exports
# each), against the local cluster and MariaDB that `just dev-up` started, and prints each
# export's wall time, the server's CPU time for it and the server's peak RSS. Alternating
# matters: this machine's speed drifts by a third within minutes, so only runs made
# seconds apart compare. Get a binary of another revision with, for example:
#   git stash && cargo build --release && cp target/release/lender /tmp/lender-A && git stash pop
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
[[ $# -ge 2 ]] || { sed -n '4p' "$0"; exit 2; }
bins=("$1" "$2")
rounds=${3:-3}

bash dev/serve.sh stop >/dev/null
eval "$(bash dev/serve.sh env)"
port=${LENDER_LISTEN##*:}
export PYTHONPATH=.local/py LENDER_SERVER=127.0.0.1:$port

mkdir -p .local/server
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

for round in $(seq "$rounds"); do
  for name in A B; do
    bin=${bins[$([[ $name == A ]] && echo 0 || echo 1)]}
    "$bin" serve >>".local/server/ab-$name.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    for export in 1 2; do
      before=$(cpu_ticks "$pid")
      wall=$( { /usr/bin/time -f %e python3 client.py DbToHdfs >/dev/null; } 2>&1 )
      cpu_ms=$(( ($(cpu_ticks "$pid") - before) * 1000 / $(getconf CLK_TCK) ))
      hwm=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status")
      echo "$name round $round export $export: wall ${wall} s, server CPU ${cpu_ms} ms, peak RSS ${hwm} MiB"
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
echo "(restart the usual server with: bash dev/serve.sh start)"
