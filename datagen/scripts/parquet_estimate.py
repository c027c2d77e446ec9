#!/usr/bin/env python3
"""Estimates the size of the exported Parquet file without the exporter.

Runs the DbToHdfs query (loans INNER JOIN loan_types, 30000 < loan_amount < 800000) against the
local MariaDB (dev/mysql.sh up) with the `mariadb` CLI, builds an Arrow table whose column types
follow the MySQL column types (INT -> int32, BIGINT -> int64, DOUBLE -> float64,
DECIMAL(p,s) -> decimal128(p,s), VARCHAR/TEXT -> string), sorts it by county_code and writes it
with snappy compression (pyarrow defaults otherwise). Prints the size.

    python3 datagen/scripts/parquet_estimate.py [--out /tmp/estimate.parquet]

Needs pyarrow (pip install pyarrow).
"""
import argparse
import io
import os
import subprocess
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT_CNF = os.path.join(ROOT, ".local", "mysql", "client.cnf")


def mariadb(sql):
    return subprocess.run(
        ["mariadb", f"--defaults-file={CLIENT_CNF}", "--database=CS544", "--batch", "--skip-column-names", "-e", sql],
        check=True, capture_output=True,
    ).stdout


def arrow_type(data_type, precision, scale):
    t = data_type.lower()
    if t in ("tinyint", "smallint", "mediumint", "int"):
        return pa.int32()
    if t == "bigint":
        return pa.int64()
    if t in ("double", "float"):
        return pa.float64()
    if t == "decimal":
        return pa.decimal128(int(precision), int(scale))
    return pa.string()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/hdma-wi-2021.estimate.parquet")
    ap.add_argument("--no-sort", action="store_true", help="keep the query's row order (the table's order)")
    ap.add_argument("-v", action="store_true", help="print the compressed size of every column")
    args = ap.parse_args()
    cols = []
    for line in mariadb(
        "SELECT column_name, data_type, IFNULL(numeric_precision,0), IFNULL(numeric_scale,0) "
        "FROM information_schema.columns WHERE table_schema='CS544' AND table_name='loans' ORDER BY ordinal_position"
    ).decode().splitlines():
        name, dt, p, s = line.split("\t")
        cols.append((name, arrow_type(dt, p, s)))
    cols.append(("loan_type_name", pa.string()))
    t0 = time.time()
    raw = mariadb(
        "SELECT loans.*, loan_types.loan_type_name FROM loans "
        "INNER JOIN loan_types ON loans.loan_type_id = loan_types.id "
        "WHERE loans.loan_amount > 30000 AND loans.loan_amount < 800000"
    )
    t1 = time.time()
    table = pcsv.read_csv(
        io.BytesIO(raw),
        read_options=pcsv.ReadOptions(column_names=[c[0] for c in cols], block_size=1 << 26),
        parse_options=pcsv.ParseOptions(delimiter="\t", quote_char=False, escape_char="\\"),
        convert_options=pcsv.ConvertOptions(
            column_types={n: t for n, t in cols}, null_values=["NULL"], strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    if not args.no_sort:
        # stable sort: rows of one county keep the table's order
        idx = pc.sort_indices(table, sort_keys=[("county_code", "ascending", "at_end")])
        table = table.take(idx)
    pq.write_table(table, args.out, compression="snappy")
    size = os.path.getsize(args.out)
    print(f"rows {table.num_rows}, columns {table.num_columns}, query {t1 - t0:.1f} s")
    order = "table order" if args.no_sort else "sorted by county_code"
    print(f"parquet (snappy, {order}): {size} bytes = {size / 1048576:.2f} MiB -> {args.out}")
    md = pq.ParquetFile(args.out).metadata
    per = {}
    for rg in range(md.num_row_groups):
        for c in range(md.num_columns):
            col = md.row_group(rg).column(c)
            per[col.path_in_schema] = per.get(col.path_in_schema, 0) + col.total_compressed_size
    if args.v or os.environ.get("VERBOSE"):
        for name, b in sorted(per.items(), key=lambda x: -x[1]):
            print(f"  {b / 1024:9.1f} KiB  {name}")


if __name__ == "__main__":
    main()
