# p4-server: the lender gRPC server (port 5000), client.py at /client.py with its generated
# gRPC modules beside it, and the hdfs CLI (from p4-hdfs; fs.defaultFS is hdfs://boss:9000).
#
#   docker build . -f docker/server.Dockerfile -t p4-server
#
# The server's defaults are the compose deployment's (src/config.rs): listen 0.0.0.0:5000,
# mysql://root:abc@mysql:3306/CS544, hdfs://boss:9000, http://boss:9870, job store
# /var/lib/lender/lender.redb. No protoc needed: build.rs compiles the protos with protox.

FROM rust:1-bookworm AS build
WORKDIR /src
# The workspace: the server package, plus datagen because the workspace lists it.
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto/ proto/
COPY src/ src/
COPY datagen/ datagen/
RUN cargo build --release --locked --bin lender

# p4-hdfs is the image built by the first step (docker/hdfs.Dockerfile), untagged on purpose
# hadolint ignore=DL3006
FROM p4-hdfs

RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-pip \
 && rm -rf /var/lib/apt/lists/*

# grpcio (for client.py) and grpcio-tools (generates its modules), into the system Python so
# that every `python3` finds them. Debian's pip installs into /usr/local and leaves the
# packages of the distribution alone.
COPY docker/server/requirements.txt docker/server/gen-client.sh /opt/lender/server/
RUN pip3 install --no-cache-dir --break-system-packages --root-user-action=ignore \
      -r /opt/lender/server/requirements.txt

# lender_pb2.py and lender_pb2_grpc.py next to /client.py, generated from the lender.proto
# the server is built from (whatever proto/lender.proto is at build time).
COPY proto/lender.proto /opt/lender/server/
RUN sh /opt/lender/server/gen-client.sh /opt/lender/server/lender.proto / \
 && python3 -c "import sys; sys.path.insert(0, '/'); import grpc, lender_pb2, lender_pb2_grpc"
COPY client.py /client.py

COPY --from=build /src/target/release/lender /usr/local/bin/lender

# MySQL loads the dump at its first start (a few minutes) with networking off: let the first
# DbToHdfs wait for it longer than the server's default 180 s.
ENV LENDER_MYSQL_WAIT_SECS=900
# The job store: an anonymous volume, kept when compose recreates the container.
VOLUME /var/lib/lender
EXPOSE 5000
CMD ["lender", "serve"]
