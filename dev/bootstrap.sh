#!/usr/bin/env bash
# Installs what a fresh machine of ours lacks for building, running and testing lender:
# Python tools (grpc, pytest, just, hadolint), the release build, and the client's
# generated gRPC modules. MariaDB and Hadoop are installed by dev/mysql.sh and
# dev/cluster.sh when the cluster first starts. Idempotent and quiet when nothing is missing.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

if ! python3 -c "import grpc, grpc_tools, yaml, pytest, pyarrow" 2>/dev/null || ! command -v just >/dev/null || ! command -v hadolint >/dev/null; then
  echo "==> installing Python tools (requirements-dev.txt)"
  python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  command -v pyenv >/dev/null && pyenv rehash || true
  scripts=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
  for tool in just hadolint; do
    [[ -x $scripts/$tool ]] && ln -sf "$scripts/$tool" "/usr/local/bin/$tool"
  done
fi

echo "==> building lender (release)"
cargo build --release --quiet --workspace

echo "==> generating the client's gRPC modules"
mkdir -p .local/py
python3 -m grpc_tools.protoc -Iproto --python_out=.local/py --grpc_python_out=.local/py proto/lender.proto
