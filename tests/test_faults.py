"""Fault tolerance on the real local cluster: DataNodes killed (SIGKILL) or cut off (packets
dropped) in the cluster's profile (and, on our tuned config, in the contract's timing too), the
server killed mid-job, MySQL gone, and a load test with a DataNode failing in the middle.
Answers are checked against the SQL oracle."""

import concurrent.futures as cf
import random
import threading
import time

import grpc
import pytest
from support import (
    EXPORT,
    avg,
    blocks,
    cluster,
    datanode_ip,
    delete,
    export,
    home_profile,
    jobs_json,
    list_dir,
    peak_rss_mib,
    read_parquet,
    serve,
    server_pid,
    wait_until,
)

CALL_TIMEOUT = 30  # a call that takes longer than this counts as hung


@pytest.fixture(scope="module", autouse=True)
def healthy_cluster_and_server():
    serve("start")
    status = export()
    assert status.startswith("success"), status
    yield
    for n in (1, 2, 3):
        cluster("restore-dn", n)
    serve("start")


def fresh_partitions(oracle):
    """Every county file written anew; returns {county: its DataNode host}."""
    delete("/partitions")
    hosts = {}
    for county in oracle:
        reply = avg(county, timeout=CALL_TIMEOUT)
        assert reply.source == "create", (county, reply)
        hosts[county] = set(blocks(f"/partitions/{county}.parquet").block_entries)
    return hosts


def every_county_survives(oracle, fault, n):
    """Fails DataNode n, then asks every county (lost ones first). Returns figures."""
    hosts = fresh_partitions(oracle)
    victim = datanode_ip(n)
    lost = [c for c, h in hosts.items() if victim in h]
    kept = [c for c in hosts if c not in lost]
    assert lost, "no county file on the failed DataNode; the test would prove nothing"
    failed_at = time.monotonic()
    cluster(fault, n)
    latencies = {}
    try:
        for county in lost + kept:
            started = time.monotonic()
            reply = avg(county, timeout=CALL_TIMEOUT)
            latencies[county] = time.monotonic() - started
            assert (reply.error, reply.avg_loan) == ("", oracle[county][0]), county
            assert reply.source == ("recreate" if county in lost else "reuse"), county
        first_answer = latencies[lost[0]] + (time.monotonic() - failed_at - sum(latencies.values()))
        for county in lost:
            assert victim not in blocks(f"/partitions/{county}.parquet").block_entries
            again = avg(county, timeout=CALL_TIMEOUT)
            assert (again.avg_loan, again.source) == (oracle[county][0], "reuse")
        # Reports what the NameNode reports, without error. (The recreations above read the
        # big file during the failure: its second replicas serve.)
        assert blocks(EXPORT).error == ""
    finally:
        cluster("restore-dn", n)
    ordered = sorted(latencies[c] for c in lost)
    print(f"\n{fault} dn{n}: {len(lost)} lost counties, first answer {first_answer:.2f} s after the "
          f"fault, recreate median {ordered[len(ordered) // 2]:.2f} s worst {ordered[-1]:.2f} s")


def test_killed_datanode(oracle):
    every_county_survives(oracle, "kill-dn", 1)


def test_cut_datanode(oracle):
    every_county_survives(oracle, "cut-dn", 2)


@pytest.mark.skipif(home_profile() == "course", reason="the course profile has the contract's timing already")
def test_killed_and_cut_datanode_contract_profile(oracle):
    """The NameNode waits ~90 s to declare a node dead: we must not."""
    cluster("restart-nn", "--profile", "contract")
    try:
        every_county_survives(oracle, "kill-dn", 3)
        every_county_survives(oracle, "cut-dn", 1)
    finally:
        cluster("restart-nn", "--profile", home_profile())


def background(call):
    result = {}

    def run():
        try:
            result["value"] = call()
        except grpc.RpcError as e:
            result["error"] = e

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_server_killed_mid_export_finishes_after_restart():
    rows_before = read_parquet(EXPORT).num_rows
    since = max(j["submitted_ms"] for j in jobs_json(5))
    thread, _ = background(lambda: export(timeout=120))
    wait_until(lambda: any(j["kind"] == "export" and j["state"] == "running" and j["submitted_ms"] > since
                           for j in jobs_json(5)), 30, "the export to start")
    time.sleep(1.0)
    serve("kill")
    thread.join(30)
    assert read_parquet(EXPORT).num_rows == rows_before  # the old, complete file
    serve("start")

    def exports():
        return [j for j in jobs_json(20) if j["kind"] == "export" and j["submitted_ms"] > since]

    def resumed_running():
        job = exports()[0]
        return job["state"] == "running" and len(job["attempts"]) >= 2

    # A DbToHdfs arriving while the resumed job runs joins it instead of starting another.
    wait_until(resumed_running, 60, "the interrupted export to run again after the restart")
    joined = export(timeout=120)
    assert joined.startswith("success"), joined
    wait_until(lambda: exports()[0]["state"] == "succeeded", 120, "the resumed export to finish")
    assert len(exports()) == 1, [(j["id"], j["state"]) for j in exports()]
    job = exports()[0]
    assert job["summary"] == joined, (job["summary"], joined)
    outcomes = [a["outcome"] for a in job["attempts"]]
    assert outcomes[0] == "interrupted" and outcomes[-1] == "succeeded", outcomes
    assert read_parquet(EXPORT).num_rows == rows_before
    wait_until(lambda: not list_dir("/.lender-tmp"), 30, "temporary files to be cleaned up")


def test_server_killed_mid_partitions_loses_no_accepted_job(oracle):
    status = export()
    assert status.startswith("success"), status
    delete("/partitions")  # every county needs a new file (a re-export keeps unchanged ones)
    since = max(j["submitted_ms"] for j in jobs_json(5))
    counties = sorted(oracle)
    with cf.ThreadPoolExecutor(len(counties)) as pool:
        calls = [pool.submit(avg, c, CALL_TIMEOUT) for c in counties]
        wait_until(lambda: sum(j["kind"] == "partition" for j in jobs_json(200)
                               if j["submitted_ms"] > since) >= len(counties) // 2, 30, "partition jobs")
        serve("kill")
        for call in calls:
            try:
                call.result()
            except grpc.RpcError:
                pass  # the server died under this call
    accepted = {j["id"] for j in jobs_json(500) if j["kind"] == "partition" and j["submitted_ms"] > since}
    serve("start")

    def all_done():
        jobs = [j for j in jobs_json(500) if j["id"] in accepted]
        return all(j["state"] == "succeeded" for j in jobs)

    wait_until(all_done, 120, "every accepted partition job to finish after the restart")
    for county in counties:
        reply = avg(county, timeout=CALL_TIMEOUT)
        assert (reply.error, reply.avg_loan) == ("", oracle[county][0])
    wait_until(lambda: not list_dir("/.lender-tmp"), 30, "temporary files to be cleaned up")


def test_export_without_mysql_fails_clearly_and_keeps_the_old_file():
    """MySQL absent (nothing listens where the server looks for it): DbToHdfs retries for
    LENDER_MYSQL_WAIT_SECS, then answers a clear error; the old file stays."""
    from support import mysql_url, serve_with
    rows_before = read_parquet(EXPORT).num_rows
    try:
        serve_with({"LENDER_MYSQL_WAIT_SECS": "3", "LENDER_MYSQL_URL": mysql_url(port=3399)})
        started = time.monotonic()
        status = export(timeout=60)
        assert status.startswith("error") and "MySQL" in status and "not reachable" in status, status
        assert time.monotonic() - started < 30
        assert read_parquet(EXPORT).num_rows == rows_before
    finally:
        serve("stop")
        serve("start")
    assert export().startswith("success")


def test_load_with_a_datanode_failing_midway(oracle):
    """64 clients, mixed calls, a DataNode killed halfway: no wrong answer, no hung call."""
    fresh_partitions(oracle)
    counties = sorted(oracle)
    deadline = time.monotonic() + 20
    latencies, wrong, errors = [], [], []
    lock = threading.Lock()

    def client(seed):
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            county = rng.choice(counties)
            started = time.monotonic()
            try:
                if rng.random() < 0.1:
                    ok = blocks(EXPORT, timeout=CALL_TIMEOUT).error == ""
                else:
                    reply = avg(county, timeout=CALL_TIMEOUT)
                    ok = reply.error == "" and reply.avg_loan == oracle[county][0]
                    if reply.error == "" and not ok:
                        with lock:
                            wrong.append((county, reply.avg_loan))
            except grpc.RpcError as e:
                ok = False
                with lock:
                    errors.append(e.code())
            with lock:
                latencies.append(time.monotonic() - started)
                if not ok:
                    errors.append("error reply")

    killer = threading.Timer(10, lambda: cluster("kill-dn", 2))
    killer.start()
    started = time.monotonic()
    try:
        with cf.ThreadPoolExecutor(64) as pool:
            list(pool.map(client, range(64)))
    finally:
        killer.join()
        cluster("restore-dn", 2)
    elapsed = time.monotonic() - started
    latencies.sort()
    print(f"\nload: {len(latencies) / elapsed:.0f} req/s, {len(errors)} errors, "
          f"p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms, "
          f"server peak RSS {peak_rss_mib(server_pid()):.0f} MiB")
    assert not wrong
    assert not [e for e in errors if e == grpc.StatusCode.DEADLINE_EXCEEDED]
    assert not errors


def test_namenode_down_fails_fast_and_recovers(oracle):
    import os
    import signal

    from support import ROOT
    assert avg(55001, timeout=CALL_TIMEOUT).error == ""
    os.kill(int((ROOT / ".local" / "hdfs" / "pids" / "nn.pid").read_text()), signal.SIGKILL)
    try:
        for call in (lambda: avg(55001, timeout=CALL_TIMEOUT), lambda: avg(55003, timeout=CALL_TIMEOUT),
                     lambda: blocks(EXPORT, timeout=CALL_TIMEOUT)):
            started = time.monotonic()
            reply = call()
            assert reply.error, reply
            assert time.monotonic() - started < 10, "a call waited too long on a dead NameNode"
        assert "NameNode" in avg(55001, timeout=CALL_TIMEOUT).error
    finally:
        cluster("up")
    wait_until(lambda: avg(55001, timeout=CALL_TIMEOUT).error == "", 60, "answers once the NameNode is back")
    reply = avg(55001, timeout=CALL_TIMEOUT)
    assert (reply.avg_loan, reply.source) == (oracle[55001][0], "reuse")  # nothing was lost
