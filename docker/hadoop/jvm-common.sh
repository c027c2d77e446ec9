# Shared by start-namenode.sh and start-datanode.sh (sourced, not run): resolves the
# config dir, the Hadoop classpath, java, the timing profile and the JVM options.
# Expects `here` (the scripts' directory) and HDFS_HEAP to be set.
# shellcheck shell=bash
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
# shellcheck disable=SC2034  # HDFS_PROFILE_OPTS is used by the scripts that source this file
case "$HDFS_PROFILE" in
  # dead after 2 x recheck + 10 x heartbeat: contract 2x30+10x3 = 90 s, fast 2x1+10x1 = 12 s
  contract) HDFS_PROFILE_OPTS=(-D dfs.heartbeat.interval=3 -D dfs.namenode.heartbeat.recheck-interval=30000
                               -D dfs.namenode.stale.datanode.interval=10000) ;;
  fast)     HDFS_PROFILE_OPTS=(-D dfs.heartbeat.interval=1 -D dfs.namenode.heartbeat.recheck-interval=1000
                               -D dfs.namenode.stale.datanode.interval=3000) ;;
  # the course's own NameNode flags, nothing else (run with conf-course: Hadoop's defaults)
  course)   HDFS_PROFILE_OPTS=(-D dfs.namenode.stale.datanode.interval=10000
                               -D dfs.namenode.heartbeat.recheck-interval=30000) ;;
  *) echo "$0: HDFS_PROFILE must be contract, fast or course (got '$HDFS_PROFILE')" >&2; exit 2 ;;
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
