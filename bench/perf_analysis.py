#!/usr/bin/env python3
"""The users' familiar performance check: delete /partitions, then time CalcAvgLoan `create`
(first call per county) and `reuse` (second call) through client.py for five counties, and write
outputs/performance_results.csv (`operation,time` rows, average seconds) and
outputs/performance_analysis.png (bar chart).

    python3 bench/perf_analysis.py            # the local cluster (server: dev/serve.sh env)
    python3 bench/perf_analysis.py --docker   # the Compose deployment (docker exec p4-server-1 ...)

with PYTHONPATH=.local/py:pylib (`just perf-analysis` sets it).

Times are wall seconds of each client.py invocation, as a user running the command sees them
(including the client's Python start-up, and `docker exec` in Docker mode).
"""
import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import lenderdev as dev

ROOT = Path(__file__).resolve().parents[1]

COUNTIES = [55001, 55003, 55027, 55059, 55133]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docker", action="store_true", help="run against the Docker deployment")
    ap.add_argument("--project", default=os.environ.get("PROJECT", "p4"), help="Compose project (default p4)")
    ap.add_argument("--out", default=str(ROOT / "outputs"))
    args = ap.parse_args(argv)

    if args.docker:
        def delete_partitions():
            subprocess.run(["docker", "exec", f"{args.project}-nn-1", "hdfs", "dfs", "-rm", "-r", "-f",
                            "-skipTrash", "hdfs://boss:9000/partitions"], check=True, capture_output=True)
        client = ["docker", "exec", f"{args.project}-server-1", "python3", "/client.py"]
        env = None
    else:
        def delete_partitions():
            dev.delete(dev.PARTITIONS)
        client = [sys.executable, str(ROOT / "client.py")]
        env = dev.client_env()

    delete_partitions()
    times = {"create": [], "reuse": []}
    for county in COUNTIES:
        for expected in ("create", "reuse"):
            start = time.perf_counter()
            proc = subprocess.run([*client, "CalcAvgLoan", "-c", str(county)], capture_output=True,
                                  text=True, env=env, timeout=300)
            elapsed = time.perf_counter() - start
            lines = proc.stdout.split()
            if proc.returncode != 0 or len(lines) < 2:
                raise SystemExit(f"CalcAvgLoan {county} failed: {proc.stdout}{proc.stderr}")
            if lines[1] != expected:
                print(f"note: county {county} answered from {lines[1]!r}, expected {expected!r}", file=sys.stderr)
            times[expected].append(elapsed)
            print(f"{county} {lines[1]:8s} avg={lines[0]:>8s} {elapsed * 1000:8.1f} ms")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    averages = {op: sum(v) / len(v) for op, v in times.items()}
    with open(out / "performance_results.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["operation", "time"])
        for op in ("create", "reuse"):
            w.writerow([op, f"{averages[op]:.6f}"])

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 4))
    bars = ax.bar(list(averages), list(averages.values()), color=["C1", "C0"])
    ax.bar_label(bars, fmt="%.3f s")
    ax.set_ylabel("average time per CalcAvgLoan call (s)")
    ax.set_title(f"CalcAvgLoan through client.py ({'Docker' if args.docker else 'local'})\n"
                 f"counties {', '.join(map(str, COUNTIES))}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "performance_analysis.png", dpi=110)
    print(f"create {averages['create']:.3f} s, reuse {averages['reuse']:.3f} s -> "
          f"{out / 'performance_results.csv'}, {out / 'performance_analysis.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
