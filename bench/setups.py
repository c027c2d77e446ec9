"""The same few figures in each set-up the tests run in (README, "Tests"): floor (a), DbToHdfs,
CalcAvgLoan create and reuse, measured against whatever is running now (the cluster's profile,
the MySQL flavour of LENDER_MYSQL_FLAVOUR), so that set-ups compare in one table.

    PYTHONPATH=.local/py:pylib python3 bench/setups.py [--reps 3] [--counties 10]

`just bench-setups` starts each set-up in turn and runs this. Results are merged into
bench/results/setups.json, keyed by set-up; the table of every set-up measured is printed.
Figures are medians; these machines are shared, so compare set-ups measured the same day.
"""
import argparse
import datetime as dt
import json
from pathlib import Path

from measure import FLOOR_A_ARGS, calc, dev, lender_export, log, median, timed

RESULTS = Path(__file__).resolve().parent / "results" / "setups.json"


def setup_name():
    return f"{dev.hdfs_profile()} + {dev.mysql_flavour()}"


def measure(reps, n_counties):
    """{figure: seconds} for the running set-up; answers are checked against the SQL oracle."""
    floor = [timed(dev.mariadb_cmd(*FLOOR_A_ARGS, dev.export_query())) for _ in range(reps)]
    log(f"{setup_name()}: floor (a) median {median(floor):.2f} s")
    exports = [lender_export(setup_name(), i, reps)[0] for i in range(reps)]
    counties = dev.counties_by_rows(n_counties)
    truth = dev.oracle_averages(counties)
    dev.delete("/partitions")
    create, reuse = [], []
    for county in counties:
        for source, times in (("create", create), ("reuse", reuse)):
            seconds, reply, _, _ = calc(county)
            if (reply.error, reply.avg_loan, reply.source) != ("", truth[county][0], source):
                raise RuntimeError(f"CalcAvgLoan {county} in {setup_name()}: {reply}, oracle {truth[county]}")
            times.append(seconds)
    return {"date": dt.date.today().isoformat(), "floor_a_s": median(floor), "db_to_hdfs_s": median(exports),
            "create_ms": median(create) * 1000, "reuse_ms": median(reuse) * 1000,
            "reps": reps, "counties": len(counties)}


def table(results):
    lines = ["| set-up | date | floor (a) s | DbToHdfs s | DbToHdfs / floor (a) | create ms | reuse ms |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['date']} | {r['floor_a_s']:.2f} | {r['db_to_hdfs_s']:.2f} | "
                     f"{r['db_to_hdfs_s'] / r['floor_a_s']:.2f} | {r['create_ms']:.0f} | {r['reuse_ms']:.1f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="floor (a) runs and exports (medians)")
    parser.add_argument("--counties", type=int, default=10, help="the largest counties, created then reused")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[setup_name()] = measure(args.reps, args.counties)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
