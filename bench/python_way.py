#!/usr/bin/env python3
"""The Python way: the same three calls as the lender service, written the way a competent
Python user would, with pandas + pyarrow + a MySQL client, and HDFS through the `hdfs-native`
Python package (the JNI libhdfs that pyarrow.fs.HadoopFileSystem needs is not available here).

It is the reference the benchmark compares the Rust service with, so it is kept plain and
idiomatic, with no tuning a typical user would not do:

  * DbToHdfs: `pandas.read_sql` of the export's query (src/export_query.sql) with
    `ORDER BY loans.county_code, loans.lei` appended (the whole result in memory),
    `pyarrow.Table.from_pandas`, `pyarrow.parquet.write_table` straight into an HDFS file
    (replication 2, 1 MiB blocks).
  * CalcAvgLoan: if the county's partition file exists, read it (`reuse`); if not, read the big
    file with a filter on county_code, write the partition file (replication 1) and average
    (`create`); if reading the partition fails (its only DataNode died), build it again
    (`recreate`). Like the service, the average is the floor of the mean.

It writes only under /bench/python/ so it never touches the service's files.

    python3 bench/python_way.py export             # one DbToHdfs, prints a JSON line
    python3 bench/python_way.py avg 55001 [...]    # CalcAvgLoan per county, a JSON line each
    python3 bench/python_way.py worker             # a warm process: JSON requests on stdin

with PYTHONPATH=.local/py:pylib (bench/measure.py's runs inherit it from the bench recipes).
"""
import json
import os
import resource
import sys
import time

import lenderdev as dev
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy
from hdfs_native import Client, WriteOptions

# The export's query (src/export_query.sql), ordered by county as a Python user would write it
# to get a file clustered for county reads (the server clusters the rows itself).
EXPORT_QUERY = dev.export_query(ordered=True)
MYSQL_URL = dev.mysql_url("mysql+pymysql")
HDFS_URL = dev.hdfs_url()
BASE = os.environ.get("BENCH_PYTHON_BASE", "/bench/python")
BIG = f"{BASE}/hdma-wi-2021.parquet"
PARTITIONS = f"{BASE}/partitions"
MiB = 1 << 20


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def db_to_hdfs(client):
    engine = sqlalchemy.create_engine(MYSQL_URL)
    df = pd.read_sql(EXPORT_QUERY, engine)
    table = pa.Table.from_pandas(df, preserve_index=False)
    options = WriteOptions(replication=2, block_size=MiB, overwrite=True, create_parent=True)
    with client.create(BIG, options) as f:
        pq.write_table(table, f)
    return len(df)


def _with_retries(action, attempts=3):
    # What a careful user adds around HDFS calls: a DataNode that just died can fail one write.
    for attempt in range(attempts):
        try:
            return action()
        except Exception:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)


def _create_partition(client, county, path):
    def read():
        with client.read(BIG) as f:
            return pq.read_table(f, filters=[("county_code", "==", county)])
    table = _with_retries(read)

    def write():
        options = WriteOptions(replication=1, overwrite=True, create_parent=True)
        with client.create(path, options) as f:
            pq.write_table(table, f)
    _with_retries(write)
    return table


def calc_avg_loan(client, county):
    path = f"{PARTITIONS}/{county}.parquet"
    try:
        with client.read(path) as f:
            table = pq.read_table(f)
        source = "reuse"
    except FileNotFoundError:
        table = _create_partition(client, county, path)
        source = "create"
    except Exception:  # the file exists but cannot be read: its DataNode is gone
        table = _create_partition(client, county, path)
        source = "recreate"
    amounts = table.column("loan_amount").to_pandas()
    return int(amounts.mean() // 1), source


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    client = Client(HDFS_URL)
    if cmd == "export":
        start = time.perf_counter()
        rows = db_to_hdfs(client)
        seconds = time.perf_counter() - start
        print(json.dumps({"rows": rows, "seconds": seconds, "bytes": client.get_file_info(BIG).length,
                          "blocks": dev.block_count(BIG), "peak_rss_mib": peak_rss_mib()}), flush=True)
    elif cmd == "avg":
        for county in argv[2:]:
            start = time.perf_counter()
            avg, source = calc_avg_loan(client, int(county))
            print(json.dumps({"county": int(county), "avg": avg, "source": source,
                              "seconds": time.perf_counter() - start}), flush=True)
    elif cmd == "worker":
        # A warm process (as a server would be): one JSON request per line on stdin.
        for line in sys.stdin:
            req = json.loads(line)
            start = time.perf_counter()
            try:
                if req["op"] == "avg":
                    avg, source = calc_avg_loan(client, int(req["county"]))
                    reply = {"avg": avg, "source": source}
                elif req["op"] == "read":  # floor helper: the file's bytes, nothing else
                    with client.read(req["path"]) as f:
                        reply = {"bytes": len(f.read())}
                elif req["op"] == "rss":
                    reply = {}
                else:
                    reply = {"error": f"unknown op {req['op']}"}
            except Exception as e:  # noqa: BLE001 - reported to the caller
                reply = {"error": f"{type(e).__name__}: {e}"}
            reply.update(seconds=time.perf_counter() - start, peak_rss_mib=peak_rss_mib())
            print(json.dumps(reply), flush=True)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
