"""Real Oracle MySQL, as the course's MySQL 8.4 image (issue 21): the server dev/mysql.sh runs
with LENDER_MYSQL_FLAVOUR=mysql (mysqld from a Debian sid root, 127.0.0.1:3307) is Oracle
MySQL whose root accounts all use caching_sha2_password, and the first DbToHdfs after a real
mysqld restart succeeds with the oracle's row count: the restart empties the server's cache of
password hashes and breaks every connection the service held, so the service has to connect
again and do caching_sha2's full authentication.

Those two are skipped unless the flavour in use (LENDER_MYSQL_FLAVOUR, else `dev/mysql.sh env`)
is mysql; the second also needs HDFS and the lender server, started against this flavour
(LENDER_MYSQL_FLAVOUR=mysql dev/serve.sh start).

The last test runs on either flavour: the server's own row reader (src/mysql/wire.rs, our
connection's row packets straight into Arrow) against mysql_async's `Value` decoder as the
oracle, through the `#[ignore]`d Rust tests of src/mysql/live.rs."""

import os
import time
import urllib.parse
from pathlib import Path

import pytest
from lenderdev import ROOT, dev_script, export, export_row_count, mysql, mysql_flavour, mysql_url, run, server_pid, sql

oracle_mysql_only = pytest.mark.skipif(
    mysql_flavour() != "mysql", reason="LENDER_MYSQL_FLAVOUR is not mysql (this is the Oracle MySQL flavour's test)")


def status_value(name):
    """A global status variable of the server (Uptime, Connections, ...), as an int."""
    rows = sql(f"SHOW GLOBAL STATUS LIKE '{name}'")
    assert rows, f"the server has no status variable {name}"
    return int(rows[0][1])


def mysqld_pid():
    """The pid `dev/mysql.sh status` reports for this checkout's mysqld."""
    out = dev_script("mysql", "status", timeout=60).stdout
    for word, nxt in zip(out.split(), out.split()[1:], strict=False):
        if word == "pid":
            return int(nxt.rstrip(","))
    raise AssertionError(f"dev/mysql.sh status names no mysqld of this checkout:\n{out}")


@oracle_mysql_only
def test_server_is_oracle_mysql_and_every_root_account_uses_caching_sha2():
    version, comment = sql("SELECT VERSION(), @@version_comment")[0]
    assert "mariadb" not in f"{version} {comment}".lower(), (version, comment)
    assert int(version.split(".")[0]) >= 8, version
    # system variables of Oracle MySQL's caching_sha2_password plugin (MariaDB has none)
    assert sql("SHOW GLOBAL VARIABLES LIKE 'caching_sha2_password_auto_generate_rsa_keys'"), version
    accounts = sql("SELECT host, plugin FROM mysql.user WHERE user = 'root'")
    assert {host for host, _ in accounts} >= {"%", "localhost"}, accounts
    assert all(plugin == "caching_sha2_password" for _, plugin in accounts), accounts


@oracle_mysql_only
def test_first_export_after_a_mysqld_restart_matches_the_oracle():
    # the running lender server must be the one that talks to this flavour's server
    environ, problem = None, None
    try:
        environ = Path(f"/proc/{server_pid()}/environ").read_bytes().split(b"\0")
    except (OSError, ValueError) as e:
        problem = e
    if environ is None:
        pytest.fail(f"the lender server is not running ({problem}): LENDER_MYSQL_FLAVOUR=mysql dev/serve.sh start",
                    pytrace=False)
    urls = [v.split(b"=", 1)[1].decode() for v in environ if v.startswith(b"LENDER_MYSQL_URL=")]
    assert urls, "the lender server runs without LENDER_MYSQL_URL"
    assert urllib.parse.urlsplit(urls[0]).port == int(mysql()["port"]), \
        f"the lender server uses {urls[0]}, not this flavour's port {mysql()['port']}: restart it with " \
        "LENDER_MYSQL_FLAVOUR=mysql"

    # a warm service first: it holds pooled connections to the mysqld about to restart
    assert export().startswith("success")

    pid_before = mysqld_pid()
    uptime_before = status_value("Uptime")
    if uptime_before < 3:  # so that a restart's Uptime is unambiguously lower
        time.sleep(3 - uptime_before)
        uptime_before = status_value("Uptime")
    t0 = time.monotonic()
    dev_script("mysql", "restart", timeout=600)
    restart_s = time.monotonic() - t0

    pid_after = mysqld_pid()
    uptime_after = status_value("Uptime")
    assert pid_after != pid_before, "dev/mysql.sh restart left the same mysqld running"
    assert uptime_after < uptime_before, (uptime_before, uptime_after)
    assert uptime_after <= restart_s + 5, (uptime_after, restart_s)
    # The restart's own set-up queries and ours above authenticated root@'%'; FLUSH PRIVILEGES
    # empties caching_sha2_password's cache again, so that the service's next connection needs
    # the full authentication, as after a restart of the course's container.
    sql("FLUSH PRIVILEGES")

    status = export()
    assert status.startswith("success"), status
    expected = export_row_count()
    assert f"exported {expected} rows" in status, (expected, status)
    # the export read from the restarted server (it did not die and come back under us)
    assert mysqld_pid() == pid_after


def test_row_reader_decodes_as_mysql_async_does_on_this_flavour():
    """src/mysql/live.rs against this flavour's server: the whole export and a table of every
    column type, decoded by both decoders, equal cell for cell; and a connection after FLUSH
    PRIVILEGES (caching_sha2's full authentication on Oracle MySQL). Not the timing test."""
    env = {**os.environ, "LENDER_MYSQL_URL": mysql_url()}
    proc = run(["cargo", "test", "--release", "--quiet", "--lib", "mysql::live::", "--", "--ignored",
                "--test-threads=1", "--skip", "decoder_cpu_and_wall_time", "--skip", "tls_modes"],
               env=env, check=False, timeout=1800)
    assert proc.returncode == 0, f"cargo test in {ROOT} failed ({mysql_flavour()}):\n{proc.stdout}\n{proc.stderr}"
    assert "3 passed" in proc.stdout, proc.stdout
