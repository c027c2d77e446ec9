#!/usr/bin/env bash
# Start an HDFS NameNode (Hadoop 3.3.6) in the foreground: formats the name dir
# first if needed, then `exec`s java so that the caller (docker, or
# dev/cluster.sh with `&`) owns the process. Runs java directly (the Hadoop
# shell scripts refuse to run daemons as root).
#
# Environment (all optional):
#   HADOOP_CP         classpath of the Hadoop jars. If unset and `hadoop` is on
#                     PATH, `hadoop classpath` is used (Docker, Apache tarball).
#                     Locally: "<repo>/.local/hadoop/lib/*".
#   HADOOP_CONF_DIR   dir with core-site.xml, hdfs-site.xml, log4j.properties
#                     (default: the conf/ dir next to this script).
#   HDFS_NAME_DIR     NameNode metadata dir (default /data/hdfs/nn).
#   HDFS_FORMAT       auto  = format only if HDFS_NAME_DIR is not formatted (default)
#                     force = wipe HDFS_NAME_DIR and format fresh
#                     never = never format (fail if not formatted)
#   HDFS_NN_HOST      host clients use for the NameNode RPC address, i.e.
#                     fs.defaultFS=hdfs://$HDFS_NN_HOST:$HDFS_NN_RPC_PORT
#                     (default boss; the NameNode itself binds 0.0.0.0).
#   HDFS_NN_RPC_PORT  RPC port (default 9000).
#   HDFS_NN_HTTP_PORT HTTP/WebHDFS port (default 9870, bound on 0.0.0.0).
#   HDFS_PROFILE      liveness timing: contract (default; stale 10 s, recheck
#                     30 s, heartbeat 3 s: dead after ~90 s) or fast (stale 3 s,
#                     recheck 1 s, heartbeat 1 s: dead after ~12-17 s).
#   HDFS_HEAP         max heap (default 384m).
#   HDFS_JAVA_OPTS    extra JVM options (appended).
#   HDFS_LOGGER       hadoop.root.logger (default INFO,console).
#   JAVA              java binary (default: $JAVA_HOME/bin/java, else java).
# Extra arguments are passed to the NameNode as generic options (-D k=v ...).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HDFS_HEAP="${HDFS_HEAP:-384m}"
# shellcheck source=docker/hadoop/jvm-common.sh
. "$here/jvm-common.sh"

HDFS_NAME_DIR="${HDFS_NAME_DIR:-/data/hdfs/nn}"
HDFS_FORMAT="${HDFS_FORMAT:-auto}"
HDFS_NN_HOST="${HDFS_NN_HOST:-boss}"
HDFS_NN_RPC_PORT="${HDFS_NN_RPC_PORT:-9000}"
HDFS_NN_HTTP_PORT="${HDFS_NN_HTTP_PORT:-9870}"

nn_opts=(
  -D "fs.defaultFS=hdfs://${HDFS_NN_HOST}:${HDFS_NN_RPC_PORT}"
  -D "dfs.namenode.name.dir=file://${HDFS_NAME_DIR}"
  -D "dfs.namenode.http-address=0.0.0.0:${HDFS_NN_HTTP_PORT}"
  "${HDFS_PROFILE_OPTS[@]}"
  "$@"
)

formatted() { [ -f "$HDFS_NAME_DIR/current/VERSION" ]; }
# Empties the name dir but keeps the directory itself: in the image it is a volume's mount
# point, which cannot be removed or renamed ("Device or resource busy").
empty_name_dir() { mkdir -p "$HDFS_NAME_DIR" && find "$HDFS_NAME_DIR" -mindepth 1 -delete; }

case "$HDFS_FORMAT" in
  force) empty_name_dir ;;
  auto|never) ;;
  *) echo "start-namenode.sh: HDFS_FORMAT must be auto, force or never (got '$HDFS_FORMAT')" >&2; exit 2 ;;
esac

if ! formatted; then
  if [ "$HDFS_FORMAT" = never ]; then
    echo "start-namenode.sh: $HDFS_NAME_DIR is not formatted and HDFS_FORMAT=never" >&2; exit 1
  fi
  # Format into a scratch dir inside the name dir (same file system) and rename its
  # current/ into place, so that an interrupted format never leaves a name dir that
  # looks formatted (current/VERSION) behind.
  empty_name_dir
  tmp="${HDFS_NAME_DIR%/}/.formatting"
  echo "start-namenode.sh: formatting $HDFS_NAME_DIR" >&2
  "$JAVA" "${HDFS_JVM_OPTS[@]}" -Dlender.hdfs.role=namenode-format \
    org.apache.hadoop.hdfs.server.namenode.NameNode \
    "${nn_opts[@]}" -D "dfs.namenode.name.dir=file://${tmp}" \
    -format -force -nonInteractive -clusterid lender-hdfs
  mv "$tmp/current" "$HDFS_NAME_DIR/current"
  rm -rf "$tmp"
fi

echo "start-namenode.sh: NameNode profile=$HDFS_PROFILE fs.defaultFS=hdfs://${HDFS_NN_HOST}:${HDFS_NN_RPC_PORT} http=0.0.0.0:${HDFS_NN_HTTP_PORT} name.dir=$HDFS_NAME_DIR" >&2
exec "$JAVA" "${HDFS_JVM_OPTS[@]}" -Dlender.hdfs.role=namenode \
  org.apache.hadoop.hdfs.server.namenode.NameNode "${nn_opts[@]}"
