#!/usr/bin/env python3
"""The peer for DbToHdfs: the same export done with the fastest off-the-shelf Python pipeline,

    connectorx.read_sql(mysql_url, <export query>, return_type="arrow")   # Rust MySQL reader -> Arrow
    pyarrow.parquet.write_table(table, <local temp file>)                 # Parquet (pyarrow defaults)
    hdfs_native Client.create(path, replication 2, block size 1 MiB)      # upload to HDFS

The query is the export's own (src/export_query.sql, through pylib/lenderdev.py), the
connection settings those of the dev scripts. Writes only under /bench/ (default
/bench/peer/hdma-wi-2021.parquet). Prints one JSON line: rows, seconds (the pipeline, in
process), the three phases' seconds, the file's bytes and blocks as HDFS reports them
(WebHDFS GETFILESTATUS / GET_BLOCK_LOCATIONS), peak RSS of this process.

    PYTHONPATH=.local/py:pylib python3 bench/peers/connectorx_export.py [--path /bench/peer/x.parquet] [--delete]
"""
import argparse
import json
import os
import resource
import sys
import tempfile
import time

import connectorx as cx
import lenderdev as dev
import pyarrow.parquet as pq
from hdfs_native import Client, WriteOptions

DEFAULT_PATH = "/bench/peer/hdma-wi-2021.parquet"
CHUNK = 8 * dev.MiB


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def export(path):
    t0 = time.perf_counter()
    table = cx.read_sql(dev.mysql_url(), dev.export_query(), return_type="arrow")
    t1 = time.perf_counter()
    rows = table.num_rows
    fd, local = tempfile.mkstemp(prefix="lender-peer-", suffix=".parquet")
    os.close(fd)
    try:
        pq.write_table(table, local)
        del table
        t2 = time.perf_counter()
        options = WriteOptions(replication=2, block_size=dev.MiB, overwrite=True, create_parent=True)
        with open(local, "rb") as src, Client(dev.hdfs_url()).create(path, options) as dst:
            while chunk := src.read(CHUNK):
                dst.write(chunk)
        t3 = time.perf_counter()
    finally:
        os.unlink(local)
    return {"rows": rows, "seconds": t3 - t0, "read_seconds": t1 - t0, "parquet_seconds": t2 - t1,
            "upload_seconds": t3 - t2}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--path", default=DEFAULT_PATH, help=f"HDFS path to write (default {DEFAULT_PATH})")
    ap.add_argument("--delete", action="store_true", help="delete the file afterwards")
    args = ap.parse_args(argv)
    reply = export(args.path)
    reply.update(path=args.path, bytes=dev.file_length(args.path), blocks=dev.block_count(args.path),
                 replication=dev.file_status(args.path)["replication"], peak_rss_mib=peak_rss_mib(),
                 connectorx=cx.__version__)
    if args.delete:
        dev.delete(args.path)
    print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
