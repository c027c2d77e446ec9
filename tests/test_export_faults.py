"""DbToHdfs with a DataNode failing while the big file is written: killed (SIGKILL) or cut off
(packets dropped) at about 25, 50 and 75 % of the write, in both NameNode timing profiles.

The call must answer success with the whole file (rows counted by MariaDB), replication 2,
no block left under-replicated once the node is back, the MySQL query run once (one
attempt), and every county must answer the SQL oracle from the new file. The times are
printed per profile and fault (a benchmark, not asserted: these machines are shared)."""

import concurrent.futures as cf
import threading
import time

import pytest
from support import (
    EXPORT,
    avg,
    cluster,
    export,
    export_row_count,
    file_status,
    jobs_json,
    read_parquet,
    serve,
    wait_until,
    webhdfs,
)

FRACTIONS = (0.25, 0.50, 0.75)
TIMES = {}  # (profile, scenario) -> seconds


@pytest.fixture(scope="module")
def expected_rows():
    return export_row_count()


@pytest.fixture(scope="module", autouse=True)
def server_and_report():
    serve("start")
    yield
    for n in (1, 2, 3):
        cluster("restore-dn", n)
    cluster("restart-nn", "--profile", "fast")
    if TIMES:
        print("\n\nDbToHdfs with a DataNode failing mid-write (seconds; normal = no failure)")
        for (profile, scenario), seconds in TIMES.items():
            print(f"  {profile:9} {scenario:14} {seconds:6.1f}")


def upload_bytes():
    """Bytes the NameNode counts for the export's temporary file (complete blocks)."""
    reply = webhdfs("/.lender-tmp", "LISTSTATUS")
    statuses = reply["FileStatuses"]["FileStatus"] if reply else []
    return sum(s["length"] for s in statuses if s["pathSuffix"].endswith("hdma-wi-2021.parquet"))


def timed_export(fail=None):
    """DbToHdfs; with fail=(fault, n, fraction), fails DataNode n once the upload holds that
    fraction of the previous file's size. Returns (status, seconds, job)."""
    since = max((j["submitted_ms"] for j in jobs_json(5)), default=0)
    full = file_status(EXPORT)["length"] if file_status(EXPORT) else 16 << 20
    result = {}
    started = time.monotonic()
    call = threading.Thread(target=lambda: result.setdefault("status", export(timeout=300)))
    call.start()
    if fail:
        fault, n, fraction = fail
        while call.is_alive() and upload_bytes() < fraction * full:
            time.sleep(0.05)
        assert call.is_alive(), "the export ended before the fault could be injected"
        cluster(fault, n)
    call.join(300)
    seconds = time.monotonic() - started
    job = next(j for j in jobs_json(10) if j["kind"] == "export" and j["submitted_ms"] > since)
    return result.get("status", "(no answer)"), seconds, job


def blocks_per_replica_count(path):
    reply = webhdfs(path, "GETFILEBLOCKLOCATIONS")
    return [len(b["hosts"]) for b in reply["BlockLocations"]["BlockLocation"]]


def check_export(expected_rows, oracle):
    status = file_status(EXPORT)
    assert status["replication"] == 2, status
    assert read_parquet(EXPORT).num_rows == expected_rows
    counties = list(oracle)
    with cf.ThreadPoolExecutor(4) as pool:
        replies = dict(zip(counties, pool.map(lambda c: avg(c, timeout=60), counties), strict=True))
    wrong = {c: (r.error, r.avg_loan) for c, r in replies.items() if (r.error, r.avg_loan) != ("", oracle[c][0])}
    assert not wrong, f"counties answering wrongly after the export: {wrong}"


@pytest.mark.parametrize("profile", ["fast", "contract"])
def test_export_survives_a_datanode_failing_mid_write(profile, oracle, expected_rows):
    cluster("restart-nn", "--profile", profile)
    status, seconds, _ = timed_export()
    assert status.startswith("success"), status
    TIMES[(profile, "normal")] = seconds
    scenarios = [(fault, n, fraction) for fault in ("kill-dn", "cut-dn")
                 for n, fraction in zip((1, 2, 3), FRACTIONS, strict=True)]
    for fault, n, fraction in scenarios:
        name = f"{fault.removesuffix('-dn')} {fraction:.0%}"
        try:
            status, seconds, job = timed_export((fault, n, fraction))
            assert status.startswith("success"), (name, status)
            outcomes = [a["outcome"] for a in job["attempts"]]
            assert outcomes == ["succeeded"], (name, outcomes)  # one attempt: one MySQL query
            TIMES[(profile, name)] = seconds
        finally:
            cluster("restore-dn", n)
        # Blocks written while the node was down have one replica; the NameNode re-replicates.
        wait_until(lambda: set(blocks_per_replica_count(EXPORT)) == {2}, 120,
                   f"every block of {EXPORT} to have 2 replicas after {name}")
        check_export(expected_rows, oracle)
