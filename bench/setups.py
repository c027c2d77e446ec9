"""The same few figures in each set-up the tests run in (README, "Tests"): floor (a) (the
flavour's own client, --quick), DbToHdfs with the server's CPU seconds, the ConnectorX peer
(alternating rounds; ratios are medians of paired rounds), CalcAvgLoan create and reuse,
measured against whatever is running now (the cluster's profile, the MySQL flavour of
LENDER_MYSQL_FLAVOUR), so that set-ups compare in one table.

    PYTHONPATH=.local/py:pylib python3 bench/setups.py [--reps 3] [--counties 10]

`just bench-setups` starts each set-up in turn and runs this. Results are merged into
bench/results/setups.json, keyed by set-up; the table of every set-up measured is printed.
Figures are medians; these machines are shared, so compare set-ups measured the same day.
"""
import argparse
import datetime as dt
import json
import os
from pathlib import Path

from ab_export import cpu_seconds
from measure import FLOOR_A_ARGS, PEER_PATH, calc, dev, lender_export, log, median, peer_export, timed

RESULTS = Path(__file__).resolve().parent / "results" / "setups.json"


def setup_name():
    return f"{dev.hdfs_profile()} + {dev.mysql_flavour()}"


def export_round(label, i, reps, pid):
    """One DbToHdfs with the server's CPU seconds over the call (/proc/PID/stat)."""
    cpu = cpu_seconds(pid)
    seconds, _status = lender_export(label, i, reps)
    return seconds, cpu_seconds(pid) - cpu


def measure(reps, n_counties):
    """{figure: value} for the running set-up, in alternating rounds (floor (a), DbToHdfs, the
    ConnectorX peer, ...) so each ratio pairs runs made seconds apart; answers are checked
    against the SQL oracle."""
    name, pid = setup_name(), dev.server_pid()
    floor, exports, cpu, peer = [], [], [], []
    for i in range(reps):
        floor.append(timed(dev.mysql_client_cmd(*FLOOR_A_ARGS, dev.export_query())))
        seconds, cpu_s = export_round(name, i, reps, pid)
        exports.append(seconds)
        cpu.append(cpu_s)
        run = peer_export(12 * 1024)
        if "error" in run:
            raise RuntimeError(f"the ConnectorX peer in {name}: {run['error']}")
        peer.append(run["seconds"])
        log(f"{name} round {i + 1}/{reps}: floor (a) {floor[-1]:.2f} s, DbToHdfs {seconds:.2f} s "
            f"(server CPU {cpu_s:.2f} s), peer {peer[-1]:.2f} s")
    dev.delete(os.path.dirname(PEER_PATH))
    counties = dev.counties_by_rows(n_counties)
    truth = dev.oracle_averages(counties)
    dev.delete("/partitions")
    create, reuse = [], []
    for county in counties:
        for source, times in (("create", create), ("reuse", reuse)):
            seconds, reply, _, _ = calc(county)
            if (reply.error, reply.avg_loan, reply.source) != ("", truth[county][0], source):
                raise RuntimeError(f"CalcAvgLoan {county} in {name}: {reply}, oracle {truth[county]}")
            times.append(seconds)
    return {"date": dt.date.today().isoformat(), "floor_a_s": median(floor), "db_to_hdfs_s": median(exports),
            "peer_s": median(peer), "server_cpu_s": median(cpu),
            "vs_floor_a": median([e / f for e, f in zip(exports, floor, strict=True)]),
            "peer_over_ours": median([p / e for e, p in zip(exports, peer, strict=True)]),
            "server_peak_rss_mib": dev.proc_mib(pid, "VmHWM"),
            "create_ms": median(create) * 1000, "reuse_ms": median(reuse) * 1000,
            "reps": reps, "counties": len(counties)}


def table(results):
    lines = ["| set-up | date | floor (a) s | DbToHdfs s | server CPU s | DbToHdfs / floor (a) | peer / DbToHdfs "
             "| peak RSS MiB | create ms | reuse ms |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        paired = (f"{r['vs_floor_a']:.2f} | {r['peer_over_ours']:.2f} | {r['server_peak_rss_mib']:.0f}"
                  if "vs_floor_a" in r else f"{r['db_to_hdfs_s'] / r['floor_a_s']:.2f} | - | -")
        lines.append(f"| {name} | {r['date']} | {r['floor_a_s']:.2f} | {r['db_to_hdfs_s']:.2f} | "
                     f"{r.get('server_cpu_s', float('nan')):.2f} | {paired} | "
                     f"{r['create_ms']:.0f} | {r['reuse_ms']:.1f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="rounds of floor (a), DbToHdfs and the peer (medians)")
    parser.add_argument("--counties", type=int, default=10, help="the largest counties, created then reused")
    parser.add_argument("--label", default="", help="added to the set-up's name, e.g. 10x for the 10x data")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    name = setup_name() + (f", {args.label}" if args.label else "")
    results[name] = measure(args.reps, args.counties)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
