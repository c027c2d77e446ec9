#!/usr/bin/env python3
"""Benchmark of the lender service side by side with the physical floors and the Python way.

    python3 bench/bench.py                 # full run at 1x data (restarts the server, kills DataNodes)
    python3 bench/bench.py --quick         # smoke variant: 1 repetition, 2 counties, no kills/restarts
    python3 bench/bench.py --scale 10      # DbToHdfs at 10x data (ours + the Python way), merged
                                           # into the latest full 1x result; restores the 1x data
    python3 bench/bench.py --recovery      # time to correct answers after a DataNode kill / cut in
                                           # both NameNode profiles, merged into the latest full result
    python3 bench/bench.py --render FILE   # rewrite BENCHMARKS.md and the plots from a result file

Runs against the local cluster (dev/cluster.sh, dev/mysql.sh, dev/serve.sh): MariaDB 127.0.0.1:3306,
HDFS 127.0.0.1:9000 / WebHDFS :9870, the server on 127.0.0.1:5000. Results go to
<out>/<date>-<label>.json (default out: bench/results); a full run also writes BENCHMARKS.md and the
PNG plots. Every figure is a median of the repetitions unless its name says otherwise. The cluster
is always left with 3 live DataNodes (a killed DataNode is restored in a finally block).
"""
import argparse
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
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".local" / "py"))

import grpc  # noqa: E402
import lender_pb2  # noqa: E402
import lender_pb2_grpc  # noqa: E402

SERVER = os.environ.get("LENDER_SERVER", "127.0.0.1:5000")
WEBHDFS = os.environ.get("BENCH_WEBHDFS", "http://127.0.0.1:9870")
EXPORT = "/hdma-wi-2021.parquet"
FLOOR_DIR = "/bench/floor"
PY_BASE = "/bench/python"
FIXED_COUNTIES = [55001, 55003, 55027, 55059, 55133]
PYTHON_WAY = ROOT / "bench" / "python_way.py"
MiB = 1 << 20
T0 = time.monotonic()

# The issue's targets (issue 6).
TARGETS = {
    "export_vs_max_floor": 1.3,      # ours / max(floors) at most
    "export_vs_python": 5.0,         # python / ours at least
    "export_peak_rss_mib": 250.0,    # at most, and flat from 1x to 10x
    "reuse_median_ms": 10.0,
    "create_median_ms": 300.0,
    "calc_vs_python": 10.0,          # python / ours at least, for create and reuse
    "queue_overhead_ms": 5.0,        # "a few milliseconds"
    "recovery_first_answer_s": 5.0,  # issue 4: first correct answer for a lost county after a failure
}

# Issue 4's failure matrix: (NameNode profile, fault, DataNode). Different DataNodes, so each
# scenario starts from a node that has been up for a while.
RECOVERY_SCENARIOS = [("fast", "kill-dn", 1), ("fast", "cut-dn", 2),
                      ("contract", "kill-dn", 3), ("contract", "cut-dn", 1)]


def log(msg):
    print(f"[bench {time.monotonic() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def export_query():
    """The exact query the export runs, read from src/mysql.rs (EXPORT_QUERY)."""
    src = (ROOT / "src" / "mysql.rs").read_text()
    m = re.search(r'pub const EXPORT_QUERY: &str = "(.*?)";', src, re.S)
    return re.sub(r"\\\n\s*", "", m.group(1))


# ------------------------------------------------------------------ helpers


def run(cmd, timeout=1800, check=True):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=check, cwd=ROOT)


def timed(cmd, timeout=1800, stdout=None):
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=stdout or subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
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


_channel = None


def stub():
    global _channel
    if _channel is None:
        _channel = grpc.insecure_channel(SERVER)
    return lender_pb2_grpc.LenderStub(_channel)


def reset_channel():
    global _channel
    if _channel is not None:
        _channel.close()
    _channel = None


def webhdfs(path, op, method="GET", **params):
    query = urllib.parse.urlencode({"op": op, **params})
    url = f"{WEBHDFS}/webhdfs/v1{urllib.parse.quote(path)}?{query}"
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            body = resp.read()
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise
    return body if op == "OPEN" else json.loads(body or b"{}")


def hdfs_delete(path):
    webhdfs(path, "DELETE", method="DELETE", recursive="true")


def file_length(path):
    st = webhdfs(path, "GETFILESTATUS")
    return st and st["FileStatus"]["length"]


def datanode_of(path):
    """DataNode number (1..3) holding the file's first block, from its IP 10.213.0.1N."""
    reply = webhdfs(path, "GETFILEBLOCKLOCATIONS")
    if not reply:
        return None
    blocks = reply["BlockLocations"]["BlockLocation"]
    if not blocks:
        return None
    host = blocks[0]["hosts"][0]
    return int(host.rsplit(".", 1)[1]) - 10


def live_datanodes():
    bean = json.load(urllib.request.urlopen(
        f"{WEBHDFS}/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo", timeout=10))["beans"][0]
    return len(json.loads(bean["LiveNodes"] or "{}"))


def sql(query):
    out = run(["mariadb", "-h127.0.0.1", "-P3306", "-uroot", "-pabc", "-N", "-B", "CS544", "-e", query]).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def server_pid():
    return int((ROOT / ".local" / "server" / "server.pid").read_text())


def proc_mib(pid, key):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return None


def serve(action):
    run(["bash", "dev/serve.sh", action], timeout=900)


def cluster(*args, timeout=600):
    run(["bash", "dev/cluster.sh", *map(str, args)], timeout=timeout)


def hdfs_cli(*args, timeout=600):
    return ["bash", "dev/cluster.sh", "hdfs", "dfs", *map(str, args)]


def jobs_json(limit=200):
    env = dict(os.environ)
    for line in run(["bash", "dev/serve.sh", "env"]).stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = shlex.split(value)[0]
    out = subprocess.run([str(ROOT / "target" / "release" / "lender"), "jobs", "--json", "--limit", str(limit)],
                         capture_output=True, text=True, check=True, env=env, timeout=60, cwd=ROOT).stdout
    return json.loads(out)


def calc(county, timeout=120):
    """One CalcAvgLoan through gRPC: (seconds, reply, wall start ms, wall end ms)."""
    wall0 = time.time() * 1000
    start = time.perf_counter()
    resp = stub().CalcAvgLoan(lender_pb2.CalcAvgLoanReq(county_code=county), timeout=timeout)
    elapsed = time.perf_counter() - start
    return elapsed, resp, wall0, time.time() * 1000


def machine():
    mem = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())

    def out(cmd):
        try:
            return run(cmd, timeout=30).stdout.strip()
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


# ------------------------------------------------------------------ the Python way


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
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(PYTHON_WAY), "export"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    seen = {"peak": 0.0, "killed": False}

    def watch():
        while proc.poll() is None:
            try:
                rss = proc_mib(proc.pid, "VmRSS") or 0.0
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
                         "(it holds the whole table in memory)",
                "wall_seconds": wall, "peak_rss_mib": seen["peak"]}
    if proc.returncode != 0:
        return {"error": err.strip().splitlines()[-1] if err.strip() else f"exit {proc.returncode}",
                "wall_seconds": wall, "peak_rss_mib": seen["peak"]}
    reply = json.loads(out.strip().splitlines()[-1])
    reply["wall_seconds"] = wall  # including interpreter start-up and imports
    return reply


# ------------------------------------------------------------------ 1. DbToHdfs


def bench_export(reps, restart, label="ours"):
    if restart:
        log("restarting the server (clean VmHWM)")
        serve("stop")
        serve("start")
        reset_channel()
    pid = server_pid()
    rss_before = proc_mib(pid, "VmRSS")
    times, rows, statuses = [], None, []
    for i in range(reps):
        start = time.perf_counter()
        status = stub().DbToHdfs(lender_pb2.Empty(), timeout=3600).status
        times.append(time.perf_counter() - start)
        statuses.append(status)
        if not status.startswith("success"):
            raise RuntimeError(f"DbToHdfs failed: {status}")
        rows = int(re.search(r"exported (\d+) rows", status).group(1))
        log(f"{label} DbToHdfs {i + 1}/{reps}: {times[-1]:.2f} s")
    secs = median(times)
    return {
        "seconds": secs,
        "runs": times,
        "rows": rows,
        "rows_per_s": rows / secs,
        "bytes": file_length(EXPORT),
        "server_peak_rss_mib": proc_mib(pid, "VmHWM"),
        "server_rss_before_mib": rss_before,
        "server_restarted": restart,
        "status": statuses[-1],
    }


def bench_floors(reps, query):
    log("floor: MariaDB client streaming the export query")
    mariadb = [timed(["bash", "-c", f"mariadb -h127.0.0.1 -uroot -pabc CS544 -B -e {shlex.quote(query)} > /dev/null"])
               for _ in range(reps)]
    tmp = Path(tempfile.mkdtemp(prefix="lender-bench-"))
    try:
        local = tmp / "export.parquet"
        local.write_bytes(webhdfs(EXPORT, "OPEN"))
        shutil.copy(local, tmp / "export2.parquet")
        size = local.stat().st_size
        opts = ["-D", "dfs.replication=2", "-D", "dfs.blocksize=1048576"]
        run(hdfs_cli("-mkdir", "-p", f"{FLOOR_DIR}/warm"))
        log("floor: hdfs CLI put (cold JVM each time)")
        cold = [timed(hdfs_cli(*opts, "-put", "-f", local, f"{FLOOR_DIR}/put.parquet")) for _ in range(reps)]
        # One JVM putting two files: the second put runs warm. warm = t(2 files) - t(1 file).
        two = [timed(hdfs_cli(*opts, "-put", "-f", local, tmp / "export2.parquet", f"{FLOOR_DIR}/warm/"))
               for _ in range(reps)]
        jvm = [timed(hdfs_cli("-test", "-d", "/")) for _ in range(reps)]
        put_replication = webhdfs(f"{FLOOR_DIR}/put.parquet", "GETFILESTATUS")["FileStatus"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        hdfs_delete(FLOOR_DIR)
    cold_s = median(cold)
    warm_s = max(0.0, median(two) - cold_s)
    return {
        "mariadb_stream_seconds": median(mariadb),
        "mariadb_stream_runs": mariadb,
        "hdfs_put_seconds": cold_s,
        "hdfs_put_runs": cold,
        "hdfs_put_warm_seconds": warm_s,
        "hdfs_cli_jvm_only_seconds": median(jvm),
        "put_bytes": size,
        "put_replication": put_replication["replication"],
        "put_block_size": put_replication["blockSize"],
    }


# ------------------------------------------------------------------ 2. CalcAvgLoan


def largest_counties(n=5):
    rows = sql("SELECT county_code, COUNT(*) AS n FROM loans INNER JOIN loan_types "
               "ON loans.loan_type_id = loan_types.id WHERE loan_amount > 30000 AND loan_amount < 800000 "
               f"AND county_code IS NOT NULL GROUP BY county_code ORDER BY n DESC LIMIT {int(n)}")
    return [int(float(c)) for c, _ in rows]


def oracle(counties):
    rows = sql("SELECT county_code, SUM(loan_amount) DIV COUNT(*), COUNT(*) FROM loans INNER JOIN loan_types "
               "ON loans.loan_type_id = loan_types.id WHERE loan_amount > 30000 AND loan_amount < 800000 "
               f"AND county_code IN ({','.join(map(str, counties))}) GROUP BY county_code")
    return {int(float(c)): {"avg": int(float(a)), "rows": int(n)} for c, a, n in rows}


def bench_create(counties, reps, worker):
    """create: /partitions (and the Python way's partitions) deleted, then each county once."""
    ours = {c: [] for c in counties}
    py = {c: [] for c in counties}
    sources, py_sources, answers, py_answers, windows = {}, {}, {}, {}, []
    for rep in range(reps):
        hdfs_delete("/partitions")
        for c in counties:
            secs, resp, w0, w1 = calc(c)
            if resp.error:
                raise RuntimeError(f"CalcAvgLoan {c}: {resp.error}")
            ours[c].append(secs)
            sources.setdefault(c, set()).add(resp.source)
            answers[c] = resp.avg_loan
            windows.append((c, secs, w0, w1))
        hdfs_delete(f"{PY_BASE}/partitions")
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
        jobs = jobs_json(limit=max(200, 3 * len(windows)))
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
            webhdfs(f"/partitions/{c}.parquet", "OPEN")
            floor_webhdfs[c].append(time.perf_counter() - start)
    return ours, py, floor_native, floor_webhdfs


def bench_recreate(counties, worker):
    """For each DataNode in turn: kill it, ask every not yet measured county whose partition
    (ours, or the Python way's) it holds, restore it. Always restores."""
    ours, py, first = {}, {}, {}
    sources, py_sources = {}, {}
    for n in (1, 2, 3):
        ours_here = [c for c in counties if c not in ours and datanode_of(f"/partitions/{c}.parquet") == n]
        py_here = [c for c in counties if c not in py
                   and datanode_of(f"{PY_BASE}/partitions/{c}.parquet") == n]
        if not ours_here and not py_here:
            continue
        log(f"recreate: killing DataNode {n} (ours: {ours_here}, python: {py_here})")
        cluster("kill-dn", n)
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
            cluster("restore-dn", n)
    return ours, py, sources, py_sources, first


# ------------------------------------------------------------------ recovery (issue 4)


def all_counties():
    rows = sql("SELECT DISTINCT county_code FROM loans WHERE county_code IS NOT NULL "
               "AND loan_amount > 30000 AND loan_amount < 800000")
    return sorted(int(float(c)) for (c,) in rows)


def fresh_partitions(counties):
    """Every county file written anew; returns {county: DataNode number holding it}."""
    hdfs_delete("/partitions")
    for c in counties:
        _, resp, _, _ = calc(c)
        if resp.error or resp.source != "create":
            raise RuntimeError(f"CalcAvgLoan {c} before the fault: {resp.source} {resp.error}")
    return {c: datanode_of(f"/partitions/{c}.parquet") for c in counties}


def recovery_scenario(profile, fault, n, truth):
    """Fails DataNode n, then asks every county at once: those whose only replica was on n
    must come back `recreate`, the others `reuse`, all equal to MariaDB's answer. Times
    run from the moment the fault command started. Always restores the DataNode."""
    holders = fresh_partitions(sorted(truth))
    lost = [c for c, dn in holders.items() if dn == n]
    kept = [c for c in holders if c not in lost]
    log(f"recovery: {profile} profile, {fault} {n}: {len(lost)} county files on the failed node")
    t0 = time.perf_counter()
    cluster(fault, n)
    fault_cmd_s = time.perf_counter() - t0

    def ask(county):
        secs, resp, _, _ = calc(county, timeout=60)
        return county, time.perf_counter() - t0, secs, resp

    try:
        with cf.ThreadPoolExecutor(len(lost) + len(kept)) as pool:
            replies = list(pool.map(ask, lost + kept))
    finally:
        cluster("restore-dn", n)
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
    if live_datanodes() != 3:
        raise SystemExit("need 3 live DataNodes for the recovery benchmark")
    truth = oracle(all_counties())
    out = {"date": dt.datetime.now().isoformat(timespec="seconds"), "counties": len(truth), "scenarios": []}
    current = None
    try:
        for profile, fault, n in RECOVERY_SCENARIOS:
            if profile != current:
                log(f"recovery: NameNode profile {profile}")
                cluster("restart-nn", "--profile", profile)
                current = profile
            s = recovery_scenario(profile, fault, n, truth)
            log(f"recovery: {profile} {fault} {n}: first {fmt(s['first_answer_s'])} s, median "
                f"{fmt(s['median_answer_s'])} s, worst {fmt(s['worst_answer_s'])} s over {s['lost_counties']} "
                f"lost counties; {len(s['wrong_answers'])} wrong, {len(s['unexpected_sources'])} unexpected sources")
            out["scenarios"].append(s)
    finally:
        if current != "fast":
            cluster("restart-nn", "--profile", "fast")
    return out


# ------------------------------------------------------------------ 3. throughput


async def _throughput(counties, concurrency, duration):
    channels = [grpc.aio.insecure_channel(SERVER) for _ in range(min(concurrency, 8))]
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
    query = export_query()
    result = {
        "kind": "quick" if quick else "full",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "label": args.label,
        "machine": machine(),
        "other_pytest_running": other_pytest_running(),
        "config": {"reps": reps, "quick": quick},
        "targets": TARGETS,
    }
    if not quick and live_datanodes() != 3:
        raise SystemExit("need 3 live DataNodes for a full run")

    # 1. DbToHdfs: ours, floors, the Python way.
    result["export"] = bench_export(reps, restart=not quick)
    result["floors"] = bench_floors(reps, query)
    log("the Python way: DbToHdfs")
    py_runs = [python_export(args.python_rss_limit_mib) for _ in range(reps)]
    ok = [r for r in py_runs if "error" not in r]
    result["python_export"] = {
        "seconds": median([r["seconds"] for r in ok]),
        "wall_seconds_with_startup": median([r["wall_seconds"] for r in ok]),
        "runs": [r.get("seconds") for r in py_runs],
        "rows": ok[0]["rows"] if ok else None,
        "rows_per_s": ok[0]["rows"] / median([r["seconds"] for r in ok]) if ok else None,
        "bytes": ok[0]["bytes"] if ok else None,
        "peak_rss_mib": max(r["peak_rss_mib"] for r in py_runs),
        "errors": [r["error"] for r in py_runs if "error" in r],
    }
    e, f, p = result["export"], result["floors"], result["python_export"]
    floors = [f["mariadb_stream_seconds"], f["hdfs_put_seconds"]]
    f["max_seconds"], f["sum_seconds"] = max(floors), sum(floors)
    f["max_seconds_warm_put"] = max(f["mariadb_stream_seconds"], f["hdfs_put_warm_seconds"])
    e["vs_max_floor"] = e["seconds"] / f["max_seconds"]
    e["vs_sum_floors"] = e["seconds"] / f["sum_seconds"]
    e["vs_max_floor_warm_put"] = e["seconds"] / f["max_seconds_warm_put"]
    e["python_over_ours"] = ratio(p["seconds"], e["seconds"])
    e["python_rss_over_ours"] = ratio(p["peak_rss_mib"], e["server_peak_rss_mib"])

    # 2. CalcAvgLoan.
    largest = largest_counties(5)
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
                                 "bytes": {str(c): file_length(f"/partitions/{c}.parquet") for c in counties}}
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
        if not quick and live_datanodes() < 3:
            for n in (1, 2, 3):
                cluster("restore-dn", n)
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
    result["targets_status"] = evaluate(result)
    return result


def run_10x(args):
    dump = ROOT / ".local" / "data" / f"hdma-wi-2021-x{args.scale}.sql.gz"
    out = {"scale": args.scale, "date": dt.datetime.now().isoformat(timespec="seconds"), "dump": str(dump)}
    if not dump.exists():
        log(f"generating the {args.scale}x dump")
        run(["cargo", "run", "-q", "-p", "datagen", "--release", "--", "--scale", str(args.scale),
             "--out", str(dump)], timeout=3600)
    try:
        log(f"loading the {args.scale}x data into MariaDB (minutes)")
        start = time.perf_counter()
        run(["bash", "dev/mysql.sh", "up", "--dump", str(dump)], timeout=7200)
        out["load_seconds"] = time.perf_counter() - start
        out["export"] = bench_export(1, restart=True, label=f"ours {args.scale}x")
        log(f"the Python way at {args.scale}x")
        p = python_export(args.python_rss_limit_mib)
        out["python_export"] = p
        if "seconds" in p:
            out["python_export"]["rows_per_s"] = p["rows"] / p["seconds"]
            out["export"]["python_over_ours"] = p["seconds"] / out["export"]["seconds"]
    finally:
        log("restoring the 1x data")
        run(["bash", "dev/mysql.sh", "up"], timeout=7200)
        status = stub().DbToHdfs(lender_pb2.Empty(), timeout=3600).status
        out["restored_1x_export"] = status
        log(f"1x re-export: {status}")
    return out


def evaluate(r):
    """Each target of the issue: met or missed, with the figure."""
    t, e, c, p = TARGETS, r["export"], r["calc"], r["python_calc"]
    rows = []

    def add(name, figure, met, text):
        rows.append({"target": name, "figure": figure, "met": bool(met) if figure is not None else None,
                     "text": text})
    add("DbToHdfs within 1.3x of max(floors)", e["vs_max_floor"], e["vs_max_floor"] <= t["export_vs_max_floor"],
        f"{e['vs_max_floor']:.2f}x ({e['seconds']:.2f} s vs {r['floors']['max_seconds']:.2f} s)")
    py = e.get("python_over_ours")
    add("DbToHdfs 5x faster than the Python way", py, py is not None and py >= t["export_vs_python"],
        f"{py:.1f}x" if py else "python way failed")
    rss = e["server_peak_rss_mib"]
    add("Server peak RSS under 250 MiB (1x)", rss, rss < t["export_peak_rss_mib"], f"{rss:.0f} MiB")
    x10 = r.get("scale_10")
    if x10 and "export" in x10:
        rss10 = x10["export"]["server_peak_rss_mib"]
        flat = rss10 < t["export_peak_rss_mib"] and rss10 <= 1.25 * rss
        add("Server peak RSS flat from 1x to 10x", rss10, flat, f"{rss:.0f} MiB at 1x, {rss10:.0f} MiB at 10x")
    else:
        add("Server peak RSS flat from 1x to 10x", None, None, "10x run not done")
    add("CalcAvgLoan reuse median under 10 ms", c["reuse"]["median_ms"], c["reuse"]["median_ms"] < t["reuse_median_ms"],
        f"{c['reuse']['median_ms']:.1f} ms")
    add("CalcAvgLoan create median under 300 ms", c["create"]["median_ms"],
        c["create"]["median_ms"] < t["create_median_ms"], f"{c['create']['median_ms']:.0f} ms")
    for phase in ("create", "reuse"):
        v = c.get(f"python_over_ours_{phase}")
        add(f"CalcAvgLoan {phase} 10x better than the Python way", v, v is not None and v >= t["calc_vs_python"],
            f"{v:.1f}x ({p[phase]['median_ms']:.1f} ms vs {c[phase]['median_ms']:.1f} ms)" if v else "n/a")
    rec = r.get("recovery")
    if rec:
        for sc in rec["scenarios"]:
            first, worst = sc["first_answer_s"], sc["worst_answer_s"]
            clean = not sc["wrong_answers"] and not sc["unexpected_sources"]
            add(f"First correct answer for a lost county within 5 s ({sc['fault']}, {sc['profile']} profile)",
                first, clean and first is not None and first <= t["recovery_first_answer_s"],
                f"{fmt(first)} s (median {fmt(sc['median_answer_s'])} s, worst {fmt(worst)} s over "
                f"{sc['lost_counties']} counties)" + ("" if clean else "; WRONG ANSWERS OR SOURCES"))
    q = r.get("queue_overhead", {}).get("median_ms")
    add("The queue adds at most a few ms per job", q, q is not None and q <= t["queue_overhead_ms"],
        f"{q:.1f} ms median (max {r['queue_overhead']['max_ms']:.1f} ms)" if q is not None else "n/a")
    return rows


# ------------------------------------------------------------------ report


def plots(r, out_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = {}
    c, p = r["calc"], r["python_calc"]
    phases = [ph for ph in ("create", "reuse", "recreate") if ph in c]
    fig, ax = plt.subplots(figsize=(7, 4))
    xs = range(len(phases))
    w = 0.38
    ours_v = [c[ph]["median_ms"] for ph in phases]
    py_v = [p.get(ph, {}).get("median_ms", 0) for ph in phases]
    b1 = ax.bar([x - w / 2 for x in xs], ours_v, w, label="lender (Rust, gRPC)")
    b2 = ax.bar([x + w / 2 for x in xs], py_v, w, label="the Python way")
    ax.axhline(r["reuse_floor"]["hdfs_native_read"]["median_ms"], color="grey", ls="--", lw=1,
               label="reuse floor: HDFS read of the partition")
    ax.bar_label(b1, fmt="%.1f", fontsize=8)
    ax.bar_label(b2, fmt="%.1f", fontsize=8)
    ax.set_xticks(list(xs), phases)
    ax.set_yscale("log")
    ax.set_ylabel("median latency, ms (log)")
    ax.set_title(f"CalcAvgLoan, median over {len(r['counties'])} counties")
    ax.legend(fontsize=8)
    fig.tight_layout()
    files["calc"] = out_dir / "calc_latency.png"
    fig.savefig(files["calc"], dpi=110)
    plt.close(fig)

    e, f, pe = r["export"], r["floors"], r["python_export"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    labels = ["lender 1x", "Python 1x", "floor: mariadb\nstream", "floor: hdfs put\n(cold JVM)"]
    vals = [e["seconds"], pe["seconds"] or 0, f["mariadb_stream_seconds"], f["hdfs_put_seconds"]]
    x10 = r.get("scale_10")
    if x10 and "export" in x10:
        px = x10["python_export"]
        labels += ["lender 10x", "Python 10x" + ("\n(killed at this\ntime, no result)" if px.get("error") else "")]
        vals += [x10["export"]["seconds"], px.get("seconds") or px.get("wall_seconds") or 0]
    bars = a1.bar(labels, vals, color=["C0", "C1", "grey", "grey", "C0", "C1"][:len(vals)])
    a1.bar_label(bars, fmt="%.1f", fontsize=8)
    a1.set_ylabel("seconds")
    a1.set_title("DbToHdfs time")
    a1.tick_params(axis="x", labelsize=7)
    mlabels = ["lender 1x", "Python 1x"]
    mvals = [e["server_peak_rss_mib"], pe["peak_rss_mib"]]
    if x10 and "export" in x10:
        mlabels += ["lender 10x", "Python 10x" + ("\n(killed at the limit)" if x10["python_export"].get("error") else "")]
        mvals += [x10["export"]["server_peak_rss_mib"], x10["python_export"].get("peak_rss_mib") or 0]
    bars = a2.bar(mlabels, mvals, color=["C0", "C1", "C0", "C1"][:len(mvals)])
    a2.bar_label(bars, fmt="%.0f", fontsize=8)
    a2.axhline(250, color="red", ls="--", lw=1, label="target 250 MiB")
    a2.set_yscale("log")
    a2.set_ylabel("peak RSS, MiB (log)")
    a2.set_title("DbToHdfs peak memory (server / Python process)")
    a2.legend(fontsize=8)
    a2.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    files["export"] = out_dir / "export_time_memory.png"
    fig.savefig(files["export"], dpi=110)
    plt.close(fig)
    return files


def fmt(v, spec=".2f"):
    return "—" if v is None else format(v, spec)


def markdown(r, files, json_path):
    m, e, f, pe, c, pc = r["machine"], r["export"], r["floors"], r["python_export"], r["calc"], r["python_calc"]
    rel = lambda p: os.path.relpath(p, ROOT)  # noqa: E731
    L = []
    L.append("# Benchmarks\n")
    L.append("Generated by `just bench` (`bench/bench.py`, then `--scale 10` and `--recovery`) from "
             f"`{rel(json_path)}`. Re-render with `python3 bench/bench.py --render {rel(json_path)}`.\n")
    L.append(f"- Date: {r['date']}; commit {m['git_commit']}"
             + (f" (working tree had uncommitted changes in: {', '.join(sorted({p.split()[-1] for p in m['git_dirty_paths']}))})"
                if m["git_dirty_paths"] else "") + "\n"
             f"- Machine: {m['cpu_model']}, {m['nproc']} cores (shared with other work), {m['memory_gib']} GiB, "
             f"{m['os']}, kernel {m['kernel']}, Python {m['python']}, {m['rustc']}\n"
             f"- Cluster: local MariaDB, HDFS NameNode + 3 DataNodes (separate JVMs, network namespaces), "
             f"the server in release build; synthetic data ({e['rows']:,} exported rows).\n"
             f"- Medians of {r['config']['reps']} repetitions for DbToHdfs and its floors, "
             f"{r['config'].get('create_reps', '?')} for create, {r['config'].get('reuse_reps', '?')} per county for reuse, "
             "1 for recreate (one DataNode kill per DataNode holding measured partitions).\n"
             + ("- **A pytest run was in progress on the same cluster during this run: figures are noisier.**\n"
                if r.get("other_pytest_running") else ""))
    L.append("## DbToHdfs\n")
    L.append("| | seconds | rows/s | peak RSS MiB |\n|---|---:|---:|---:|")
    L.append(f"| lender (gRPC, server VmHWM) | {e['seconds']:.2f} | {e['rows_per_s']:,.0f} | {e['server_peak_rss_mib']:.0f} |")
    L.append(f"| the Python way (`bench/python_way.py`) | {fmt(pe['seconds'])} | {fmt(pe['rows_per_s'], ',.0f')} | {pe['peak_rss_mib']:.0f} |")
    L.append(f"| floor (a): `mariadb -B -e <EXPORT_QUERY> > /dev/null` | {f['mariadb_stream_seconds']:.2f} | "
             f"{e['rows'] / f['mariadb_stream_seconds']:,.0f} | |")
    L.append(f"| floor (b): `hdfs dfs -put` {f['put_bytes'] / MiB:.1f} MiB, repl. 2, 1 MiB blocks (cold JVM) | "
             f"{f['hdfs_put_seconds']:.2f} | | |")
    L.append(f"| floor (b'): the same put, warm (2nd file in the same JVM) | {f['hdfs_put_warm_seconds']:.2f} | | |")
    x10 = r.get("scale_10")
    if x10 and "export" in x10:
        x, xp = x10["export"], x10["python_export"]
        L.append(f"| lender at {x10['scale']}x | {x['seconds']:.2f} | {x['rows_per_s']:,.0f} | {x['server_peak_rss_mib']:.0f} |")
        L.append(f"| the Python way at {x10['scale']}x | {fmt(xp.get('seconds'))} | {fmt(xp.get('rows_per_s'), ',.0f')} | "
                 f"{fmt(xp.get('peak_rss_mib'), '.0f')}{' (' + xp['error'] + ')' if xp.get('error') else ''} |")
    L.append("")
    L.append(f"Ratios: ours / max(floors) = **{e['vs_max_floor']:.2f}** (max = {f['max_seconds']:.2f} s); "
             f"ours / sum(floors) = **{e['vs_sum_floors']:.2f}** (sum = {f['sum_seconds']:.2f} s); "
             f"ours / max(mariadb, warm put) = {e['vs_max_floor_warm_put']:.2f}. "
             f"The Python way takes **{fmt(e['python_over_ours'], '.1f')}x** our time and "
             f"**{fmt(e['python_rss_over_ours'], '.1f')}x** our memory. "
             f"HDFS CLI JVM start-up alone (`hdfs dfs -test -d /`): {f['hdfs_cli_jvm_only_seconds']:.2f} s.\n")
    L.append("## CalcAvgLoan (latency through gRPC; the Python way in a warm process)\n")
    counties = r["counties"]
    head = "| county | rows | ours create | ours reuse | ours recreate | Python create | Python reuse | Python recreate | reuse floor (hdfs-native read) | WebHDFS OPEN |"
    L.append(head)
    L.append("|---" * (head.count("|") - 1) + "|")

    def cell(d, phase, cty):
        v = d.get(phase, {}).get("per_county_ms", {}).get(str(cty))
        return "—" if v is None else f"{v:.1f}"
    for cty in counties:
        L.append(f"| {cty} | {c['rows'][str(cty)]:,} | {cell(c, 'create', cty)} | {cell(c, 'reuse', cty)} | "
                 f"{cell(c, 'recreate', cty)} | {cell(pc, 'create', cty)} | {cell(pc, 'reuse', cty)} | "
                 f"{cell(pc, 'recreate', cty)} | {cell(r['reuse_floor'], 'hdfs_native_read', cty)} | "
                 f"{cell(r['reuse_floor'], 'webhdfs_open', cty)} |")
    med = lambda d, ph: fmt(d.get(ph, {}).get("median_ms"), ".1f")  # noqa: E731
    L.append(f"| **median** | | **{med(c, 'create')}** | **{med(c, 'reuse')}** | **{med(c, 'recreate')}** | "
             f"{med(pc, 'create')} | {med(pc, 'reuse')} | {med(pc, 'recreate')} | "
             f"{med(r['reuse_floor'], 'hdfs_native_read')} | {med(r['reuse_floor'], 'webhdfs_open')} |")
    L.append("")
    L.append(f"All times in ms. Python / ours: create **{fmt(c.get('python_over_ours_create'), '.1f')}x**, "
             f"reuse **{fmt(c.get('python_over_ours_reuse'), '.1f')}x**, "
             f"recreate {fmt(c.get('python_over_ours_recreate'), '.1f')}x. Ours reuse / floor = "
             f"{fmt(c.get('reuse_vs_floor'), '.2f')}. Answers equal MariaDB's: ours {c['answers_match_mysql']}, "
             f"Python way {pc['answers_match_mysql']}. Queue overhead (gRPC end-to-end minus the job's own "
             f"time, create jobs): median {fmt(r['queue_overhead'].get('median_ms'), '.1f')} ms, "
             f"max {fmt(r['queue_overhead'].get('max_ms'), '.1f')} ms over {r['queue_overhead'].get('samples')} jobs. "
             f"Python worker peak RSS: {fmt(pc.get('worker_peak_rss_mib'), '.0f')} MiB.\n")
    if "recreate_first_after_kill" in c:
        firsts = [c["recreate"]["per_county_ms"][k] for k, v in c["recreate_first_after_kill"].items()
                  if v and k in c["recreate"]["per_county_ms"]]
        others = [c["recreate"]["per_county_ms"][k] for k, v in c["recreate_first_after_kill"].items()
                  if not v and k in c["recreate"]["per_county_ms"]]
        L.append(f"Recreate (ours): the first county asked after each DataNode kill took "
                 f"{', '.join(f'{v:.0f}' for v in firsts)} ms; the other counties on the same dead node "
                 f"{', '.join(f'{v:.0f}' for v in others)} ms. "
                 f"Sources seen: ours {sorted(set(c['recreate_sources'].values()))}, "
                 f"Python way {sorted(set(map(str, pc.get('recreate_sources', {}).values())))}.\n")
    L.append("## Reuse throughput (CalcAvgLoan reuse, all measured counties round-robin, one asyncio client process)\n")
    L.append("| concurrent clients | requests/s | p50 ms | p99 ms | errors | client CPU |\n|---:|---:|---:|---:|---:|---:|")
    for t in r["throughput"]:
        L.append(f"| {t['concurrency']} | {t['requests_per_s']:,.0f} | {t['p50_ms']:.1f} | {t['p99_ms']:.1f} | "
                 f"{t['errors']} | {t['client_cpu_fraction']:.0%} |")
    L.append("\nerrors: calls that failed or were not answered from `reuse`; client CPU: the load "
             "generator's CPU time / wall time (it shares the 2 cores with the server and the cluster).\n")
    rec = r.get("recovery")
    if rec:
        L.append("## Recovery after a DataNode failure (`bench.py --recovery`, issue 4)\n")
        L.append(f"Every county file is written anew ({rec['counties']} counties), one DataNode fails, and at once "
                 "every county is asked concurrently. Seconds from the start of the fault command to each lost "
                 "county's correct `recreate` answer (the kill command waits for the JVM to exit, ~2 s of the "
                 "figure; a cut takes effect at once); the other counties' `reuse` latency during the failure. "
                 f"Run {rec['date']}.\n")
        L.append("| NameNode profile | fault | fault command s | lost counties | first s | median s | worst s | reuse during failure, median / worst ms | wrong | errors |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for sc in rec["scenarios"]:
            L.append(f"| {sc['profile']} | {sc['fault']} dn{sc['datanode']} | {fmt(sc['fault_command_seconds'])} | {sc['lost_counties']} | "
                     f"{fmt(sc['first_answer_s'])} | {fmt(sc['median_answer_s'])} | {fmt(sc['worst_answer_s'])} | "
                     f"{fmt(sc['reuse_during_failure_median_ms'], '.1f')} / {fmt(sc['reuse_during_failure_worst_ms'], '.1f')} | "
                     f"{len(sc['wrong_answers'])} | {'; '.join(sc['errors']) or '—'} |")
        L.append("")
    L.append("## Targets (issues 6 and 4)\n")
    L.append("| target | figure | status |\n|---|---|---|")
    for t in r["targets_status"]:
        st = "not measured" if t["met"] is None else ("met" if t["met"] else "**missed**")
        L.append(f"| {t['target']} | {t['text']} | {st} |")
    L.append("")
    L.append("## Plots\n")
    for k, pth in files.items():
        L.append(f"![{k}]({rel(pth)})\n")
    faults = ROOT / "bench" / "results" / "export-faults.txt"
    if faults.exists():
        L.append("## DbToHdfs with a DataNode failing mid-write (`just bench-export-faults`, issue 11)\n")
        L.append("From the last run of `tests/test_export_faults.py` (its printed table, kept in "
                 f"`{rel(faults)}`): a DataNode killed or cut off at about 25/50/75 % of the upload, in "
                 "both NameNode profiles; target: at most the normal time + 10 s.\n")
        L.append("```\n" + faults.read_text().strip() + "\n```\n")
    if r.get("notes"):
        L.append("## Notes\n")
        L.append(r["notes"].strip() + "\n")
    L.append("## How to run\n")
    L.append("```sh\njust dev-up && just dev-serve   # the local cluster and the server\n"
             "just bench                        # full run (~25 min with the 10x and recovery parts): kills and restores DataNodes, restarts the server\n"
             "just bench-recovery               # only the DataNode-failure recovery part (~5 min)\n"
             "just bench-quick                  # smoke variant (CI runs it through tests/test_bench_smoke.py)\n"
             "just perf-analysis                # outputs/performance_results.csv + .png through client.py\n```\n")
    return "\n".join(L)


def render(json_path, write_md=True):
    r = json.loads(Path(json_path).read_text())
    r["targets_status"] = evaluate(r)
    Path(json_path).write_text(json.dumps(r, indent=1))
    files = plots(r, Path(json_path).parent)
    if write_md:
        (ROOT / "BENCHMARKS.md").write_text(markdown(r, files, Path(json_path)))
    return files


def latest_full(out_dir):
    cands = sorted(Path(out_dir).glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for p in cands:
        try:
            if json.loads(p.read_text()).get("kind") == "full":
                return p
        except ValueError:
            continue
    return None


def merge_into_latest_full(out_dir, key, part):
    base = latest_full(out_dir)
    if base:
        r = json.loads(base.read_text())
        r[key] = part
        base.write_text(json.dumps(r, indent=1))
        render(base)
        log(f"merged into {base} and rendered BENCHMARKS.md")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke variant: 1 rep, 2 counties, no kills/restarts/10x")
    ap.add_argument("--scale", type=int, default=1, help="10: the 10x DbToHdfs part, merged into the latest full result")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"), help="directory for the JSON (and plots)")
    ap.add_argument("--label", default=None, help="label in the file name (default: full/quick/x10)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions for DbToHdfs and its floors")
    ap.add_argument("--create-reps", type=int, default=3)
    ap.add_argument("--reuse-reps", type=int, default=20)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per throughput level")
    ap.add_argument("--python-rss-limit-mib", type=float, default=12 * 1024,
                    help="kill the Python way's export beyond this RSS (the machine has 24 GiB)")
    ap.add_argument("--recovery", action="store_true",
                    help="time to correct answers after DataNode failures, merged into the latest full result")
    ap.add_argument("--render", metavar="JSON", help="only rewrite BENCHMARKS.md and the plots from a result file")
    args = ap.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.render:
        render(args.render)
        return 0
    day = dt.date.today().isoformat()
    if args.recovery:
        rec = run_recovery()
        (out_dir / f"{day}-recovery.json").write_text(json.dumps(rec, indent=1))
        merge_into_latest_full(out_dir, "recovery", rec)
        print(json.dumps(rec, indent=1))
        return 0
    if args.scale != 1:
        args.label = args.label or f"x{args.scale}"
        x = run_10x(args)
        (out_dir / f"{day}-{args.label}.json").write_text(json.dumps(x, indent=1))
        merge_into_latest_full(out_dir, f"scale_{args.scale}", x)
        print(json.dumps(x, indent=1))
        return 0
    args.label = args.label or ("quick" if args.quick else "full")
    result = run_1x(args)
    result["config"].update(create_reps=1 if args.quick else args.create_reps,
                            reuse_reps=3 if args.quick else args.reuse_reps,
                            throughput_seconds=1.0 if args.quick else args.duration)
    path = out_dir / f"{day}-{args.label}.json"
    path.write_text(json.dumps(result, indent=1))
    files = plots(result, out_dir)
    if not args.quick:
        (ROOT / "BENCHMARKS.md").write_text(markdown(result, files, path))
    log(f"results: {path}")
    for t in result["targets_status"]:
        log(f"  {'MET   ' if t['met'] else 'MISSED' if t['met'] is not None else 'n/a   '} {t['target']}: {t['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
