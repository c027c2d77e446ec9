#!/usr/bin/env bash
# Quick start on a fresh machine of ours (no Docker needed): installs what is missing,
# starts MariaDB + an HDFS NameNode + 3 DataNodes + the lender server, and runs the whole
# job end to end (`just dev-demo`), including a DataNode failure; it ends with the web board's
# address, the page to keep open while trying things.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash dev/bootstrap.sh
just dev-demo
bash dev/serve.sh url
