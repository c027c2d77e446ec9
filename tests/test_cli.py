"""The `lender` command line against the running local server: help and bad flags, job
filters (checked against the unfiltered history), and one job in full."""

import json
import time

import pytest
from support import avg, export, lender


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
    assert ids("--kind", "partition", "--limit", 2) == [j["id"] for j in history if j["kind"] == "partition"][:2]


def test_one_job_shows_every_attempt(history):
    record = history[0]
    text = lender("job", record["id"]).stdout
    assert record["id"] in text and record["args"] in text
    for attempt in record["attempts"]:
        assert f"attempt {attempt['number']}: {attempt['outcome']}" in text, text
    assert json.loads(lender("job", record["id"][:18], "--json").stdout) == record
    missing = lender("job", "no-such-job", check=False)
    assert missing.returncode == 1 and "no job" in missing.stderr
