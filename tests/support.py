"""Helpers shared by the service tests: the client, the SQL oracle, HDFS over WebHDFS, and
control of the local server. Everything talks to the real local cluster.

The helpers themselves live in pylib/lenderdev.py (shared with the benchmark); this module
re-exports them under the names the tests use."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".local" / "py"))
sys.path.insert(0, str(ROOT / "pylib"))

from lenderdev import (  # noqa: E402, F401 - re-exported for the tests
    EXPORT,
    MiB,
    avg,
    block_count,
    block_locations,
    blocks,
    client,
    cluster,
    datanode_ip,
    delete,
    export,
    export_filter,
    export_query,
    export_row_count,
    fault_profiles,
    file_length,
    file_status,
    hdfs_dfs_cmd,
    hdfs_profile,
    home_profile,
    jobs_json,
    list_dir,
    live_datanode_hosts,
    mysql_client_cmd,
    mysql_server_pid,
    mysql_url,
    oracle_averages,
    parquet_footer,
    peak_rss_mib,
    read_parquet,
    run,
    serve,
    serve_with,
    server_address,
    server_pid,
    setting,
    sql,
    wait_for_idle_jobs,
    wait_until,
    webhdfs,
    webhdfs_url,
)
from lenderdev import lender_cli as lender  # noqa: E402, F401
