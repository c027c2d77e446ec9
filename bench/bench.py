#!/usr/bin/env python3
"""Benchmark of the lender service side by side with the physical floors, a peer (ConnectorX) and
the Python way.

    python3 bench/bench.py                 # full run at 1x data (restarts the server, kills DataNodes)
    python3 bench/bench.py --quick         # smoke variant: 1 repetition, 2 counties, no kills/restarts
    python3 bench/bench.py --scale 10      # DbToHdfs at 10x data (lender, the peer, the Python way),
                                           # merged into the latest full 1x result; restores the 1x data
    python3 bench/bench.py --recovery      # time to correct answers after a DataNode kill / cut in
                                           # both NameNode profiles, merged into the latest full result
    python3 bench/bench.py --render FILE   # rewrite BENCHMARKS.md and the plots from a result file

each with PYTHONPATH=.local/py:pylib (the Justfile's `pythonpath`, which `just bench` and the other
bench recipes set; the programs it starts inherit it).
Runs against the local cluster and server (dev/cluster.sh, dev/mysql.sh, dev/serve.sh; endpoints
and credentials from their `env` output, through pylib/lenderdev.py). Results go to
<out>/<date>-<label>.json (default out: bench/results); a full run also writes BENCHMARKS.md and the
PNG plots. Every figure is a median of the repetitions unless its name says otherwise. The cluster
is always left with 3 live DataNodes (a killed DataNode is restored in a finally block).

bench/measure.py holds the measurements, bench/report.py the targets, plots and Markdown.
"""
import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import measure
import report

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke variant: 1 rep, 2 counties, no kills/restarts/10x")
    ap.add_argument("--scale", type=int, default=1,
                    help="10: the 10x DbToHdfs part, merged into the latest full result")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"), help="directory for the JSON (and plots)")
    ap.add_argument("--label", default=None, help="label in the file name (default: full/quick/x10)")
    ap.add_argument("--reps", type=int, default=5, help="repetitions for DbToHdfs, the peer and the floors")
    ap.add_argument("--create-reps", type=int, default=3)
    ap.add_argument("--reuse-reps", type=int, default=20)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per throughput level")
    ap.add_argument("--python-rss-limit-mib", type=float, default=12 * 1024,
                    help="kill the Python way's (and the peer's) export beyond this RSS (the machine has 24 GiB)")
    ap.add_argument("--recovery", action="store_true",
                    help="time to correct answers after DataNode failures, merged into the latest full result")
    ap.add_argument("--render", metavar="JSON", help="only rewrite BENCHMARKS.md and the plots from a result file")
    ap.add_argument("--markdown", metavar="MD", default=str(ROOT / "BENCHMARKS.md"),
                    help="where --render and a full run write the Markdown (default: BENCHMARKS.md)")
    args = ap.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.render:
        report.render(args.render, md_path=args.markdown)
        return 0
    day = dt.date.today().isoformat()
    if args.recovery:
        rec = measure.run_recovery()
        (out_dir / f"{day}-recovery.json").write_text(json.dumps(rec, indent=1))
        report.merge_into_latest_full(out_dir, "recovery", rec, log=measure.log)
        print(json.dumps(rec, indent=1))
        return 0
    if args.scale != 1:
        args.label = args.label or f"x{args.scale}"
        x = measure.run_10x(args)
        (out_dir / f"{day}-{args.label}.json").write_text(json.dumps(x, indent=1))
        report.merge_into_latest_full(out_dir, f"scale_{args.scale}", x, log=measure.log)
        print(json.dumps(x, indent=1))
        return 0
    args.label = args.label or ("quick" if args.quick else "full")
    result = measure.run_1x(args)
    result["config"].update(create_reps=1 if args.quick else args.create_reps,
                            reuse_reps=3 if args.quick else args.reuse_reps,
                            throughput_seconds=1.0 if args.quick else args.duration)
    result["targets"] = report.TARGETS
    result["targets_status"] = report.evaluate(result)
    path = out_dir / f"{day}-{args.label}.json"
    path.write_text(json.dumps(result, indent=1))
    files = report.plots(result, out_dir)
    if not args.quick:
        Path(args.markdown).write_text(report.markdown(result, files, path))
    measure.log(f"results: {path}")
    for t in result["targets_status"]:
        status = "MET   " if t["met"] else "MISSED" if t["met"] is not None else "n/a   "
        measure.log(f"  {status} {t['target']}: {t['text']} (target {t['goal']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
