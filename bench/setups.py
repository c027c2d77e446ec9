"""The same few figures in each set-up the tests run in (README, "Tests"): floor (a) (the
flavour's own client, --quick), DbToHdfs with the server's CPU seconds, the ConnectorX peer
(alternating rounds; ratios are medians of paired rounds), CalcAvgLoan create and reuse beside
their floors, measured against whatever is running now (the cluster's profile, the MySQL
flavour of LENDER_MYSQL_FLAVOUR), so that set-ups compare in one table.

    PYTHONPATH=.local/py:pylib python3 bench/setups.py [--reps 3] [--counties 10] [--scale 10]

The floors of CalcAvgLoan, measured right after each call on the same county file with
hdfs-native (a client in its streaming mode, as the server's): reuse's is reading the file's
bytes (five reuses per county, each paired with a read); create's is writing those bytes as a
new file (replication 1, as a county file) and reading them, the HDFS work a create cannot
avoid. --scale 10 loads the 10x dump into the
running MySQL first and the 1x data back afterwards (minutes each).

`just bench-setups` starts each set-up in turn and runs this. Results are merged into
bench/results/setups.json, keyed by set-up; the table of every set-up measured is printed.
Figures are medians; these machines are shared, so compare set-ups measured the same day.
"""
import argparse
import datetime as dt
import json
import os
import time
from pathlib import Path

from ab_export import cpu_seconds
from hdfs_native import Client, WriteOptions
from measure import FLOOR_A_ARGS, PEER_PATH, calc, dev, lender_export, log, median, peer_export, timed

RESULTS = Path(__file__).resolve().parent / "results" / "setups.json"
FLOOR_SCRATCH = "/bench/floor/county.parquet"


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
    times = calc_with_floors(name, counties, truth)
    return {"date": dt.date.today().isoformat(), "floor_a_s": median(floor), "db_to_hdfs_s": median(exports),
            "peer_s": median(peer), "server_cpu_s": median(cpu),
            "vs_floor_a": median([e / f for e, f in zip(exports, floor, strict=True)]),
            "peer_over_ours": median([p / e for e, p in zip(exports, peer, strict=True)]),
            "server_peak_rss_mib": dev.proc_mib(pid, "VmHWM"),
            **{f"{k}_ms": median(v) * 1000 for k, v in times.items()},
            "create_over_floor": median([c / f for c, f in zip(times["create"], times["create_floor"], strict=True)]),
            "reuse_over_floor": median([r / f for r, f in zip(times["reuse"], times["reuse_floor"], strict=True)]),
            "reps": reps, "counties": len(counties)}


def calc_with_floors(name, counties, truth, reuse_reps=5):
    """{create, reuse, create_floor, reuse_floor: seconds}: each county asked once to create
    its file (then that file written anew and read: create's floor), then `reuse_reps` times
    to reuse it, each reuse paired with a raw read of the file (reuse's floor)."""
    client = Client(dev.hdfs_url())
    times = {"create": [], "reuse": [], "create_floor": [], "reuse_floor": []}

    def ask(county, source):
        seconds, reply, _, _ = calc(county)
        if (reply.error, reply.avg_loan, reply.source) != ("", truth[county][0], source):
            raise RuntimeError(f"CalcAvgLoan {county} in {name}: {reply}, oracle {truth[county]}")
        times[source].append(seconds)

    for county in counties:
        path = f"/partitions/{county}.parquet"
        ask(county, "create")
        data, read_s = read_file(client, path)
        times["create_floor"].append(read_s + write_file(client, FLOOR_SCRATCH, data))
        for _ in range(reuse_reps):
            ask(county, "reuse")
            times["reuse_floor"].append(read_file(client, path)[1])
    dev.delete(os.path.dirname(FLOOR_SCRATCH))
    return times


def read_file(client, path):
    """(the file's bytes, seconds to read them)."""
    start = time.perf_counter()
    with client.read(path) as f:
        data = f.read()
    return data, time.perf_counter() - start


def write_file(client, path, data):
    """Seconds to write `data` as a new file of one replica and close it."""
    options = WriteOptions(replication=1, overwrite=True, create_parent=True)
    start = time.perf_counter()
    with client.create(path, options) as f:
        f.write(data)
    return time.perf_counter() - start


def measure_scaled(scale, reps, n_counties):
    """`measure` on the data at `scale` (loaded into the running MySQL first); the 1x data is
    loaded back and exported whatever happens, so the set-up is left as it was found."""
    dump = dev.scaled_dump(scale, log=log)
    try:
        log(f"loading the {scale}x data into {dev.mysql_flavour()} (minutes)")
        dev.dev_script("mysql", "up", "--dump", dump, timeout=7200)
        return measure(reps, n_counties)
    finally:
        log("loading the 1x data back")
        dev.dev_script("mysql", "up", timeout=7200)
        log(f"1x re-export: {dev.export(timeout=3600, shared=True)}")


def table(results):
    lines = ["| set-up | date | floor (a) s | DbToHdfs s | server CPU s | DbToHdfs / floor (a) | peer / DbToHdfs "
             "| peak RSS MiB | create ms (floor) | reuse ms (floor) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        paired = (f"{r['vs_floor_a']:.2f} | {r['peer_over_ours']:.2f} | {r['server_peak_rss_mib']:.0f}"
                  if "vs_floor_a" in r else f"{r['db_to_hdfs_s'] / r['floor_a_s']:.2f} | - | -")
        lines.append(f"| {name} | {r['date']} | {r['floor_a_s']:.2f} | {r['db_to_hdfs_s']:.2f} | "
                     f"{r.get('server_cpu_s', float('nan')):.2f} | {paired} | "
                     f"{r['create_ms']:.0f}{floor_of(r, 'create', '.0f')} | "
                     f"{r['reuse_ms']:.1f}{floor_of(r, 'reuse', '.1f')} |")
    return "\n".join(lines)


def floor_of(r, call, spec):
    """" (floor)" after a CalcAvgLoan figure, when that run measured it."""
    return f" ({r[f'{call}_floor_ms']:{spec}})" if f"{call}_floor_ms" in r else ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="rounds of floor (a), DbToHdfs and the peer (medians)")
    parser.add_argument("--counties", type=int, default=10, help="the largest counties, created then reused")
    parser.add_argument("--scale", type=int, default=1, help="10: on the 10x data (loaded first, 1x restored after)")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    name = setup_name() + (f", {args.scale}x" if args.scale != 1 else "")
    if args.scale == 1:
        results[name] = measure(args.reps, args.counties)
    else:
        results[name] = measure_scaled(args.scale, args.reps, args.counties)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
