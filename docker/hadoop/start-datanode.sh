#!/usr/bin/env bash
# Start an HDFS DataNode (Hadoop 3.3.6) in the foreground (`exec java`, so the
# caller -- docker, or dev/cluster.sh with `&` inside a network namespace --
# owns the process). Runs java directly (the Hadoop shell scripts refuse to run
# daemons as root).
#
# Environment (all optional):
#   HADOOP_CP         classpath of the Hadoop jars. If unset and `hadoop` is on
#                     PATH, `hadoop classpath` is used (Docker, Apache tarball).
#                     Locally: "<repo>/.local/hadoop/lib/*".
#   HADOOP_CONF_DIR   dir with core-site.xml, hdfs-site.xml, log4j.properties
#                     (default: the conf/ dir next to this script).
#   HDFS_DATA_DIR     block storage dir (default /data/hdfs/dn).
#   HDFS_NN_HOST      NameNode host (default boss); the DataNode registers with
#                     hdfs://$HDFS_NN_HOST:$HDFS_NN_RPC_PORT.
#   HDFS_NN_RPC_PORT  NameNode RPC port (default 9000).
#   HDFS_DN_HOSTNAME  dfs.datanode.hostname: the name the NameNode hands out to
#                     clients (`hosts` in GETFILEBLOCKLOCATIONS). Default unset:
#                     the machine's hostname (in Docker the container id).
#   HDFS_DN_BIND      bind address of the DataNode servers (default 0.0.0.0).
#   HDFS_DN_XFER_PORT data transfer port (default 9866).
#   HDFS_DN_HTTP_PORT HTTP port (default 9864).
#   HDFS_DN_IPC_PORT  IPC port (default 9867).
#   HDFS_PROFILE      contract (default; heartbeat every 3 s) or fast (every 1 s).
#   HDFS_HEAP         max heap (default 256m).
#   HDFS_JAVA_OPTS    extra JVM options (appended).
#   HDFS_LOGGER       hadoop.root.logger (default INFO,console).
#   JAVA              java binary (default: $JAVA_HOME/bin/java, else java).
# Extra arguments are passed to the DataNode as generic options (-D k=v ...).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HDFS_HEAP="${HDFS_HEAP:-256m}"
# shellcheck source=docker/hadoop/jvm-common.sh
. "$here/jvm-common.sh"

HDFS_DATA_DIR="${HDFS_DATA_DIR:-/data/hdfs/dn}"
HDFS_NN_HOST="${HDFS_NN_HOST:-boss}"
HDFS_NN_RPC_PORT="${HDFS_NN_RPC_PORT:-9000}"
HDFS_DN_BIND="${HDFS_DN_BIND:-0.0.0.0}"
HDFS_DN_XFER_PORT="${HDFS_DN_XFER_PORT:-9866}"
HDFS_DN_HTTP_PORT="${HDFS_DN_HTTP_PORT:-9864}"
HDFS_DN_IPC_PORT="${HDFS_DN_IPC_PORT:-9867}"

dn_opts=(
  -D "fs.defaultFS=hdfs://${HDFS_NN_HOST}:${HDFS_NN_RPC_PORT}"
  -D "dfs.datanode.data.dir=file://${HDFS_DATA_DIR}"
  -D "dfs.datanode.address=${HDFS_DN_BIND}:${HDFS_DN_XFER_PORT}"
  -D "dfs.datanode.http.address=${HDFS_DN_BIND}:${HDFS_DN_HTTP_PORT}"
  -D "dfs.datanode.ipc.address=${HDFS_DN_BIND}:${HDFS_DN_IPC_PORT}"
)
if [ -n "${HDFS_DN_HOSTNAME:-}" ]; then
  dn_opts+=(-D "dfs.datanode.hostname=${HDFS_DN_HOSTNAME}")
fi
dn_opts+=("${HDFS_PROFILE_OPTS[@]}" "$@")

mkdir -p "$HDFS_DATA_DIR"
echo "start-datanode.sh: DataNode profile=$HDFS_PROFILE nn=hdfs://${HDFS_NN_HOST}:${HDFS_NN_RPC_PORT} hostname=${HDFS_DN_HOSTNAME:-<default>} xfer=${HDFS_DN_BIND}:${HDFS_DN_XFER_PORT} data.dir=$HDFS_DATA_DIR" >&2
exec "$JAVA" "${HDFS_JVM_OPTS[@]}" -Dlender.hdfs.role=datanode \
  org.apache.hadoop.hdfs.server.datanode.DataNode "${dn_opts[@]}"
