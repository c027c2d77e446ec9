"""Figures that must not grow with the data: local disk per export, and memory and time
for the largest county's file (create, reuse, recreate after its DataNode is killed).

    PYTHONPATH=.local/py:pylib python3 bench/scale.py             # the data loaded now (1x)
    PYTHONPATH=.local/py:pylib python3 bench/scale.py --scale 10  # loads the 10x dump, then 1x again

Runs against the local cluster and server (`just dev-up`, `bash dev/serve.sh start`). Every
answer is checked against SQL in the database (the oracle); the killed DataNode is always
restored. Disk is the spool directory's files, found through the server's open descriptors
(deleted or not) and the directory itself, polled every 10 ms during DbToHdfs. Memory is the
server's peak resident set (VmHWM), reset before each county step (/proc/PID/clear_refs).
"""
import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import lender_pb2  # .local/py (dev/bootstrap.sh)
import lenderdev as dev


def log(msg):
    print(f"[scale] {msg}", file=sys.stderr, flush=True)


class SpoolPeak:
    """Peak bytes of the server's files under its spool directory while the block runs."""

    def __init__(self, pid, spool_dir):
        self.pid, self.dir, self.peak, self.stop = pid, os.path.realpath(spool_dir), 0, False

    def size(self):
        seen = {}
        fd_dir = f"/proc/{self.pid}/fd"
        for fd in os.listdir(fd_dir):
            link = f"{fd_dir}/{fd}"
            try:
                if os.readlink(link).startswith(self.dir):
                    st = os.stat(link)
                    seen[st.st_ino] = st.st_blocks * 512
            except OSError:
                pass
        for entry in os.scandir(self.dir) if os.path.isdir(self.dir) else ():
            try:
                st = entry.stat()
                seen[st.st_ino] = st.st_blocks * 512
            except OSError:
                pass
        return sum(seen.values())

    def poll(self):
        while not self.stop:
            self.peak = max(self.peak, self.size())
            time.sleep(0.01)

    def __enter__(self):
        self.thread = threading.Thread(target=self.poll, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.thread.join()


def reset_peak_rss(pid):
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def calc(county):
    start = time.perf_counter()
    reply = dev.avg(county, timeout=600, shared=True)
    return time.perf_counter() - start, reply


def checked(county, reply, truth, source):
    if reply.error or reply.source != source or reply.avg_loan != truth:
        raise RuntimeError(f"CalcAvgLoan {county}: expected {source} {truth}, got "
                           f"{reply.source} {reply.avg_loan} {reply.error!r}")


def export_figures(pid):
    try:
        spool_dir = dev.setting("LENDER_SPOOL_DIR")
    except KeyError:  # the server's default: beside its job store
        spool_dir = Path(dev.setting("LENDER_DB")).parent / "spool"
    with SpoolPeak(pid, spool_dir) as disk:
        start = time.perf_counter()
        status = dev.export(timeout=3600, shared=True)
        secs = time.perf_counter() - start
    if not status.startswith("success"):
        raise RuntimeError(f"DbToHdfs: {status}")
    size = dev.file_length(dev.EXPORT)
    return {"seconds": secs, "file_bytes": size, "spool_peak_bytes": disk.peak,
            "spool_peak_over_file": disk.peak / size, "status": status}


def county_figures(pid, reuse_reps):
    county = dev.counties_by_rows(1)[0]
    truth, rows = dev.oracle_averages([county])[county]
    path = f"{dev.PARTITIONS}/{county}.parquet"
    out = {"county": county, "rows": rows}
    dev.delete(path)
    dev.wait_for_idle_jobs()
    rss = dev.proc_mib(pid, "VmRSS")
    reset_peak_rss(pid)
    secs, reply = calc(county)
    checked(county, reply, truth, "create")
    out["create"] = {"seconds": secs, "rss_before_mib": rss, "peak_rss_mib": dev.proc_mib(pid, "VmHWM"),
                     "file_bytes": dev.file_length(path)}
    log(f"county {county} ({rows} rows): create {secs * 1000:.0f} ms, peak RSS "
        f"{out['create']['peak_rss_mib']:.0f} MiB (before {rss:.0f})")
    reset_peak_rss(pid)
    times = []
    for _ in range(reuse_reps):
        secs, reply = calc(county)
        checked(county, reply, truth, "reuse")
        times.append(secs)
    out["reuse"] = {"median_seconds": statistics.median(times), "runs": times,
                    "peak_rss_mib": dev.proc_mib(pid, "VmHWM")}
    log(f"reuse median {out['reuse']['median_seconds'] * 1000:.1f} ms")
    node = dev.datanode_of(path)
    dev.cluster("kill-dn", node)
    try:
        reset_peak_rss(pid)
        secs, reply = calc(county)
        checked(county, reply, truth, "recreate")
        out["recreate"] = {"seconds": secs, "killed_datanode": node, "peak_rss_mib": dev.proc_mib(pid, "VmHWM")}
        log(f"recreate after killing DataNode {node}: {secs * 1000:.0f} ms")
    finally:
        dev.cluster("restore-dn", node)
    return out


def measure(label, reuse_reps):
    pid = dev.server_pid()
    log(f"{label}: DbToHdfs with the spool watched")
    out = {"label": label, "export": export_figures(pid)}
    e = out["export"]
    log(f"{label}: export {e['seconds']:.1f} s, file {e['file_bytes'] / dev.MiB:.1f} MiB, spool peak "
        f"{e['spool_peak_bytes'] / dev.MiB:.1f} MiB ({e['spool_peak_over_file']:.2f}x)")
    out["largest_county"] = county_figures(pid, reuse_reps)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=1, help="also load and measure the dump of this scale")
    ap.add_argument("--reuse-reps", type=int, default=5)
    ap.add_argument("--out", help="write the JSON here too")
    args = ap.parse_args()
    results = [measure("1x", args.reuse_reps)]
    if args.scale != 1:
        dump = dev.scaled_dump(args.scale, log=log)
        try:
            log(f"loading the {args.scale}x data (minutes)")
            dev.dev_script("mysql", "up", "--dump", dump, timeout=7200)
            results.append(measure(f"{args.scale}x", args.reuse_reps))
        finally:
            log("restoring the 1x data and export")
            dev.dev_script("mysql", "up", timeout=7200)
            status = dev.stub(shared=True).DbToHdfs(lender_pb2.Empty(), timeout=3600).status
            log(f"1x re-export: {status[:80]}")
    text = json.dumps(results, indent=1)
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
