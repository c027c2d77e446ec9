"""An export attempt that cannot go on ends, and stops its own work.

MySQL that stops delivering rows mid-export (the server frozen with SIGSTOP, or the table
locked by another session): DbToHdfs ends with a clear error within the stall bound (plus a
tenth), the old file stays, the stalled attempt is in the job history, the server leaves no
query of its own running in MySQL, and the next DbToHdfs succeeds once MySQL is back. An
upload that fails while MySQL still sends rows: no query left in MySQL, no spool file left
open by the server."""

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from support import (
    EXPORT,
    delete,
    export,
    hdfs_dfs_cmd,
    jobs_json,
    mysql_client_cmd,
    mysql_server_pid,
    read_parquet,
    run,
    serve,
    serve_with,
    server_pid,
    sql,
    wait_until,
)

STALL = 5  # LENDER_MYSQL_STALL_SECS for these tests
SLACK = 3  # the bound is checked ten times per bound; the rest is the call's own overhead


@pytest.fixture(scope="module", autouse=True)
def server_with_a_short_stall_bound():
    serve_with({"LENDER_MYSQL_STALL_SECS": str(STALL)})
    status = export()
    assert status.startswith("success"), status
    yield
    serve("stop")
    serve("start")


def export_in_background():
    """Starts DbToHdfs on a thread; returns a function giving (status, seconds it took)."""
    result = {}

    def call():
        started = time.monotonic()
        result["status"] = export(timeout=120)
        result["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=call)
    thread.start()

    def outcome():
        thread.join(120)
        assert not thread.is_alive(), "DbToHdfs still waiting after 120 s"
        return result["status"], result["seconds"]
    return outcome


def export_queries():
    """Queries of the export still running in MySQL (the server's own session)."""
    return sql("SELECT info FROM information_schema.processlist WHERE info LIKE '%loan_types%'"
               " AND info NOT LIKE '%processlist%'")


def sleeping_sessions():
    """Ids of the sessions holding the lock (running SELECT SLEEP)."""
    return [row[0] for row in sql("SELECT id FROM information_schema.processlist"
                                  " WHERE info LIKE 'SELECT SLEEP%'")]


def newest_export_attempt_error():
    job = next(j for j in jobs_json(20) if j["kind"] == "export")
    return job["state"], [a.get("error") or "" for a in job["attempts"]]


def assert_stall_reported(status, seconds, rows_before, waited_from):
    assert status.startswith("error") and f"MySQL sent no rows for {STALL} s" in status, status
    assert seconds - waited_from <= STALL + SLACK, (seconds, status)
    state, errors = newest_export_attempt_error()
    assert state == "failed" and len(errors) == 1 and "sent no rows" in errors[0], errors
    assert read_parquet(EXPORT).num_rows == rows_before


def test_a_frozen_mysql_ends_the_export_within_the_stall_bound():
    rows_before = read_parquet(EXPORT).num_rows
    pid = mysql_server_pid()
    outcome = export_in_background()
    # Mid-export: freeze as soon as the query runs (a 1x export reads MySQL for about 1.5 s
    # since it has its own row reader, so a fixed sleep could miss it).
    waited_from = wait_until(export_queries, 10, "the export's query to start in MySQL", interval=0.02)
    os.kill(pid, signal.SIGSTOP)
    try:
        status, seconds = outcome()
    finally:
        os.kill(pid, signal.SIGCONT)
    assert_stall_reported(status, seconds, rows_before, waited_from=waited_from)
    wait_until(lambda: not export_queries(), 10, "the stalled export query to be gone from MySQL")
    assert export().startswith("success")


def test_a_locked_table_ends_the_export_within_the_stall_bound():
    rows_before = read_parquet(EXPORT).num_rows
    hold = STALL + 15
    locker = subprocess.Popen(mysql_client_cmd("-e", f"LOCK TABLES loans WRITE; SELECT SLEEP({hold})"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: sleeping_sessions(), 10, "the other session to hold the lock")
        status, seconds = export_in_background()()
        assert_stall_reported(status, seconds, rows_before, waited_from=0)
        assert not export_queries(), "the export's query still waits for the lock in MySQL"
    finally:
        locker.kill()
        for session in sleeping_sessions():
            sql(f"KILL {session}")
        locker.wait(10)
    assert export().startswith("success")


def open_deleted_files(pid):
    """Files the process holds open that are no longer in any directory (a spool left behind)."""
    held = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink()
        except OSError:
            continue
        if str(target).endswith(" (deleted)"):
            held.append(str(target))
    return held


def test_a_failed_upload_stops_the_query_and_releases_the_spool():
    """The upload fails at once (the temporary directory is a file), while MySQL still sends
    rows: every attempt fails, and the server stops reading and encoding each time."""
    delete("/.lender-tmp")
    run(hdfs_dfs_cmd("-touchz", "/.lender-tmp"))
    try:
        status = export(timeout=120)
        assert status.startswith("error") and "/.lender-tmp" in status, status
        # Within 3 s: a 1x export reads MySQL for about 3 s, so a reader left running would
        # still be there (the bound tells a stopped attempt from one that ran to its end).
        query_gone = wait_until(lambda: not export_queries(), 3,
                                "the failed attempt's query to be gone from MySQL")
        spool_closed = wait_until(lambda: not open_deleted_files(server_pid()), 3,
                                  "the failed attempt's spool and spill files to be closed",
                                  detail=lambda: open_deleted_files(server_pid()))
        print(f"failed upload: query gone after {query_gone:.2f} s, spool closed after {spool_closed:.2f} s")
    finally:
        delete("/.lender-tmp")
    assert export().startswith("success")
