# p4-nn: the HDFS NameNode. The compose file gives the container the hostname `boss`;
# clients use hdfs://boss:9000 (RPC) and http://boss:9870 (HTTP/WebHDFS).
#
#   docker build . -f docker/namenode.Dockerfile -t p4-nn
#
# Runs docker/hadoop/start-namenode.sh (the script dev/cluster.sh runs locally): formats the
# name dir on first start, then execs java in the foreground (PID 1 of the container).
# Liveness timing: the contract profile (heartbeat 3 s, stale after 10 s, recheck 30 s: a
# killed DataNode is declared dead after ~90 s). Heap 384 MiB, within the 1 GiB limit.

# p4-hdfs is the image built by the previous step (docker/hdfs.Dockerfile), untagged on purpose
# hadolint ignore=DL3006
FROM p4-hdfs

ENV HDFS_PROFILE=contract \
    HDFS_NN_HOST=boss \
    HDFS_NN_RPC_PORT=9000 \
    HDFS_NN_HTTP_PORT=9870 \
    HDFS_NAME_DIR=/data/hdfs/nn \
    HDFS_HEAP=384m

# An anonymous volume: kept when compose recreates the container, new after `compose down`.
VOLUME /data/hdfs/nn
EXPOSE 9000 9870

CMD ["/opt/lender/hadoop/start-namenode.sh"]
