#!/usr/bin/env bash
# The `hdfs` (and `hadoop`) command for a Hadoop made of Maven Central jars, which has no
# bin/hdfs: each subcommand users and tests need is a main class on the jars' classpath.
# Used by dev/cluster.sh (`dev/cluster.sh hdfs ...`) and by p4-hdfs built with
# HADOOP_SOURCE=maven (installed there as /opt/hadoop/bin/hdfs and bin/hadoop); the Apache
# tarball brings its own bin/hdfs instead.
#
#   hdfs-cli.sh dfs|dfsadmin|fsck|getconf|version|classpath [ARGS...]
#
# Environment: HADOOP_CP (the jars; required), HADOOP_CONF_DIR (default: conf/ next to this
# script), HADOOP_ROOT_LOGGER (default WARN,console), JAVA / JAVA_HOME.
set -euo pipefail

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
sub="${1:-}"
[ $# -gt 0 ] && shift
case "$sub" in
  dfs) cls=org.apache.hadoop.fs.FsShell ;;
  dfsadmin) cls=org.apache.hadoop.hdfs.tools.DFSAdmin ;;
  fsck) cls=org.apache.hadoop.hdfs.tools.DFSck ;;
  getconf) cls=org.apache.hadoop.hdfs.tools.GetConf ;;
  version) cls=org.apache.hadoop.util.VersionInfo ;;
  classpath)
    [ -n "${HADOOP_CP:-}" ] || { echo "hdfs-cli.sh: HADOOP_CP is not set" >&2; exit 2; }
    echo "$HADOOP_CP"; exit 0 ;;
  *) echo "usage: hdfs dfs|dfsadmin|fsck|getconf|version|classpath [ARGS...]" >&2; exit 2 ;;
esac
[ -n "${HADOOP_CP:-}" ] || { echo "hdfs-cli.sh: set HADOOP_CP to the Hadoop jars" >&2; exit 2; }

HDFS_HEAP="${HDFS_CLI_HEAP:-256m}"
HDFS_LOGGER="${HADOOP_ROOT_LOGGER:-WARN,console}"
# shellcheck source=docker/hadoop/jvm-common.sh
. "$here/jvm-common.sh"
exec "$JAVA" "${HDFS_JVM_OPTS[@]}" -Xshare:auto "$cls" "$@"
