"""The lender service end to end against the real local cluster (MariaDB + HDFS), with
MariaDB's own answers as the oracle. Run through `just test` (it starts what is needed)."""

import concurrent.futures as cf
import json
import math
import re

import pytest
from support import (
    EXPORT,
    avg,
    block_count,
    blocks,
    client,
    delete,
    export,
    export_row_count,
    file_status,
    jobs_json,
    lender,
    live_datanode_hosts,
    parquet_footer,
    read_parquet,
    serve,
    sql,
    wait_for_idle_jobs,
    wait_until,
)

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def exported():
    status = export()
    assert status.startswith("success"), status
    return status


def generation_of(status):
    return int(re.search(r"generation (\d+)", status).group(1))


def test_export_writes_the_join_with_replication_2_and_1_mib_blocks(exported):
    expected_rows = export_row_count()
    assert f"exported {expected_rows} rows" in exported
    status = file_status(EXPORT)
    assert status["replication"] == 2
    assert status["blockSize"] == MIB
    # the status reports the size and block count HDFS reports (footer included)
    size, blocks_ = re.search(r"\((\d+) bytes = [\d.]+ MiB, (\d+) blocks x 2 replicas\)", exported).groups()
    assert (int(size), int(blocks_)) == (status["length"], block_count(EXPORT)), exported
    table = read_parquet(EXPORT)
    assert table.num_rows == expected_rows
    loans_columns = [row[0] for row in sql("SHOW COLUMNS FROM loans")]
    assert table.column_names == loans_columns + ["loan_type_name"]
    # Every type id carries its own name, as in loan_types.
    names = dict((int(i), n) for i, n in sql("SELECT id, loan_type_name FROM loan_types"))
    pairs = set(zip(table.column("loan_type_id").to_pylist(), table.column("loan_type_name").to_pylist(), strict=True))
    assert pairs == {(i, names[i]) for i, _ in pairs}
    assert {i for i, _ in pairs} == set(names)


def test_export_row_groups_follow_the_county_layout_rule(exported):
    """Every row group holds one county, or neighbouring small counties in at most the rows
    the file's footer states, those mixed groups covering disjoint county ranges; so a
    county's read by statistics touches its own groups and at most one mixed group."""
    footer = parquet_footer(EXPORT)
    rule = footer.metadata[b"lender.layout"].decode()
    mixed_limit = int(re.search(r"in at most (\d+) rows", rule).group(1))
    assert mixed_limit <= 16384, rule
    county = footer.schema.names.index("county_code")
    mixed = []
    for i in range(footer.num_row_groups):
        group = footer.row_group(i)
        stats = group.column(county).statistics
        assert stats is not None, f"row group {i} has no county statistics"
        if not stats.has_min_max:  # the rows without a county: a group of their own
            assert stats.null_count == group.num_rows, f"row group {i}: {stats}"
        elif stats.min != stats.max:
            assert group.num_rows <= mixed_limit, \
                f"row group {i}: {group.num_rows} rows of counties {stats.min}..{stats.max}"
            mixed.append((stats.min, stats.max))
    mixed.sort()
    for (_, hi), (lo, _) in zip(mixed, mixed[1:], strict=False):
        assert hi < lo, f"mixed row groups overlap: {mixed}"
    assert sum(footer.row_group(i).num_rows for i in range(footer.num_row_groups)) == export_row_count()


def test_block_locations_count_every_replica_per_datanode(exported):
    size = file_status(EXPORT)["length"]
    # Replicas the DataNodes have not reported yet are not listed: give them a moment.
    wait_until(lambda: sum(blocks(EXPORT).block_entries.values()) == math.ceil(size / MIB) * 2, 30,
               "both replicas of every block to be reported")
    reply = blocks(EXPORT)
    assert reply.error == ""
    assert sum(reply.block_entries.values()) == math.ceil(size / MIB) * 2
    assert set(reply.block_entries) <= live_datanode_hosts()
    if math.ceil(size / MIB) >= 6:
        assert len(reply.block_entries) == 3, reply.block_entries


@pytest.mark.parametrize("path", ["", "relative/path", "/no/such/file", "/../etc/passwd",
                                  "/" + "x" * 10_000, "/bad\u0000name", "/\ufffd\ufffd"])
def test_block_locations_rejects_bad_paths_clearly(exported, path):
    reply = blocks(path)
    assert reply.error, path
    assert not reply.block_entries
    assert blocks(EXPORT).error == ""  # the server keeps serving


def test_block_locations_of_a_directory_is_an_error(exported):
    avg(55001)  # makes sure /partitions exists
    reply = blocks("/partitions")
    assert "directory" in reply.error


def test_every_county_matches_the_oracle_create_then_reuse(exported, oracle):
    delete("/partitions")
    for county, (expected, _rows) in sorted(oracle.items()):
        first = avg(county)
        assert (first.error, first.avg_loan) == ("", expected), county
        assert first.source == "create", county
        second = avg(county)
        assert (second.avg_loan, second.source) == (expected, "reuse"), county
    for county in list(oracle)[:3]:
        path = f"/partitions/{county}.parquet"
        assert file_status(path)["replication"] == 1
        assert read_parquet(path).num_rows == oracle[county][1]


@pytest.mark.parametrize("county", [0, -1, 2147483647, 55999, 55002])
def test_counties_without_loans_get_an_error_and_no_file(exported, county):
    reply = avg(county)
    assert reply.error and str(county) in reply.error
    # One sentence with the county once, labelled by what went wrong (not "job queue").
    mentions = re.findall(rf"(?<![\d-]){re.escape(str(county))}(?!\d)", reply.error)
    assert len(mentions) == 1 and "job queue" not in reply.error, reply.error
    assert file_status(f"/partitions/{county}.parquet") is None
    assert avg(55001).error == ""


def test_counties_the_export_does_not_hold_cost_no_job_and_no_store_growth(exported):
    """Unknown counties are answered from the export's county list: a flood of them leaves
    no job and does not grow the store (issue 22, item 5)."""
    def store_bytes():
        return json.loads(lender("health", "--json").stdout)["store_bytes"]

    jobs_before, bytes_before = len(jobs_json(100_000)), store_bytes()
    codes = range(56_001, 58_001)  # 5-digit codes beyond Wisconsin's 55001..55141
    with cf.ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(avg, codes))
    assert all(str(code) in r.error and "no loans" in r.error for code, r in zip(codes, replies, strict=True))
    assert len(jobs_json(100_000)) == jobs_before
    assert store_bytes() - bytes_before < 64 * 1024, (bytes_before, store_bytes())


def test_deleted_county_file_answers_create_again(exported, oracle):
    avg(55003)
    delete("/partitions/55003.parquet")
    reply = avg(55003)
    assert (reply.avg_loan, reply.source) == (oracle[55003][0], "create")


def test_reexport_of_the_same_rows_keeps_county_files_and_concurrent_calls_share_one_job(exported, oracle):
    counties = [55001, 55025, 55059, 55079, 55133]
    for county in counties:
        assert avg(county).error == ""
    wait_for_idle_jobs()
    before = generation_of(exported)
    status = export()
    assert generation_of(status) > before
    # The rows did not change: every county file is kept and answers without a job
    # (tests/test_reexport.py changes rows between exports).
    since = max(job["submitted_ms"] for job in jobs_json(5))
    assert all(avg(county).source == "reuse" for county in counties)
    assert not [j for j in jobs_json(50) if j["kind"] == "partition" and j["submitted_ms"] >= since]
    for county in counties:
        delete(f"/partitions/{county}.parquet")
    with cf.ThreadPoolExecutor(50) as pool:
        replies = list(pool.map(avg, [counties[i % 5] for i in range(50)]))
    for i, reply in enumerate(replies):
        assert (reply.error, reply.avg_loan) == ("", oracle[counties[i % 5]][0])
    # Each deleted file is created anew by one job; a call arriving after its county's job
    # finished may reuse the new file.
    for county in counties:
        sources = {r.source for i, r in enumerate(replies) if counties[i % 5] == county}
        assert "create" in sources and sources <= {"create", "reuse"}, (county, sources)
    jobs = [j for j in jobs_json(200) if j["kind"] == "partition" and j["submitted_ms"] >= since]
    assert sorted(re.search(r"county=(\d+)", j["args"]).group(1) for j in jobs) == sorted(map(str, counties))
    assert all(j["state"] == "succeeded" and len(j["attempts"]) == 1 for j in jobs)


def test_job_history_survives_a_restart(exported):
    assert avg(55001).error == ""
    wait_for_idle_jobs()
    before = jobs_json(50)
    assert any(j["kind"] == "export" and j["state"] == "succeeded" for j in before)
    serve("stop")
    try:
        offline = jobs_json(50)  # read from the store file
        assert offline == before
    finally:
        serve("start")
    assert jobs_json(50)[: len(before)] == before
    assert avg(55001).source == "reuse"


def test_client_cli_end_to_end(exported, oracle):
    code, out = client("CalcAvgLoan", "-c", 55009)
    assert code == 0 and out[0] == str(oracle[55009][0]) and out[1] in ("create", "reuse")
    code, out = client("CalcAvgLoan", "--code", 55009)
    assert (code, out) == (0, [str(oracle[55009][0]), "reuse"])
    code, out = client("BlockLocations", "-f", EXPORT)
    assert code == 0 and out[0].startswith("{") and out[0].endswith("}")
    code, out = client("BlockLocations", "--file", "/no/such/file")
    assert code == 1 and out[0].startswith("error: ")
    code, out = client("CalcAvgLoan", "-c", -1)
    assert code == 1 and out[0].startswith("error: ")
    code, out = client("DbToHdfs")
    assert code == 0 and out[0].startswith("success")
