"""The benchmark's measurements (bench/bench.py is the entry point, bench/report.py the report).

Every figure comes from the real local cluster through pylib/lenderdev.py: lender over gRPC,
the floors (the MariaDB client, the HDFS CLI), the peer (bench/peers/connectorx_export.py),
the Python way (bench/python_way.py). Every figure is a median of the repetitions unless its
name says otherwise. Killed DataNodes are always restored.
"""
import asyncio
import concurrent.futures as cf
import datetime as dt
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc
import lender_pb2  # .local/py (dev/bootstrap.sh)
import lender_pb2_grpc
import lenderdev as dev
from report import BASELINE, fmt

ROOT = Path(__file__).resolve().parents[1]
EXPORT = dev.EXPORT
FLOOR_DIR = "/bench/floor"
# floor (a): the MariaDB client streams the rows (--quick: row by row, nothing buffered)
FLOOR_A_ARGS = ("--quick", "-B", "-e")
PY_BASE = "/bench/python"
PEER_PATH = "/bench/peer/hdma-wi-2021.parquet"
FIXED_COUNTIES = [55001, 55003, 55027, 55059, 55133]
PYTHON_WAY = ROOT / "bench" / "python_way.py"
PEER = ROOT / "bench" / "peers" / "connectorx_export.py"
MiB = dev.MiB
T0 = time.monotonic()

# Issue 4's failure matrix: (NameNode profile, fault, DataNode). Different DataNodes, so each
# scenario starts from a node that has been up for a while.
RECOVERY_SCENARIOS = [("fast", "kill-dn", 1), ("fast", "cut-dn", 2),
                      ("contract", "kill-dn", 3), ("contract", "cut-dn", 1)]


def log(msg):
    print(f"[bench {time.monotonic() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ helpers


def timed(cmd, timeout=1800):
    """Seconds a command takes, its stdout thrown away; raises if it fails."""
    start = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          timeout=timeout, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(map(str, cmd))} failed: {proc.stderr[-2000:]}")
    return elapsed


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return None
    k = min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))
    return xs[k]


def ratio(a, b):
    return a / b if a is not None and b else None


def stub():
    return dev.stub(shared=True)  # one warm channel for latency figures


def calc(county, timeout=120):
    """One CalcAvgLoan through gRPC: (seconds, reply, wall start ms, wall end ms)."""
    wall0 = time.time() * 1000
    start = time.perf_counter()
    resp = stub().CalcAvgLoan(lender_pb2.CalcAvgLoanReq(county_code=county), timeout=timeout)
    elapsed = time.perf_counter() - start
    return elapsed, resp, wall0, time.time() * 1000


def oracle(counties):
    """{county: {"avg", "rows"}} from MariaDB over the export's rows."""
    return {c: {"avg": a, "rows": n} for c, (a, n) in dev.oracle_averages(counties).items()}


def machine():
    mem = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())

    def out(cmd):
        try:
            return dev.run(cmd, timeout=30).stdout.strip()
        except Exception:  # noqa: BLE001
            return None
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(int(mem) / 1024 / 1024, 1),
        "cpu_model": cpu,
        "kernel": platform.release(),
        "os": (out(["bash", "-c", ". /etc/os-release && echo $PRETTY_NAME"]) or ""),
        "python": platform.python_version(),
        "rustc": out(["rustc", "--version"]),
        "git_commit": out(["git", "rev-parse", "--short", "HEAD"]),
        "git_dirty_paths": (out(["git", "status", "--porcelain", "--untracked-files=no"]) or "").splitlines(),
    }


def other_pytest_running():
    try:
        out = subprocess.run(["pgrep", "-f", "pytest"], capture_output=True, text=True).stdout.split()
    except FileNotFoundError:
        return False
    mine = {str(os.getpid()), str(os.getppid())}
    return bool(set(out) - mine)


def baseline():
    """The CalcAvgLoan create median of the previous results (the "not slower than before" target)."""
    try:
        r = json.loads(BASELINE.read_text())
        return {"file": os.path.relpath(BASELINE, ROOT), "date": r.get("date"),
                "create_median_ms": r["calc"]["create"]["median_ms"]}
    except (OSError, ValueError, KeyError) as e:
        return {"file": os.path.relpath(BASELINE, ROOT), "error": f"{type(e).__name__}: {e}"}


# ------------------------------------------------------------------ processes measured from outside


def watched(cmd, rss_limit_mib, what):
    """Runs a Python tool that prints a JSON line last; returns that reply plus wall_seconds
    (the whole process, start-up included) and peak_rss_mib (the larger of the process's own
    ru_maxrss, if it reports one, and VmRSS polled every 0.1 s). Killed past rss_limit_mib."""
    start = time.perf_counter()
    proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)
    seen = {"peak": 0.0, "killed": False}

    def watch():
        while proc.poll() is None:
            try:
                rss = dev.proc_mib(proc.pid, "VmRSS") or 0.0
            except (FileNotFoundError, ProcessLookupError):
                break
            seen["peak"] = max(seen["peak"], rss)
            if rss > rss_limit_mib:
                seen["killed"] = True
                proc.kill()
                break
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    watcher.join()
    wall = time.perf_counter() - start
    if seen["killed"]:
        return {"error": f"killed by the benchmark: RSS passed {rss_limit_mib:.0f} MiB after {wall:.1f} s "
                         f"({what} holds the whole table in memory)",
                "wall_seconds": wall, "peak_rss_mib": seen["peak"]}
    if proc.returncode != 0:
        return {"error": err.strip().splitlines()[-1] if err.strip() else f"exit {proc.returncode}",
                "wall_seconds": wall, "peak_rss_mib": seen["peak"]}
    reply = json.loads(out.strip().splitlines()[-1])
    reply["wall_seconds"] = wall  # including interpreter start-up and imports
    reply["peak_rss_mib"] = max(reply.get("peak_rss_mib") or 0.0, seen["peak"])
    return reply


class PythonWorker:
    """bench/python_way.py in worker mode: a warm Python process answering CalcAvgLoan."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, str(PYTHON_WAY), "worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT, bufsize=1)

    def ask(self, **req):
        start = time.perf_counter()
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("python_way worker died")
        reply = json.loads(line)
        reply["wall_seconds"] = time.perf_counter() - start
        return reply

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def python_export(rss_limit_mib):
    """One DbToHdfs the Python way in a fresh process; killed if its RSS passes rss_limit_mib."""
    return watched([sys.executable, PYTHON_WAY, "export"], rss_limit_mib, "it")


def peer_export(rss_limit_mib):
    """One export by the ConnectorX peer in a fresh process."""
    return watched([sys.executable, PEER, "--path", PEER_PATH], rss_limit_mib, "ConnectorX")


def summarize_runs(runs, keys=("seconds", "read_seconds", "parquet_seconds", "upload_seconds")):
    """Medians over the successful runs of a watched tool, peak RSS over all of them."""
    ok = [r for r in runs if "error" not in r]
    out = {k: median([r.get(k) for r in ok]) for k in keys}
    out.update(
        wall_seconds_with_startup=median([r["wall_seconds"] for r in ok]),
        runs=[r.get("seconds") for r in runs],
        wall_runs=[r.get("wall_seconds") for r in runs],
        rows=ok[0]["rows"] if ok else None,
        bytes=ok[-1].get("bytes") if ok else None,
        blocks=ok[-1].get("blocks") if ok else None,
        peak_rss_mib=max((r.get("peak_rss_mib") or 0.0) for r in runs) if runs else None,
        errors=[r["error"] for r in runs if "error" in r],
    )
    out["rows_per_s"] = ratio(out["rows"], out["seconds"])
    return out


# ------------------------------------------------------------------ 1. DbToHdfs


def status_figures(status):
    """(bytes, blocks) as lender's DbToHdfs status states them (None where it does not)."""
    size = re.search(r"\((\d+) bytes", status)
    blocks = re.search(r"(\d+) blocks x", status)
    return (int(size.group(1)) if size else None), (int(blocks.group(1)) if blocks else None)


def lender_export(label, i, reps):
    start = time.perf_counter()
    status = stub().DbToHdfs(lender_pb2.Empty(), timeout=3600).status
    secs = time.perf_counter() - start
    if not status.startswith("success"):
        raise RuntimeError(f"DbToHdfs failed: {status}")
    log(f"{label} DbToHdfs {i + 1}/{reps}: {secs:.2f} s")
    return secs, status


def bench_export(reps, restart, label="lender", peer=True, rss_limit_mib=12 * 1024):
    """DbToHdfs `reps` times in rounds with the ConnectorX peer and floor (a) (lender, peer,
    floor, lender, peer, floor, ...) when peer is true, so each ratio pairs runs made seconds
    apart: this machine's speed drifts by a third within minutes. Returns (lender's figures,
    the peer's figures or None)."""
    if restart:
        log("restarting the server (clean VmHWM)")
        dev.serve("stop")
        dev.serve("start")
    pid = dev.server_pid()
    rss_before = dev.proc_mib(pid, "VmRSS")
    times, statuses, peer_runs, floor_runs = [], [], [], []
    for i in range(reps):
        secs, status = lender_export(label, i, reps)
        times.append(secs)
        statuses.append(status)
        if peer:
            r = peer_export(rss_limit_mib)
            peer_runs.append(r)
            log(f"peer (ConnectorX) export {i + 1}/{reps}: "
                + (f"{r['seconds']:.2f} s (process {r['wall_seconds']:.2f} s), peak RSS {r['peak_rss_mib']:.0f} MiB"
                   if "error" not in r else f"failed: {r['error']}"))
            floor_runs.append(timed(dev.mariadb_cmd(*FLOOR_A_ARGS, dev.export_query())))
            log(f"floor (a) {i + 1}/{reps}: {floor_runs[-1]:.2f} s")
    rows = int(re.search(r"exported (\d+) rows", statuses[-1]).group(1))
    secs = median(times)
    status_bytes, status_blocks = status_figures(statuses[-1])
    hdfs_bytes, hdfs_blocks = dev.file_length(EXPORT), dev.block_count(EXPORT)
    ours = {
        "seconds": secs,
        "runs": times,
        "rows": rows,
        "rows_per_s": rows / secs,
        # the file as HDFS reports it (WebHDFS GETFILESTATUS length, GET_BLOCK_LOCATIONS blocks)
        "bytes": hdfs_bytes,
        "blocks": hdfs_blocks,
        # what lender's status said; checked against HDFS
        "status_bytes": status_bytes,
        "status_blocks": status_blocks,
        "status_matches_hdfs": (status_bytes in (None, hdfs_bytes)) and (status_blocks in (None, hdfs_blocks)),
        "server_peak_rss_mib": dev.proc_mib(pid, "VmHWM"),
        "server_rss_before_mib": rss_before,
        "server_restarted": restart,
        "status": statuses[-1],
    }
    if not peer:
        return ours, None
    ours["floor_a_runs"], ours["floor_a_seconds"] = floor_runs, median(floor_runs)
    # Paired ratios: each round's lender run against the floor and the peer of that round.
    ours["vs_floor_a"] = median([t / f for t, f in zip(times, floor_runs, strict=True)])
    peer_pairs = zip(times, peer_runs, strict=True)
    ours["peer_over_ours"] = median([r["seconds"] / t for t, r in peer_pairs if "error" not in r])
    dev.delete(os.path.dirname(PEER_PATH))
    p = summarize_runs(peer_runs)
    p.update(tool="connectorx.read_sql(return_type='arrow') -> pyarrow.parquet.write_table (temp file) -> "
                  "hdfs_native create (replication 2, 1 MiB blocks)",
             script=os.path.relpath(PEER, ROOT))
    return ours, p


def bench_floors(reps, query):
    f = {}
    variants = [
        # floor (a): the client streams the rows (--quick: row by row, nothing buffered), unordered
        ("mariadb_quick", "floor (a): mariadb --quick, the export query", [*FLOOR_A_ARGS, query]),
        ("mariadb_quick_ordered", "reference: floor (a) with ORDER BY county_code, lei",
         ["--quick", "-B", "-e", dev.export_query(ordered=True)]),
        ("mariadb_buffered", "reference: mariadb without --quick (buffers the result)", ["-B", "-e", query]),
    ]
    for key, what, args in variants:
        log(what)
        runs = [timed(dev.mariadb_cmd(*args)) for _ in range(reps)]
        f[f"{key}_seconds"], f[f"{key}_runs"] = median(runs), runs
    f["mariadb_stream_seconds"] = f["mariadb_quick_seconds"]  # floor (a)
    f["floor_a"] = "mariadb --quick -B -e <export query> > /dev/null"
    tmp = Path(tempfile.mkdtemp(prefix="lender-bench-"))
    try:
        local = tmp / "export.parquet"
        local.write_bytes(dev.webhdfs(EXPORT, "OPEN"))
        shutil.copy(local, tmp / "export2.parquet")
        size = local.stat().st_size
        opts = ["-D", "dfs.replication=2", "-D", "dfs.blocksize=1048576"]
        dev.run(dev.hdfs_dfs_cmd("-mkdir", "-p", f"{FLOOR_DIR}/warm"), timeout=600)
        log("floor (b): hdfs CLI put (cold JVM each time)")
        cold = [timed(dev.hdfs_dfs_cmd(*opts, "-put", "-f", local, f"{FLOOR_DIR}/put.parquet")) for _ in range(reps)]
        # One JVM putting two files: the second put runs warm. warm = t(2 files) - t(1 file).
        two = [timed(dev.hdfs_dfs_cmd(*opts, "-put", "-f", local, tmp / "export2.parquet", f"{FLOOR_DIR}/warm/"))
               for _ in range(reps)]
        jvm = [timed(dev.hdfs_dfs_cmd("-test", "-d", "/")) for _ in range(reps)]
        put_status = dev.file_status(f"{FLOOR_DIR}/put.parquet")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        dev.delete(FLOOR_DIR)
    cold_s = median(cold)
    f.update({
        "hdfs_put_seconds": cold_s,
        "hdfs_put_runs": cold,
        "hdfs_put_warm_seconds": max(0.0, median(two) - cold_s),
        "hdfs_cli_jvm_only_seconds": median(jvm),
        "put_bytes": size,
        "put_replication": put_status["replication"],
        "put_block_size": put_status["blockSize"],
    })
    return f


# ------------------------------------------------------------------ 2. CalcAvgLoan


def bench_create(counties, reps, worker):
    """create: /partitions (and the Python way's partitions) deleted, then each county once."""
    ours = {c: [] for c in counties}
    py = {c: [] for c in counties}
    sources, py_sources, answers, py_answers, windows = {}, {}, {}, {}, []
    for rep in range(reps):
        dev.delete(dev.PARTITIONS)
        for c in counties:
            secs, resp, w0, w1 = calc(c)
            if resp.error:
                raise RuntimeError(f"CalcAvgLoan {c}: {resp.error}")
            ours[c].append(secs)
            sources.setdefault(c, set()).add(resp.source)
            answers[c] = resp.avg_loan
            windows.append((c, secs, w0, w1))
        dev.delete(f"{PY_BASE}/partitions")
        for c in counties:
            reply = worker.ask(op="avg", county=c)
            if "error" in reply:
                raise RuntimeError(f"python way CalcAvgLoan {c}: {reply['error']}")
            py[c].append(reply["wall_seconds"])
            py_sources.setdefault(c, set()).add(reply["source"])
            py_answers[c] = reply["avg"]
        log(f"create {rep + 1}/{reps}: ours median {median([v[-1] for v in ours.values()]) * 1000:.0f} ms, "
            f"python median {median([v[-1] for v in py.values()]) * 1000:.0f} ms")
    return ours, py, sources, py_sources, answers, py_answers, windows


def queue_overhead(windows):
    """End-to-end gRPC latency minus the job's own attempt time, from the job history."""
    try:
        jobs = dev.jobs_json(limit=max(200, 3 * len(windows)))
    except Exception as e:  # noqa: BLE001
        return {"error": f"job history unavailable: {e}"}
    out = []
    for county, secs, w0, w1 in windows:
        for job in jobs:
            if job["kind"] != "partition" or f"county={county} " not in job["args"] + " ":
                continue
            if not (w0 - 50 <= job["submitted_ms"] <= w1 + 50) or not job["attempts"]:
                continue
            worked = sum(a["ended_ms"] - a["started_ms"] for a in job["attempts"] if a["ended_ms"])
            out.append(secs * 1000 - worked)
            break
    return {"median_ms": median(out), "max_ms": max(out) if out else None, "samples": len(out),
            "note": "gRPC end-to-end minus the job's attempt durations (job history has ms resolution)"}


def bench_reuse(counties, reps, worker):
    ours, py, floor_native, floor_webhdfs = {}, {}, {}, {}
    for c in counties:
        calc(c)  # make sure it exists (and warm)
        worker.ask(op="avg", county=c)
        ours[c], py[c], floor_native[c], floor_webhdfs[c] = [], [], [], []
        for _ in range(reps):
            secs, resp, _, _ = calc(c)
            if resp.source != "reuse":
                raise RuntimeError(f"expected reuse for {c}, got {resp.source} {resp.error}")
            ours[c].append(secs)
            py[c].append(worker.ask(op="avg", county=c)["wall_seconds"])
            floor_native[c].append(worker.ask(op="read", path=f"/partitions/{c}.parquet")["wall_seconds"])
            start = time.perf_counter()
            dev.webhdfs(f"/partitions/{c}.parquet", "OPEN")
            floor_webhdfs[c].append(time.perf_counter() - start)
    return ours, py, floor_native, floor_webhdfs


def bench_recreate(counties, worker):
    """For each DataNode in turn: kill it, ask every not yet measured county whose partition
    (ours, or the Python way's) it holds, restore it. Always restores."""
    ours, py, first = {}, {}, {}
    sources, py_sources = {}, {}
    for n in (1, 2, 3):
        ours_here = [c for c in counties if c not in ours and dev.datanode_of(f"/partitions/{c}.parquet") == n]
        py_here = [c for c in counties if c not in py
                   and dev.datanode_of(f"{PY_BASE}/partitions/{c}.parquet") == n]
        if not ours_here and not py_here:
            continue
        log(f"recreate: killing DataNode {n} (ours: {ours_here}, python: {py_here})")
        dev.cluster("kill-dn", n)
        try:
            for i, c in enumerate(ours_here):
                secs, resp, _, _ = calc(c)
                if resp.error:
                    raise RuntimeError(f"CalcAvgLoan {c} with DataNode {n} dead: {resp.error}")
                ours[c], sources[c], first[c] = secs, resp.source, i == 0
            for c in py_here:
                reply = worker.ask(op="avg", county=c)
                py[c] = reply["wall_seconds"] if "error" not in reply else None
                py_sources[c] = reply.get("source", reply.get("error"))
        finally:
            log(f"restoring DataNode {n}")
            dev.cluster("restore-dn", n)
    return ours, py, sources, py_sources, first


# ------------------------------------------------------------------ recovery (issue 4)


def fresh_partitions(counties):
    """Every county file written anew; returns {county: DataNode number holding it}."""
    dev.delete(dev.PARTITIONS)
    for c in counties:
        _, resp, _, _ = calc(c)
        if resp.error or resp.source != "create":
            raise RuntimeError(f"CalcAvgLoan {c} before the fault: {resp.source} {resp.error}")
    return {c: dev.datanode_of(f"/partitions/{c}.parquet") for c in counties}


def recovery_scenario(profile, fault, n, truth):
    """Fails DataNode n, then asks every county at once: those whose only replica was on n
    must come back `recreate`, the others `reuse`, all equal to MariaDB's answer. Times
    run from the moment the fault command started. Always restores the DataNode."""
    holders = fresh_partitions(sorted(truth))
    lost = [c for c, dn in holders.items() if dn == n]
    kept = [c for c in holders if c not in lost]
    log(f"recovery: {profile} profile, {fault} {n}: {len(lost)} county files on the failed node")
    t0 = time.perf_counter()
    dev.cluster(fault, n)
    fault_cmd_s = time.perf_counter() - t0

    def ask(county):
        secs, resp, _, _ = calc(county, timeout=60)
        return county, time.perf_counter() - t0, secs, resp

    try:
        with cf.ThreadPoolExecutor(len(lost) + len(kept)) as pool:
            replies = list(pool.map(ask, lost + kept))
    finally:
        dev.cluster("restore-dn", n)
    wrong = [c for c, _, _, r in replies if r.error or r.avg_loan != truth[c]["avg"]]
    bad_source = [c for c, _, _, r in replies if r.source != ("recreate" if c in lost else "reuse")]
    since_fault = sorted(t for c, t, _, _ in replies if c in lost and c not in wrong)
    reuse_ms = sorted(s * 1000 for c, _, s, _ in replies if c in kept)
    return {
        "profile": profile, "fault": fault, "datanode": n, "fault_command_seconds": fault_cmd_s,
        "lost_counties": len(lost), "kept_counties": len(kept),
        "first_answer_s": since_fault[0] if since_fault else None,
        "median_answer_s": median(since_fault), "worst_answer_s": since_fault[-1] if since_fault else None,
        "reuse_during_failure_median_ms": median(reuse_ms),
        "reuse_during_failure_worst_ms": reuse_ms[-1] if reuse_ms else None,
        "wrong_answers": wrong, "unexpected_sources": bad_source,
        "errors": sorted({r.error for _, _, _, r in replies if r.error})[:5],
    }


def run_recovery():
    if dev.live_datanodes() != 3:
        raise SystemExit("need 3 live DataNodes for the recovery benchmark")
    truth = oracle(None)
    out = {"date": dt.datetime.now().isoformat(timespec="seconds"), "counties": len(truth), "scenarios": []}
    current = None
    try:
        for profile, fault, n in RECOVERY_SCENARIOS:
            if profile != current:
                log(f"recovery: NameNode profile {profile}")
                dev.cluster("restart-nn", "--profile", profile)
                current = profile
            s = recovery_scenario(profile, fault, n, truth)
            log(f"recovery: {profile} {fault} {n}: first {fmt(s['first_answer_s'])} s, median "
                f"{fmt(s['median_answer_s'])} s, worst {fmt(s['worst_answer_s'])} s over {s['lost_counties']} "
                f"lost counties; {len(s['wrong_answers'])} wrong, {len(s['unexpected_sources'])} unexpected sources")
            out["scenarios"].append(s)
    finally:
        if current != "fast":
            dev.cluster("restart-nn", "--profile", "fast")
    return out


# ------------------------------------------------------------------ 3. throughput


async def _throughput(counties, concurrency, duration):
    channels = [grpc.aio.insecure_channel(dev.server_address()) for _ in range(min(concurrency, 8))]
    stubs = [lender_pb2_grpc.LenderStub(ch) for ch in channels]
    latencies, errors, samples = [], 0, []
    deadline = time.perf_counter() + duration

    async def client(i):
        nonlocal errors
        s = stubs[i % len(stubs)]
        k = i
        while time.perf_counter() < deadline:
            c = counties[k % len(counties)]
            k += 1
            start = time.perf_counter()
            try:
                resp = await s.CalcAvgLoan(lender_pb2.CalcAvgLoanReq(county_code=c), timeout=30)
                if resp.error or resp.source != "reuse":
                    errors += 1
                    if len(samples) < 5:
                        samples.append(f"{c}: source={resp.source!r} error={resp.error!r}")
                    continue
            except grpc.RpcError as e:
                errors += 1
                if len(samples) < 5:
                    samples.append(f"{c}: {e.code().name} {e.details()}")
                continue
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    cpu0 = time.process_time()
    await asyncio.gather(*(client(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    for ch in channels:
        await ch.close()
    return {
        "concurrency": concurrency,
        "seconds": elapsed,
        "requests": len(latencies),
        "errors": errors,
        "error_samples": samples,
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000 if latencies else None,
        "p99_ms": percentile(latencies, 99) * 1000 if latencies else None,
        "client_cpu_fraction": cpu / elapsed,
    }


def bench_throughput(counties, levels, duration):
    out = []
    for c in levels:
        r = asyncio.run(_throughput(counties, c, duration))
        log(f"throughput x{c}: {r['requests_per_s']:.0f} req/s p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms")
        out.append(r)
    return out


# ------------------------------------------------------------------ runs


def summarize(per_county):
    return {"per_county_ms": {str(c): (median(v) if isinstance(v, list) else v) * 1000
                              for c, v in per_county.items() if v not in (None, [])},
            "median_ms": (median([median(v) if isinstance(v, list) else v for v in per_county.values()
                                  if v not in (None, [])]) or 0) * 1000}


def run_1x(args):
    quick = args.quick
    reps = 1 if quick else args.reps
    query = dev.export_query()
    result = {
        "kind": "quick" if quick else "full",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "label": args.label,
        "machine": machine(),
        "other_pytest_running": other_pytest_running(),
        "config": {"reps": reps, "quick": quick},
        "export_query": query,
        "baseline": baseline(),
    }
    if not quick and dev.live_datanodes() != 3:
        raise SystemExit("need 3 live DataNodes for a full run")

    # 1. DbToHdfs: ours alternating with the peer, the floors, the Python way.
    result["export"], result["peer_export"] = bench_export(reps, restart=not quick,
                                                           rss_limit_mib=args.python_rss_limit_mib)
    result["floors"] = bench_floors(reps, query)
    log("the Python way: DbToHdfs")
    py_runs = [python_export(args.python_rss_limit_mib) for _ in range(reps)]
    p = summarize_runs(py_runs, keys=("seconds",))
    result["python_export"] = p
    e, f, peer = result["export"], result["floors"], result["peer_export"]
    floors = [f["mariadb_stream_seconds"], f["hdfs_put_seconds"]]
    f["max_seconds"], f["sum_seconds"] = max(floors), sum(floors)
    f["max_seconds_warm_put"] = max(f["mariadb_stream_seconds"], f["hdfs_put_warm_seconds"])
    e.setdefault("vs_floor_a", e["seconds"] / f["mariadb_quick_seconds"])
    e["vs_max_floor"] = e["seconds"] / f["max_seconds"]
    e["vs_sum_floors"] = e["seconds"] / f["sum_seconds"]
    e["vs_max_floor_warm_put"] = e["seconds"] / f["max_seconds_warm_put"]
    e.setdefault("peer_over_ours", ratio(peer["seconds"], e["seconds"]))
    e["peer_wall_over_ours"] = ratio(peer["wall_seconds_with_startup"], e["seconds"])
    e["peer_rss_over_ours"] = ratio(peer["peak_rss_mib"], e["server_peak_rss_mib"])
    e["python_over_ours"] = ratio(p["seconds"], e["seconds"])
    e["python_rss_over_ours"] = ratio(p["peak_rss_mib"], e["server_peak_rss_mib"])

    # 2. CalcAvgLoan.
    largest = dev.counties_by_rows(5)
    counties = [55001, largest[0]] if quick else list(dict.fromkeys(FIXED_COUNTIES + largest))
    result["counties"] = counties
    result["largest_counties"] = largest
    truth = oracle(counties)
    worker = PythonWorker()
    try:
        log(f"CalcAvgLoan create ({counties})")
        ours_c, py_c, src, py_src, answers, py_answers, windows = bench_create(
            counties, 1 if quick else args.create_reps, worker)
        log("CalcAvgLoan reuse")
        ours_r, py_r, floor_native, floor_webhdfs = bench_reuse(counties, 3 if quick else args.reuse_reps, worker)
        calc_result = {
            "create": summarize(ours_c), "reuse": summarize(ours_r),
            "create_sources": {str(c): sorted(v) for c, v in src.items()},
            "answers_match_mysql": all(answers[c] == truth[c]["avg"] for c in counties),
            "rows": {str(c): truth[c]["rows"] for c in counties},
        }
        py_result = {
            "create": summarize(py_c), "reuse": summarize(py_r),
            "create_sources": {str(c): sorted(v) for c, v in py_src.items()},
            "answers_match_mysql": all(py_answers[c] == truth[c]["avg"] for c in counties),
        }
        result["reuse_floor"] = {"hdfs_native_read": summarize(floor_native),
                                 "webhdfs_open": summarize(floor_webhdfs),
                                 "bytes": {str(c): dev.file_length(f"/partitions/{c}.parquet") for c in counties}}
        result["queue_overhead"] = queue_overhead(windows)
        if not quick:
            log("CalcAvgLoan recreate (DataNode kills)")
            ours_x, py_x, x_src, py_x_src, first = bench_recreate(counties, worker)
            calc_result["recreate"] = summarize(ours_x)
            calc_result["recreate_sources"] = {str(c): v for c, v in x_src.items()}
            calc_result["recreate_first_after_kill"] = {str(c): v for c, v in first.items()}
            py_result["recreate"] = summarize(py_x)
            py_result["recreate_sources"] = {str(c): v for c, v in py_x_src.items()}
        py_result["worker_peak_rss_mib"] = worker.ask(op="rss")["peak_rss_mib"]
    finally:
        worker.close()
        if not quick and dev.live_datanodes() < 3:
            for n in (1, 2, 3):
                dev.cluster("restore-dn", n)
    for phase in ("create", "reuse", "recreate"):
        if phase in calc_result and phase in py_result:
            calc_result[f"python_over_ours_{phase}"] = ratio(py_result[phase]["median_ms"],
                                                             calc_result[phase]["median_ms"])
    calc_result["reuse_vs_floor"] = ratio(calc_result["reuse"]["median_ms"],
                                          result["reuse_floor"]["hdfs_native_read"]["median_ms"])
    result["calc"] = calc_result
    result["python_calc"] = py_result

    # 3. Reuse throughput.
    log("reuse throughput")
    result["throughput"] = bench_throughput(counties, [1, 8, 64], 1.0 if quick else args.duration)
    return result


def run_10x(args):
    dump = dev.scaled_dump(args.scale, log=log)
    out = {"scale": args.scale, "date": dt.datetime.now().isoformat(timespec="seconds"), "dump": str(dump)}
    try:
        log(f"loading the {args.scale}x data into MariaDB (minutes)")
        start = time.perf_counter()
        dev.dev_script("mysql", "up", "--dump", dump, timeout=7200)
        out["load_seconds"] = time.perf_counter() - start
        out["export"], out["peer_export"] = bench_export(1, restart=True, label=f"lender {args.scale}x",
                                                         rss_limit_mib=args.python_rss_limit_mib)
        log(f"the Python way at {args.scale}x")
        p = python_export(args.python_rss_limit_mib)
        out["python_export"] = p
        if "seconds" in p:
            out["python_export"]["rows_per_s"] = p["rows"] / p["seconds"]
            out["export"]["python_over_ours"] = p["seconds"] / out["export"]["seconds"]
    finally:
        log("restoring the 1x data")
        dev.dev_script("mysql", "up", timeout=7200)
        status = stub().DbToHdfs(lender_pb2.Empty(), timeout=3600).status
        out["restored_1x_export"] = status
        log(f"1x re-export: {status}")
    return out
