"""Re-exports keep the county files whose rows did not change (issue 35), against the real
cluster and both MySQL flavours, MySQL's own answers as the oracle.

Between two exports the test changes the data of three counties in MySQL (one loan's amount;
only another column of one loan; every loan of a county moved out of the export's filter) and
leaves a fourth alone. After the re-export: the untouched county answers `reuse` from its old
file with the same average, with no job; the two changed ones are cut again (`create`) and
answer the new averages; the vanished one answers as an unknown county. The store keeps the
fingerprints across a server restart: a re-export after the restart still keeps the county
file. The rows are restored (and exported again) whatever happens."""

import json
import re

import pytest
from support import avg, export, export_filter, jobs_json, lender, oracle_averages, serve, sql, wait_for_idle_jobs

BACKUP = "lender_test_reexport_backup"


def counties_with_rows(minimum=20):
    """Counties with at least `minimum` exported rows, the largest first."""
    rows = sql(f"SELECT county_code, COUNT(*) AS n FROM loans WHERE {export_filter()} AND county_code IS NOT NULL "
               f"GROUP BY county_code HAVING n >= {minimum} ORDER BY n DESC")
    return [int(float(c)) for c, _ in rows]


@pytest.fixture(scope="module")
def counties():
    """(untouched, amount changed, other column changed, vanished); their rows are restored after."""
    found = counties_with_rows()
    assert len(found) >= 8, found
    chosen = (found[2], found[4], found[5], found[7])
    changed = ",".join(str(c) for c in chosen[1:])
    sql(f"DROP TABLE IF EXISTS {BACKUP}; CREATE TABLE {BACKUP} AS SELECT * FROM loans WHERE county_code IN ({changed})")
    try:
        yield chosen
    finally:
        sql(f"DELETE FROM loans WHERE county_code IN ({changed}); INSERT INTO loans SELECT * FROM {BACKUP}; "
            f"DROP TABLE {BACKUP}")
        status = export()
        assert status.startswith("success"), status


def partitions_json():
    return {p["county"]: p for p in json.loads(lender("partitions", "--json").stdout)["partitions"]}


def one_loan(county):
    """A condition naming exactly one exported loan of `county` (the largest amount below
    $700k, so an amount raised by $50k stays in the export)."""
    return (f"county_code = {county} AND {export_filter()} AND loan_amount < 700000 "
            "ORDER BY loan_amount DESC LIMIT 1")


def partition_jobs_since(ms):
    return [j for j in jobs_json(200) if j["kind"] == "partition" and j["submitted_ms"] >= ms]


def test_a_reexport_keeps_unchanged_county_files_and_recuts_changed_ones(counties):
    untouched, amount, other, vanished = counties
    status = export()
    assert status.startswith("success"), status
    before = {c: avg(c) for c in counties}
    oracle = oracle_averages(counties)
    for county, reply in before.items():
        assert (reply.error, reply.avg_loan) == ("", oracle[county][0]), county

    sql(f"UPDATE loans SET loan_amount = loan_amount + 50000 WHERE {one_loan(amount)}")
    sql(f"UPDATE loans SET lien_status = IF(lien_status = 1, 2, 1) WHERE {one_loan(other)}")
    sql(f"UPDATE loans SET loan_amount = loan_amount + 1000000 WHERE county_code = {vanished}")
    changed = oracle_averages(counties)
    assert vanished not in changed and changed[other] == oracle[other], changed
    assert changed[amount][0] > oracle[amount][0], (changed[amount], oracle[amount])

    wait_for_idle_jobs()
    status = export()
    kept = re.search(r"county files: (\d+) kept, (\d+) stale", status)
    assert kept, status
    assert int(kept.group(1)) >= 1 and int(kept.group(2)) >= 3, status
    files = partitions_json()
    assert files[untouched]["kept"] and files[untouched]["current"], files[untouched]
    for county in (amount, other, vanished):
        assert not files[county]["current"] and files[county]["state"] == "stale", files[county]

    since = max(j["submitted_ms"] for j in jobs_json(5))
    reply = avg(untouched)
    assert (reply.error, reply.source, reply.avg_loan) == ("", "reuse", before[untouched].avg_loan)
    for county in (amount, other):
        reply = avg(county)
        assert (reply.error, reply.source, reply.avg_loan) == ("", "create", changed[county][0]), county
        assert avg(county).source == "reuse"
    gone = avg(vanished)
    assert "no loans" in gone.error, gone
    wait_for_idle_jobs()
    cut = sorted(int(re.search(r"county=(\d+)", j["args"]).group(1)) for j in partition_jobs_since(since))
    assert cut == sorted((amount, other)), cut
    history = [j for j in jobs_json(20) if j["kind"] == "export"][0]
    assert "kept" in json.dumps(history), history


def test_fingerprints_survive_a_restart(counties):
    untouched = counties[0]
    assert avg(untouched).error == ""
    wait_for_idle_jobs()
    serve("stop")
    serve("start")
    status = export()
    assert status.startswith("success"), status
    assert partitions_json()[untouched]["kept"]
    reply = avg(untouched)
    assert (reply.error, reply.source) == ("", "reuse"), reply
    assert reply.avg_loan == oracle_averages([untouched])[untouched][0]
