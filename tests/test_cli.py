"""The `lender` command line against the running local server: help and bad flags, job
filters (checked against the unfiltered history), and one job in full."""

import concurrent.futures as cf
import json
import time

import pytest
from support import (
    EXPORT,
    avg,
    cluster,
    datanode_ip,
    export,
    export_row_count,
    file_status,
    lender,
    live_datanode_hosts,
    wait_until,
    webhdfs,
)


@pytest.fixture(scope="module")
def history():
    assert export().startswith("success")
    avg(55001)
    avg(55003)
    avg(55999)  # no such county: a failed partition job
    return json.loads(lender("jobs", "--json", "--limit", 10000).stdout)


def ids(*args):
    return [j["id"] for j in json.loads(lender("jobs", "--json", "--limit", 10000, *args).stdout)]


def test_help_lists_the_subcommands_and_their_flags():
    top = lender("--help").stdout
    assert all(word in top for word in ("serve", "jobs", "job")), top
    jobs = lender("jobs", "--help").stdout
    assert all(flag in jobs for flag in ("--kind", "--state", "--county", "--since", "--limit", "--json")), jobs


@pytest.mark.parametrize("args", [["jobs", "--bogus"], ["jobs", "--kind", "nonsense"], ["jobs", "--since", "2w"],
                                  ["frobnicate"]])
def test_bad_flags_are_usage_errors(args):
    result = lender(*args, check=False)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "error" in result.stderr.lower() and result.stdout == ""


def test_filters_return_exactly_the_matching_jobs(history):
    assert ids() == [j["id"] for j in history]
    assert ids("--kind", "export") == [j["id"] for j in history if j["kind"] == "export"]
    assert ids("--state", "failed") == [j["id"] for j in history if j["state"] == "failed"]
    assert ids("--state", "failed"), "the fixture makes a failed job"
    county = [j["id"] for j in history if "county=55001" in j["args"].split()]
    assert county and ids("--county", 55001) == county
    recent = [j["id"] for j in history if j["submitted_ms"] >= (time.time() - 3600) * 1000 + 5000]
    assert set(recent) <= set(ids("--since", "1h")) <= {j["id"] for j in history}
    two = json.loads(lender("jobs", "--json", "--kind", "partition", "--limit", 2).stdout)
    assert [j["id"] for j in two] == [j["id"] for j in history if j["kind"] == "partition"][:2]


def test_one_job_shows_every_attempt(history):
    record = history[0]
    text = lender("job", record["id"]).stdout
    assert record["id"] in text and record["args"] in text
    for attempt in record["attempts"]:
        assert f"attempt {attempt['number']}: {attempt['outcome']}" in text, text
    assert json.loads(lender("job", record["id"][:18], "--json").stdout) == record
    missing = lender("job", "no-such-job", check=False)
    assert missing.returncode == 1 and "no job" in missing.stderr


# The admin views (partitions, health) answer from state at most this old (src/api/admin.rs).
VIEW_REFRESH = 1.1


def partitions_report():
    return json.loads(lender("partitions", "--json").stdout)


def test_partitions_agree_with_webhdfs_and_show_what_a_datanode_failure_cost(history):
    for county in (55005, 55007, 55009):
        avg(county)
    time.sleep(VIEW_REFRESH)  # past the admin view's cache: the files just made are in it
    report = partitions_report()
    assert report["partitions"], "no county files known"
    for p in report["partitions"]:
        reply = webhdfs(p["path"], "GETFILEBLOCKLOCATIONS")
        hosts = sorted({h for b in reply["BlockLocations"]["BlockLocation"] for h in b["hosts"]})
        assert p["hosts"] == hosts, p
    at_risk = {d["host"]: d["county_files_at_risk"] for d in report["datanodes"]}
    victim = next(p["hosts"][0] for p in report["partitions"] if p["county"] == 55001)
    on_victim = {p["county"] for p in report["partitions"] if p["hosts"] == [victim]}
    assert at_risk[victim] == len(on_victim)
    n = next(n for n in (1, 2, 3) if datanode_ip(n) == victim)
    cluster("kill-dn", n)
    try:
        def lost():
            return {p["county"] for p in partitions_report()["partitions"] if p["state"] == "lost"}
        wait_until(lambda: lost() == on_victim, 60, f"exactly the county files on {victim} to show as lost")
        assert json.loads(lender("health", "--json").stdout)["datanodes"][victim] != "live"
        for county in on_victim:
            assert avg(county, timeout=60).error == ""
        def rebuilt():
            after = {p["county"]: p for p in partitions_report()["partitions"]}
            return {c: (after[c]["state"], after[c]["hosts"]) for c in on_victim}

        wait_until(lambda: all(state == "healthy" and victim not in hosts
                               for state, hosts in rebuilt().values()),
                   5, "the recreated county files to show as healthy elsewhere", detail=rebuilt)
    finally:
        cluster("restore-dn", n)


def test_health_reports_what_the_server_depends_on(history):
    health = json.loads(lender("health", "--json").stdout)
    assert health["namenode"]["ok"] and health["mysql"]["ok"], health
    assert health["datanodes"] == dict.fromkeys(live_datanode_hosts(), "live")
    assert health["export"]["bytes"] == file_status(EXPORT)["length"]
    assert health["store_bytes"] > 0
    assert "NameNode  ok" in lender("health").stdout


def test_a_running_export_shows_its_progress(history):
    """While an export runs, `lender jobs` shows rows so far, the rate and an ETA from the
    previous export's row count; `lender job ID` shows the same line."""
    previous = next(j for j in history if j["kind"] == "export" and j["state"] == "succeeded")
    previous_rows = previous["attempts"][-1]["rows"]
    with cf.ThreadPoolExecutor(1) as pool:
        running = pool.submit(export)
        seen = []

        def progress_shown():
            jobs = json.loads(lender("jobs", "--json", "--kind", "export", "--state", "running").stdout)
            for j in jobs:
                if j.get("progress", {}).get("rows"):
                    seen.append((j, lender("job", j["id"]).stdout))
            return bool(seen) or running.done()

        wait_until(progress_shown, 120, "a running export with progress")
        assert seen, "the export finished before any progress was shown"
        job, text = seen[0]
        assert running.result().startswith("success")
    p = job["progress"]
    assert 0 < p["rows"] <= export_row_count(), p
    assert p["expected_rows"] == previous_rows and p["eta_s"] is not None and p["rows_per_s"] > 0, p
    if "state     running" in text:  # the export may end between the two calls
        assert "progress  " in text and "rows/s" in text and "ETA" in text, text
