"""Helpers shared by the service tests: the client, the SQL oracle, HDFS over WebHDFS,
and control of the local server. Everything talks to the real local cluster."""

import io
import json
import os
import re
import shlex
import subprocess
import sys
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

SERVER = "127.0.0.1:5000"
WEBHDFS = "http://127.0.0.1:9870"
EXPORT = "/hdma-wi-2021.parquet"
IN_RANGE = "loans.loan_amount > 30000 AND loans.loan_amount < 800000"
JOIN = "loans INNER JOIN loan_types ON loans.loan_type_id = loan_types.id"


def stub():
    channel = grpc.insecure_channel(SERVER)
    return lender_pb2_grpc.LenderStub(channel)


def avg(county, timeout=120):
    return stub().CalcAvgLoan(lender_pb2.CalcAvgLoanReq(county_code=county), timeout=timeout)


def blocks(path, timeout=30):
    return stub().BlockLocations(lender_pb2.BlockLocationsReq(path=path), timeout=timeout)


def export(timeout=600):
    return stub().DbToHdfs(lender_pb2.Empty(), timeout=timeout).status


def client(*args, timeout=600):
    """Runs client.py as a user would; returns (exit code, stdout lines)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".local" / "py"), LENDER_SERVER=SERVER)
    proc = subprocess.run([sys.executable, str(ROOT / "client.py"), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)
    return proc.returncode, proc.stdout.splitlines()


def sql(query):
    """Rows of a query run by MariaDB's own client (the oracle), as lists of strings."""
    out = subprocess.run(["mariadb", "-h127.0.0.1", "-P3306", "-uroot", "-pabc", "-N", "-B", "CS544",
                          "-e", query], capture_output=True, text=True, check=True, timeout=300).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def oracle_averages():
    """{county: (floor average, rows)} straight from MariaDB."""
    rows = sql(f"SELECT loans.county_code, SUM(loans.loan_amount) DIV COUNT(*), COUNT(*) "
               f"FROM {JOIN} WHERE {IN_RANGE} AND loans.county_code IS NOT NULL "
               f"GROUP BY loans.county_code")
    return {int(float(c)): (int(float(a)), int(n)) for c, a, n in rows}


def webhdfs(path, op, method="GET", **params):
    query = urllib.parse.urlencode({"op": op, **params})
    url = f"{WEBHDFS}/webhdfs/v1{urllib.parse.quote(path)}?{query}"
    for attempt in range(5):
        req = urllib.request.Request(url, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                body = resp.read()
            break
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            # A DataNode that just came back may refuse a redirected read for a moment.
            if attempt == 4:
                raise
            time.sleep(1)
    return body if op == "OPEN" else json.loads(body or b"{}")


def file_status(path):
    reply = webhdfs(path, "GETFILESTATUS")
    return reply and reply["FileStatus"]


def read_parquet(path):
    import pyarrow.parquet as pq
    return pq.read_table(io.BytesIO(webhdfs(path, "OPEN")))


def delete(path):
    webhdfs(path, "DELETE", method="DELETE", recursive="true")


def live_datanode_hosts():
    bean = json.load(urllib.request.urlopen(
        f"{WEBHDFS}/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo", timeout=5))["beans"][0]
    return {key.rsplit(":", 1)[0] for key in json.loads(bean["LiveNodes"] or "{}")}


def serve(action):
    subprocess.run(["bash", str(ROOT / "dev" / "serve.sh"), action], check=True, timeout=600,
                   capture_output=True)


def wait_for_idle_jobs(timeout=60):
    """Until no job is queued or running (history snapshots are then stable)."""
    wait_until(lambda: all(j["state"] in ("succeeded", "failed") for j in jobs_json(200)), timeout,
               "queued and running jobs to finish")


def lender(*args, check=True):
    """Runs the `lender` command line with the local server's settings."""
    env = dict(os.environ)
    for line in subprocess.run(["bash", str(ROOT / "dev" / "serve.sh"), "env"], capture_output=True,
                               text=True, check=True).stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = shlex.split(value)[0]
    return subprocess.run([str(ROOT / "target" / "release" / "lender"), *map(str, args)],
                          capture_output=True, text=True, check=check, env=env, timeout=60)


def jobs_json(limit=1000):
    return json.loads(lender("jobs", "--json", "--limit", limit).stdout)


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def cluster(*args, timeout=300):
    subprocess.run(["bash", str(ROOT / "dev" / "cluster.sh"), *map(str, args)], check=True,
                   capture_output=True, timeout=timeout)


def datanode_ip(n):
    out = subprocess.run(["bash", str(ROOT / "dev" / "cluster.sh"), "env"], capture_output=True,
                         text=True, check=True).stdout
    return re.search(rf"LENDER_HDFS_DN{n}=(\S+)", out).group(1)


def list_dir(path):
    reply = webhdfs(path, "LISTSTATUS")
    return [s["pathSuffix"] for s in reply["FileStatuses"]["FileStatus"]] if reply else []


def server_pid():
    return int((ROOT / ".local" / "server" / "server.pid").read_text())


def peak_rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
