# p4-dn: an HDFS DataNode, registering with hdfs://boss:9000. Compose runs 3 replicas; each
# one's hostname is its container id, which is the name the NameNode hands out in block
# locations (dfs.datanode.hostname is left unset).
#
#   docker build . -f docker/datanode.Dockerfile -t p4-dn
#
# Runs docker/hadoop/start-datanode.sh (the script dev/cluster.sh runs locally), which execs
# java in the foreground. Heartbeat every 3 s (contract profile). Heap 256 MiB, within the
# 1 GiB limit.

# p4-hdfs is the image built by the previous step (docker/hdfs.Dockerfile), untagged on purpose
# hadolint ignore=DL3006
FROM p4-hdfs

ENV HDFS_PROFILE=contract \
    HDFS_NN_HOST=boss \
    HDFS_NN_RPC_PORT=9000 \
    HDFS_DATA_DIR=/data/hdfs/dn \
    HDFS_HEAP=256m

# An anonymous volume per replica: kept when compose recreates the container, new after
# `compose down`.
VOLUME /data/hdfs/dn
EXPOSE 9864 9866 9867

# The DataNode resolves the NameNode's address once, at start: wait until `boss` resolves
# (compose may start the DataNodes before the NameNode's container is on the network).
CMD ["bash", "-c", "until getent ahosts \"$HDFS_NN_HOST\" >/dev/null; do echo \"waiting for $HDFS_NN_HOST to resolve\" >&2; sleep 1; done; exec /opt/lender/hadoop/start-datanode.sh"]
