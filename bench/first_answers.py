"""The first answers after an export that changed every county: each county's rows change in
MySQL (every loan's activity_year moves by one, and back afterwards), DbToHdfs runs, then 16
clients ask every county at once; each county's first answer is a create. Prints the slowest
first answer, p50/p99, and the sources; every answer is checked against the SQL oracle. Goal
(issue 35): every county answered within 2 s.

    just bench-first-answers [profile] [flavour]   (or: PYTHONPATH=.local/py:pylib python3 bench/first_answers.py)

Against whatever is running now (`just dev-up ...` and `just dev-serve`); the figures merge into
bench/results/first_answers.json keyed by set-up and LENDER_PARTITION_WORKERS.
"""
import argparse
import concurrent.futures as cf
import datetime as dt
import json
import time
from pathlib import Path

import lenderdev as dev
from measure import percentile
from soak import server_setting

RESULTS = Path(__file__).resolve().parent / "results" / "first_answers.json"


def change_every_county(step):
    """Every exported row changes in a column the answers do not read (reversible)."""
    dev.sql(f"UPDATE loans SET activity_year = activity_year + ({step})")


def ask_all(counties, clients):
    """Every county asked once, `clients` at a time, all at once: [(county, seconds, reply)]."""
    def ask(county):
        t0 = time.monotonic()
        reply = dev.avg(county, timeout=120)
        return county, time.monotonic() - t0, reply
    with cf.ThreadPoolExecutor(clients) as pool:
        return list(pool.map(ask, counties))


def one_round(counties, oracle, clients):
    status = dev.export(timeout=600)
    if not status.startswith("success"):
        raise SystemExit(f"DbToHdfs failed: {status}")
    calls = ask_all(counties, clients)
    wrong = [(c, r.avg_loan, oracle[c][0], r.error) for c, _, r in calls if r.error or r.avg_loan != oracle[c][0]]
    if wrong:
        raise SystemExit(f"wrong answers: {wrong[:5]}")
    seconds = sorted(s for _, s, _ in calls)
    sources = {}
    for _, _, r in calls:
        sources[r.source] = sources.get(r.source, 0) + 1
    return {"max_s": round(seconds[-1], 3), "p50_ms": round(percentile(seconds, 50) * 1000, 1),
            "p99_ms": round(percentile(seconds, 99) * 1000, 1), "sources": sources,
            "export_status": status[:160]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    oracle = dev.oracle_averages()
    counties = sorted(oracle)
    rounds, step = [], 1
    try:
        for i in range(args.rounds):
            change_every_county(step)
            step = -step
            rounds.append(one_round(counties, oracle, args.clients))
            print(f"round {i + 1}: {len(counties)} counties, {args.clients} clients: slowest "
                  f"{rounds[-1]['max_s']:.2f} s, p50 {rounds[-1]['p50_ms']:.0f} ms, p99 {rounds[-1]['p99_ms']:.0f} ms, "
                  f"sources {rounds[-1]['sources']}", flush=True)
    finally:
        if step == -1:
            change_every_county(-1)
            dev.export(timeout=600)
    workers = server_setting("LENDER_PARTITION_WORKERS", "default")
    name = f"{dev.hdfs_profile()} + {dev.mysql_flavour()}, LENDER_PARTITION_WORKERS={workers}"
    out = {"date": dt.date.today().isoformat(), "counties": len(counties), "clients": args.clients,
           "rounds": rounds, "max_s": max(r["max_s"] for r in rounds), "goal_max_s": 2.0}
    out["met"] = out["max_s"] <= out["goal_max_s"]
    print(f"{name}: slowest first answer {out['max_s']:.2f} s (goal <= 2 s: {'met' if out['met'] else 'missed'})")
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[name] = out
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
