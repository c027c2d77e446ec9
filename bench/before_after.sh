#!/usr/bin/env bash
# DbToHdfs before and after: REV's server against this working tree's, in alternating rounds
# on each database of the course set-up (server CPU, wall, peak RSS and spool disk per export).
#
#   bash bench/before_after.sh REV [ROUNDS]
#
# REV's server is built once into .local/ab/lender-REV (from a worktree, with a target
# directory of its own seeded from this one's, so only the lender crate compiles) and kept.
# Results: bench/results/ab-export-<flavour>.json (bench/goals.py reads them). Expects both
# databases and the cluster up (`just bench-before-after` starts them); stops the usual server.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
[[ $# -ge 1 ]] || { sed -n '5p' "$0"; exit 2; }
rev=$(git rev-parse --short "$1")
rounds=${2:-3}
before=.local/ab/lender-$rev

if [[ ! -x $before ]]; then
  src=.local/ab/src-$rev target=.local/ab/target
  [[ -d $src ]] || git worktree add -f --detach "$src" "$rev" >/dev/null
  [[ -d $target/release ]] || { mkdir -p "$target" && cp -a target/release "$target/"; }
  (cd "$src" && CARGO_TARGET_DIR="$ROOT/$target" cargo build --release --bin lender)
  cp "$target/release/lender" "$before"
fi
cargo build --release --bin lender
after_label=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo "+changes")

for flavour in mariadb mysql; do
  echo "== $flavour: $rev (A) against $after_label (B), $rounds rounds"
  LENDER_MYSQL_FLAVOUR=$flavour PYTHONPATH=.local/py:pylib python3 bench/ab_export.py \
    "$before" target/release/lender --rounds "$rounds" --label-a "$rev" --label-b "$after_label" \
    --out "bench/results/ab-export-$flavour.json"
done
echo "(restart the usual server with: bash dev/serve.sh start)"
