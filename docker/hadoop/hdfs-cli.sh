#!/usr/bin/env bash
# The `hdfs` (and `hadoop`) command for a Hadoop made of Maven Central jars, which has no
# bin/hdfs: each subcommand users and tests need is a main class on the jars' classpath.
# Used by dev/cluster.sh (`dev/cluster.sh hdfs ...`) and by p4-hdfs built with
# HADOOP_SOURCE=maven (installed there as /opt/hadoop/bin/hdfs and bin/hadoop); the Apache
# tarball brings its own bin/hdfs instead.
#
#   hdfs-cli.sh dfs|dfsadmin|fsck|getconf|version|classpath [ARGS...]
#   hdfs-cli.sh namenode [-format] [GENERIC OPTIONS] | datanode [GENERIC OPTIONS]
#
# namenode and datanode run the daemon in the foreground (exec: the JVM becomes the caller's
# process, PID 1 in a container), logging INFO to the console as Apache's `hdfs namenode` does;
# both parse generic options (-D key=value, -fs URI) themselves. They exist for the course's
# container set of the container test (tests/containers/course/), whose p4-hdfs has this script
# as /hadoop-3.3.6/bin/hdfs; the local cluster and our images start the daemons with
# start-namenode.sh / start-datanode.sh.
#
# Environment: HADOOP_CP (the jars; required), HADOOP_CONF_DIR (default: conf/ next to this
# script), HADOOP_ROOT_LOGGER (default WARN,console; INFO,console for the daemons),
# HDFS_CLI_HEAP (default 256m), JAVA / JAVA_HOME.
# Installed as bin/hdfs of a Hadoop layout (a HADOOP_HOME, or this script's parent directory,
# holding etc/hadoop and share/hadoop, as the course's /hadoop-3.3.6 does), the two defaults are
# Apache's instead: HADOOP_CONF_DIR=$HADOOP_HOME/etc/hadoop, and the jars of
# $HADOOP_HOME/share/hadoop/common/lib as HADOOP_CP.
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
layout="${HADOOP_HOME:-$(dirname "$here")}"
if [ -d "$layout/etc/hadoop" ] && [ -d "$layout/share/hadoop/common/lib" ]; then
  HADOOP_CONF_DIR="${HADOOP_CONF_DIR:-$layout/etc/hadoop}"
  HADOOP_CP="${HADOOP_CP:-$layout/share/hadoop/common/lib/*}"
fi
sub="${1:-}"
[ $# -gt 0 ] && shift
daemon=
case "$sub" in
  namenode) cls=org.apache.hadoop.hdfs.server.namenode.NameNode; daemon=1 ;;
  datanode) cls=org.apache.hadoop.hdfs.server.datanode.DataNode; daemon=1 ;;
  dfs) cls=org.apache.hadoop.fs.FsShell ;;
  dfsadmin) cls=org.apache.hadoop.hdfs.tools.DFSAdmin ;;
  fsck) cls=org.apache.hadoop.hdfs.tools.DFSck ;;
  getconf) cls=org.apache.hadoop.hdfs.tools.GetConf ;;
  version) cls=org.apache.hadoop.util.VersionInfo ;;
  classpath)
    [ -n "${HADOOP_CP:-}" ] || { echo "hdfs-cli.sh: HADOOP_CP is not set" >&2; exit 2; }
    echo "$HADOOP_CP"; exit 0 ;;
  *) echo "usage: hdfs namenode|datanode|dfs|dfsadmin|fsck|getconf|version|classpath [ARGS...]" >&2; exit 2 ;;
esac
[ -n "${HADOOP_CP:-}" ] || { echo "hdfs-cli.sh: set HADOOP_CP to the Hadoop jars" >&2; exit 2; }

HDFS_HEAP="${HDFS_CLI_HEAP:-256m}"
if [ -n "$daemon" ]; then HDFS_LOGGER="${HADOOP_ROOT_LOGGER:-INFO,console}"
else HDFS_LOGGER="${HADOOP_ROOT_LOGGER:-WARN,console}"; fi
# shellcheck source=docker/hadoop/jvm-common.sh
. "$here/jvm-common.sh"
exec "$JAVA" "${HDFS_JVM_OPTS[@]}" -Xshare:auto "$cls" "$@"
