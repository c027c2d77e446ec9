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
# ---- common part (kept identical in start-namenode.sh and start-datanode.sh) ----
HADOOP_CONF_DIR="${HADOOP_CONF_DIR:-$here/conf}"
if [ -z "${HADOOP_CP:-}" ]; then
  if command -v hadoop >/dev/null 2>&1; then
    HADOOP_CP="$(hadoop classpath)"
  else
    echo "$0: set HADOOP_CP to the Hadoop jars (or put \`hadoop\` on PATH)" >&2; exit 2
  fi
fi
if [ -n "${JAVA:-}" ]; then :
elif [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then JAVA="$JAVA_HOME/bin/java"
else JAVA=java; fi
HDFS_PROFILE="${HDFS_PROFILE:-contract}"
case "$HDFS_PROFILE" in
  # dead after 2 x recheck + 10 x heartbeat: contract 2x30+10x3 = 90 s, fast 2x1+10x1 = 12 s
  contract) HDFS_PROFILE_OPTS=(-D dfs.heartbeat.interval=3 -D dfs.namenode.heartbeat.recheck-interval=30000
                               -D dfs.namenode.stale.datanode.interval=10000) ;;
  fast)     HDFS_PROFILE_OPTS=(-D dfs.heartbeat.interval=1 -D dfs.namenode.heartbeat.recheck-interval=1000
                               -D dfs.namenode.stale.datanode.interval=3000) ;;
  *) echo "$0: HDFS_PROFILE must be contract or fast (got '$HDFS_PROFILE')" >&2; exit 2 ;;
esac
# JDK 17: Hadoop 3.3.6 reflects into java.base (HADOOP-19310); ignored on JDK 8.
HDFS_JVM_OPTS=(
  "-Xmx${HDFS_HEAP}" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+IgnoreUnrecognizedVMOptions
  -Djava.net.preferIPv4Stack=true
  "-Dhadoop.root.logger=${HDFS_LOGGER:-INFO,console}"
  "-Dlog4j.configuration=file:${HADOOP_CONF_DIR}/log4j.properties"
)
for p in java.io java.lang java.lang.reflect java.math java.net java.text java.util \
         java.util.concurrent java.util.zip sun.security.util sun.security.x509; do
  HDFS_JVM_OPTS+=("--add-opens=java.base/$p=ALL-UNNAMED")
done
# shellcheck disable=SC2206  # HDFS_JAVA_OPTS is a space-separated option list
HDFS_JVM_OPTS+=(${HDFS_JAVA_OPTS:-} -cp "${HADOOP_CONF_DIR}:${HADOOP_CP}")
export HADOOP_CONF_DIR
# ---- end of common part ----

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

case "$HDFS_FORMAT" in
  force) rm -rf "$HDFS_NAME_DIR" ;;
  auto|never) ;;
  *) echo "start-namenode.sh: HDFS_FORMAT must be auto, force or never (got '$HDFS_FORMAT')" >&2; exit 2 ;;
esac

if ! formatted; then
  if [ "$HDFS_FORMAT" = never ]; then
    echo "start-namenode.sh: $HDFS_NAME_DIR is not formatted and HDFS_FORMAT=never" >&2; exit 1
  fi
  # Format into a scratch dir and move it in place, so that an interrupted
  # format never leaves a half-formatted name dir behind.
  tmp="${HDFS_NAME_DIR%/}.formatting"
  rm -rf "$tmp" "$HDFS_NAME_DIR"
  mkdir -p "$(dirname "$HDFS_NAME_DIR")"
  echo "start-namenode.sh: formatting $HDFS_NAME_DIR" >&2
  "$JAVA" "${HDFS_JVM_OPTS[@]}" -Dlender.hdfs.role=namenode-format \
    org.apache.hadoop.hdfs.server.namenode.NameNode \
    "${nn_opts[@]}" -D "dfs.namenode.name.dir=file://${tmp}" \
    -format -force -nonInteractive -clusterid lender-hdfs
  mv "$tmp" "$HDFS_NAME_DIR"
fi

echo "start-namenode.sh: NameNode profile=$HDFS_PROFILE fs.defaultFS=hdfs://${HDFS_NN_HOST}:${HDFS_NN_RPC_PORT} http=0.0.0.0:${HDFS_NN_HTTP_PORT} name.dir=$HDFS_NAME_DIR" >&2
exec "$JAVA" "${HDFS_JVM_OPTS[@]}" -Dlender.hdfs.role=namenode \
  org.apache.hadoop.hdfs.server.namenode.NameNode "${nn_opts[@]}"
