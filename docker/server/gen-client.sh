#!/bin/sh
# Generates the client's gRPC modules lender_pb2.py and lender_pb2_grpc.py from a lender.proto
# (the same way in the p4-server image and in tests/test_docker_static.py).
#
#   gen-client.sh PROTO OUTDIR
#
# Needs python3 with grpcio-tools (docker/server/requirements.txt).
set -eu
[ $# -eq 2 ] || { echo "usage: gen-client.sh PROTO OUTDIR" >&2; exit 2; }
proto_dir=$(cd "$(dirname "$1")" && pwd)
proto_file=$(basename "$1")
mkdir -p "$2"
python3 -m grpc_tools.protoc -I"$proto_dir" --python_out="$2" --grpc_python_out="$2" "$proto_dir/$proto_file"
