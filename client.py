#!/usr/bin/env python3
"""Command-line client for the lender gRPC service (the contract's CLI).

    python3 client.py DbToHdfs
    python3 client.py BlockLocations -f <path>      # also --file
    python3 client.py CalcAvgLoan -c <county_code>  # also --code

Talks to server:5000 (the Compose service) unless --server or LENDER_SERVER says otherwise.
Needs the generated lender_pb2 / lender_pb2_grpc modules next to it (or on PYTHONPATH).
Exits non-zero when the server reports an error.
"""
import argparse
import os
import sys

import grpc
import lender_pb2
import lender_pb2_grpc


def main(argv=None):
    parser = argparse.ArgumentParser(description="lender client")
    parser.add_argument("--server", default=os.environ.get("LENDER_SERVER", "server:5000"),
                        help="host:port of the lender server (default server:5000)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("DbToHdfs", help="export the loans join from MySQL to HDFS")
    blocks = sub.add_parser("BlockLocations", help="blocks per DataNode of an HDFS file")
    blocks.add_argument("-f", "--file", required=True, help="HDFS path, e.g. /hdma-wi-2021.parquet")
    avg = sub.add_parser("CalcAvgLoan", help="average loan of a county")
    avg.add_argument("-c", "--code", type=int, required=True, help="county FIPS code, e.g. 55001")
    args = parser.parse_args(argv)

    with grpc.insecure_channel(args.server) as channel:
        stub = lender_pb2_grpc.LenderStub(channel)
        try:
            return run(stub, args)
        except grpc.RpcError as e:
            print(f"error: {e.code().name}: {e.details()}")
            return 2


def run(stub, args):
    if args.command == "DbToHdfs":
        status = stub.DbToHdfs(lender_pb2.Empty()).status
        print(status)
        return 1 if status.startswith("error") else 0
    if args.command == "BlockLocations":
        resp = stub.BlockLocations(lender_pb2.BlockLocationsReq(path=args.file))
        if resp.error:
            print(f"error: {resp.error}")
            return 1
        print(dict(resp.block_entries))
        return 0
    resp = stub.CalcAvgLoan(lender_pb2.CalcAvgLoanReq(county_code=args.code))
    if resp.error:
        print(f"error: {resp.error}")
        return 1
    print(resp.avg_loan)
    print(resp.source)
    return 0


if __name__ == "__main__":
    sys.exit(main())
