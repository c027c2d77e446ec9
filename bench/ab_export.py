"""Two builds (or settings) of lender, one DbToHdfs: server CPU seconds, wall time and local disk per export.

    PYTHONPATH=.local/py:pylib python3 bench/ab_export.py BIN_A BIN_B [--rounds 3] \
        [--label-a BEFORE] [--label-b AFTER] [--env-a KEY=VALUE] [--env-b KEY=VALUE] \
        [--out bench/results/ab-export.json]

Each round runs A then B as the server (each with a store and spool of its own, as
bench/ab_create.py does) and one DbToHdfs against the data loaded now. CPU is the server
process's user+system time over the call (/proc/PID/stat), the stable figure on a shared
machine; wall time drifts with the neighbours, so only the paired ratios of one run compare.
Disk is the peak of the server's files in its spool directory (bench/scale.py's SpoolPeak).
Get a binary of another revision with, for example:
    git worktree add /tmp/old REV && (cd /tmp/old && cargo build --release)
"""
import datetime as dt
import json
import os
import statistics
import time
from pathlib import Path

import lenderdev as dev
from ab_create import SCRATCH, ab_arguments, serving, side_env
from scale import SpoolPeak


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_export(binary, name, env):
    with serving(binary, name, env) as proc:
        with SpoolPeak(proc.pid, SCRATCH / name / "spool") as disk:
            cpu, wall = cpu_seconds(proc.pid), time.perf_counter()
            status = dev.export(timeout=3600, shared=True)
            wall, cpu = time.perf_counter() - wall, cpu_seconds(proc.pid) - cpu
        if not status.startswith("success"):
            raise SystemExit(f"{name}: DbToHdfs: {status}")
        size = dev.file_length(dev.EXPORT)
        return {"wall_s": wall, "cpu_s": cpu, "spool_peak_bytes": disk.peak, "file_bytes": size,
                "peak_rss_mib": dev.proc_mib(proc.pid, "VmHWM")}


def main():
    args = ab_arguments(__doc__.split("\n\n")[0], rounds=3)
    dev.serve("stop")
    env = dev.script_env("serve")
    runs = {"A": [], "B": []}
    for rnd in range(args.rounds):
        for name, binary, pairs in (("A", args.bin_a, args.env_a), ("B", args.bin_b, args.env_b)):
            r = one_export(binary, name, side_env(env, pairs))
            runs[name].append(r)
            print(f"round {rnd + 1} {name}: wall {r['wall_s']:.2f} s, server CPU {r['cpu_s']:.2f} s, "
                  f"spool peak {r['spool_peak_bytes'] / dev.MiB:.1f} MiB for a "
                  f"{r['file_bytes'] / dev.MiB:.1f} MiB file, peak RSS {r['peak_rss_mib']:.0f} MiB", flush=True)
    med = {n: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for n, rs in runs.items()}
    ratio = {k: statistics.median(b[k] / a[k] for a, b in zip(runs["A"], runs["B"], strict=True)) for k in runs["A"][0]}
    for k in ("wall_s", "cpu_s", "spool_peak_bytes", "peak_rss_mib"):
        print(f"{k}: A {med['A'][k]:.2f}, B {med['B'][k]:.2f}, B/A (median of rounds) {ratio[k]:.2f}")
    if args.out:
        args.out.write_text(json.dumps({
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "labels": {"A": args.label_a, "B": args.label_b},
            "rounds": runs, "medians": med, "b_over_a": ratio,
        }, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
