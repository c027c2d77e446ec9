# p4-hdfs: Java + Hadoop 3.3.6 with `hdfs`/`hadoop` on PATH, plus the project's one Hadoop
# config and start scripts (docker/hadoop/, shared with the local cluster dev/cluster.sh).
# Base of p4-nn, p4-dn and p4-server.
#
#   docker build . -f docker/hdfs.Dockerfile -t p4-hdfs
#
# Debian 12 with its OpenJDK 17: the OS, JVM and glibc the local cluster and the tests run on
# (the start scripts pass the --add-opens flags Hadoop 3.3.6 needs on JDK 17), and the glibc
# of the rust:1-bookworm stage that builds the server binary for p4-server.
FROM debian:bookworm-slim

ARG HADOOP_VERSION=3.3.6
# Tried in order: the CDN (fast, current releases only), then the archive (every release).
ARG HADOOP_MIRRORS="https://dlcdn.apache.org/hadoop/common https://archive.apache.org/dist/hadoop/common"

# default-java: a symlink to the JVM of the image's architecture (amd64, arm64, ...)
ENV JAVA_HOME=/usr/lib/jvm/default-java \
    HADOOP_HOME=/opt/hadoop \
    HADOOP_CONF_DIR=/opt/lender/hadoop/conf \
    HADOOP_ROOT_LOGGER=WARN,console \
    PATH=/opt/hadoop/bin:$PATH

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# man1: openjdk's postinst links its man pages there, and slim images do not have the directory
RUN mkdir -p /usr/share/man/man1 \
 && apt-get update \
 && apt-get install -y --no-install-recommends default-jre-headless curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# The release tarball, checked against the sha512 the Apache archive publishes next to it.
# share/doc (HTML docs) and share/hadoop/tools (distcp, S3/Azure connectors; not on the
# `hadoop classpath`) are dropped: about half of the unpacked size.
RUN tgz="hadoop-${HADOOP_VERSION}.tar.gz" \
 && for base in ${HADOOP_MIRRORS}; do \
      curl -fSL --retry 3 --connect-timeout 20 -o "/tmp/${tgz}" "${base}/hadoop-${HADOOP_VERSION}/${tgz}" && break; \
      rm -f "/tmp/${tgz}"; \
    done \
 && test -s "/tmp/${tgz}" \
 && curl -fsSL --retry 3 -o /tmp/hadoop.sha512 \
      "https://archive.apache.org/dist/hadoop/common/hadoop-${HADOOP_VERSION}/${tgz}.sha512" \
 && sum="$(tr -d ' \t\r\n' </tmp/hadoop.sha512 | grep -oiE '[0-9a-f]{128}' | head -n 1 | tr 'A-F' 'a-f')" \
 && test -n "${sum}" \
 && echo "${sum}  /tmp/${tgz}" | sha512sum -c - \
 && tar -xzf "/tmp/${tgz}" -C /opt --no-same-owner \
 && mv "/opt/hadoop-${HADOOP_VERSION}" /opt/hadoop \
 && rm -rf "/tmp/${tgz}" /tmp/hadoop.sha512 /opt/hadoop/share/doc /opt/hadoop/share/hadoop/tools \
 && hdfs version

COPY docker/hadoop/ /opt/lender/hadoop/
# executable and LF line endings even when the build context comes from a Windows checkout
RUN sed -i 's/\r$//' /opt/lender/hadoop/*.sh \
 && chmod 755 /opt/lender/hadoop/*.sh \
 && hdfs getconf -confKey fs.defaultFS
