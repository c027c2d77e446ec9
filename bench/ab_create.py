"""Two builds of lender, one CalcAvgLoan question: how long does a county's create take from
the big file each build writes? The create reads the county's row groups, so it measures the
export's layout as much as the partition job.

    PYTHONPATH=.local/py:pylib python3 bench/ab_create.py BIN_A BIN_B [--rounds 5] \
        [--label-a "8be8c45 (ORDER BY)"] [--label-b HEAD] [--out bench/results/ab-create.json]

Each round runs A then B as the server, each with a store of its own (LENDER_DB, spool dir):
DbToHdfs (the build's own layout), then for every county /partitions is emptied and the
county asked once (a create). Alternating matters: this machine's speed drifts by a third
within minutes, so only runs made seconds apart compare. Uses the local cluster and MariaDB
that `just dev-up` started; stops the usual server (restart it with dev/serve.sh start).
Get a binary of another revision with, for example:
    git worktree add /tmp/old REV && (cd /tmp/old && cargo build --release)
"""
import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import statistics
import subprocess
import time
from pathlib import Path

import lenderdev as dev
from measure import FIXED_COUNTIES, calc, lender_export

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = ROOT / ".local" / "ab"


def start(binary, name, env):
    """`binary` as the server, with a fresh store and spool of its own; waits for its port."""
    state = SCRATCH / name
    shutil.rmtree(state, ignore_errors=True)
    (state / "spool").mkdir(parents=True)
    env = {**os.environ, **env, "LENDER_DB": str(state / "lender.redb"), "LENDER_SPOOL_DIR": str(state / "spool")}
    with (SCRATCH / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    dev.reset_channel()
    port = int(env["LENDER_LISTEN"].rsplit(":", 1)[1])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{binary} did not start; see {SCRATCH / f'{name}.log'}")


@contextlib.contextmanager
def serving(binary, name, env):
    """`binary` as the server (see `start`) for the block, then stopped."""
    proc = start(binary, name, env)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def ab_arguments(description, rounds):
    """The command line both A/B benchmarks take: two binaries, rounds, labels, --out."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("bin_a")
    ap.add_argument("bin_b")
    ap.add_argument("--rounds", type=int, default=rounds)
    ap.add_argument("--label-a", default="A")
    ap.add_argument("--label-b", default="B")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    for side in ("a", "b"):
        ap.add_argument(f"--env-{side}", action="append", default=[], metavar="KEY=VALUE",
                        help=f"a setting of {side.upper()}'s server only (e.g. LENDER_MYSQL_SSL_MODE=disabled)")
    return ap.parse_args()


def side_env(env, pairs):
    """`env` with the KEY=VALUE settings of one side."""
    return {**env, **dict(pair.split("=", 1) for pair in pairs)}


def one_build(binary, name, env, counties):
    with serving(binary, name, env):
        secs, _ = lender_export(name, 0, 1)
        times = {}
        for county in counties:
            dev.delete(dev.PARTITIONS)
            elapsed, reply, _, _ = calc(county)
            if reply.error:
                raise SystemExit(f"{name}: CalcAvgLoan {county}: {reply.error}")
            times[county] = elapsed * 1000
        return secs, times


def main():
    args = ab_arguments(__doc__.split("\n\n")[0], rounds=5)
    dev.serve("stop")
    env = dev.script_env("serve")
    counties = list(dict.fromkeys(FIXED_COUNTIES + dev.counties_by_rows(5)))
    per = {"A": {c: [] for c in counties}, "B": {c: [] for c in counties}}
    exports = {"A": [], "B": []}
    for rnd in range(args.rounds):
        for name, binary in (("A", args.bin_a), ("B", args.bin_b)):
            secs, times = one_build(binary, name, env, counties)
            exports[name].append(secs)
            for c, ms in times.items():
                per[name][c].append(ms)
            print(f"round {rnd + 1} {name}: export {secs:.2f} s, create median "
                  f"{statistics.median(times.values()):.0f} ms", flush=True)
    print("county | A create ms (median) | B create ms (median)")
    for c in counties:
        print(f"{c} | {statistics.median(per['A'][c]):.0f} | {statistics.median(per['B'][c]):.0f}")
    med = {n: {c: statistics.median(v) for c, v in per[n].items()} for n in per}
    mid = {n: statistics.median(med[n].values()) for n in med}
    total = {n: sum(med[n].values()) for n in med}
    ratios = [med["B"][c] / med["A"][c] for c in counties]
    print(f"median over counties: A {mid['A']:.1f} ms, B {mid['B']:.1f} ms, B/A {mid['B'] / mid['A']:.2f}")
    print(f"sum over counties: A {total['A']:.0f} ms, B {total['B']:.0f} ms, B/A {total['B'] / total['A']:.2f}")
    print(f"per-county B/A: geometric mean {statistics.geometric_mean(ratios):.2f}, "
          f"range {min(ratios):.2f}-{max(ratios):.2f}")
    if args.out:
        args.out.write_text(json.dumps({
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "labels": {"A": args.label_a, "B": args.label_b},
            "rounds": args.rounds,
            "counties": counties,
            "create_ms": per,
            "create_median_ms": {n: {str(c): v for c, v in med[n].items()} for n in med},
            "median_over_counties_ms": mid,
            "sum_over_counties_ms": total,
            "geomean_ratio_b_over_a": statistics.geometric_mean(ratios),
            "export_seconds": exports,
        }, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
