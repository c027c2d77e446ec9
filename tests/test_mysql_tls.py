"""MySQL over TLS and refusals that end the wait at once (issue 34), against the real servers.

On Oracle MySQL (dev/mysql.sh starts it with require_secure_transport=ON, as managed MySQL
services run, and it made its own certificates at first start): a plaintext client is refused,
the lender server with default settings exports over TLS, `verify_ca` with the server's CA
connects, a CA that did not sign the server's certificate fails naming it, `disabled` fails at
once with the server's message. On MariaDB (no TLS configured) the default `preferred` connects
in plaintext and `required` fails saying so.

Permanent refusals (a wrong password, an unknown database, and on Oracle MySQL plaintext) are
checked end to end: a second lender server started with those settings answers DbToHdfs at once
with the server's own message, far below the start-up wait of LENDER_MYSQL_WAIT_SECS, and its
health view shows the same message."""

import json
import os
import socket
import subprocess
import time
import urllib.parse

import pytest
from lenderdev import (
    ROOT,
    export,
    export_row_count,
    lender_cli,
    mysql_client_cmd,
    mysql_flavour,
    mysql_url,
    run,
    settings,
    sql,
)

oracle_mysql_only = pytest.mark.skipif(
    mysql_flavour() != "mysql", reason="LENDER_MYSQL_FLAVOUR is not mysql (Oracle MySQL requires TLS here)")

SECOND_PORT = 5055
BIN = ROOT / "target" / "release" / "lender"


@oracle_mysql_only
def test_oracle_mysql_refuses_plaintext_and_lender_exports_over_tls():
    assert sql("SELECT @@require_secure_transport") == [["1"]]
    plaintext = run(mysql_client_cmd("--ssl-mode=DISABLED", "-e", "SELECT 1"), check=False, timeout=60)
    assert plaintext.returncode != 0 and "3159" in plaintext.stderr, plaintext.stderr

    status = export()
    assert status.startswith("success"), status
    assert f"exported {export_row_count()} rows" in status, status
    health = json.loads(lender_cli("health", "--json").stdout)
    detail = json.dumps(health)
    assert "TLS" in detail and "no TLS" not in detail, detail


def test_tls_modes_against_this_server():
    """src/mysql/live.rs's tls_modes_against_this_server on this flavour's server."""
    env = {**os.environ, "LENDER_MYSQL_URL": mysql_url()}
    ca = settings().get("LENDER_DEV_MYSQL_CA")
    if mysql_flavour() == "mysql":
        assert ca, "dev/mysql.sh env names no CA for Oracle MySQL"
        env["LENDER_DEV_MYSQL_CA"] = ca
    else:
        env.pop("LENDER_DEV_MYSQL_CA", None)
    proc = run(["cargo", "test", "--release", "--quiet", "--lib", "mysql::live::tls_modes", "--", "--ignored",
                "--nocapture"], env=env, check=False, timeout=1800)
    assert proc.returncode == 0, f"cargo test failed ({mysql_flavour()}):\n{proc.stdout}\n{proc.stderr}"
    assert "1 passed" in proc.stdout, proc.stdout
    print(proc.stdout)


def answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.fixture
def second_server(tmp_path):
    """Starts a second lender server on SECOND_PORT with MySQL settings of the test's choice
    (the HDFS ones of the local cluster, its own store); stops it at the end."""
    procs = []

    def start(**mysql_env):
        base = {k: v for k, v in settings().items() if k.startswith("LENDER_") and "MYSQL" not in k}
        env = {**os.environ, **base, "LENDER_LISTEN": f"127.0.0.1:{SECOND_PORT}",
               "LENDER_DB": str(tmp_path / f"store-{len(procs)}.redb"), "LENDER_METRICS_LISTEN": "off",
               "LENDER_BOARD_LISTEN": "off", "LENDER_MYSQL_URL": mysql_url(), **mysql_env}
        for key in ("LENDER_MYSQL_SSL_MODE", "LENDER_MYSQL_SSL_CA"):
            if key not in mysql_env:
                env.pop(key, None)
        log = open(tmp_path / f"server-{len(procs)}.log", "w")
        proc = subprocess.Popen([BIN, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        procs.append(proc)
        deadline = time.monotonic() + 20
        while not answers(SECOND_PORT):
            assert proc.poll() is None, (tmp_path / f"server-{len(procs) - 1}.log").read_text()
            assert time.monotonic() < deadline, "the second server did not answer within 20 s"
            time.sleep(0.1)
        return env

    def stop():
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    start.stop = stop
    yield start
    stop()


def db_to_hdfs(port):
    import grpc
    import lender_pb2
    import lender_pb2_grpc
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        return lender_pb2_grpc.LenderStub(channel).DbToHdfs(lender_pb2.Empty(), timeout=300).status


def refusals():
    """(name, LENDER_* settings, the server's error code) of each permanent refusal."""
    url = urllib.parse.urlsplit(mysql_url())
    wrong_password = url._replace(netloc=f"{url.username}:not-the-password@{url.hostname}:{url.port}")
    cases = [("wrong password", {"LENDER_MYSQL_URL": urllib.parse.urlunsplit(wrong_password)}, "ERROR 1045"),
             ("unknown database", {"LENDER_MYSQL_URL": mysql_url().rsplit("/", 1)[0] + "/no_such_db"},
              "ERROR 1049")]
    if mysql_flavour() == "mysql":
        cases.append(("plaintext (disabled)", {"LENDER_MYSQL_SSL_MODE": "disabled"}, "ERROR 3159"))
    return cases


def test_permanent_refusals_answer_dbtohdfs_at_once_with_the_servers_message(second_server):
    for name, env, code in refusals():
        server_env = second_server(LENDER_MYSQL_WAIT_SECS="180", **env)
        t0 = time.monotonic()
        status = db_to_hdfs(SECOND_PORT)
        elapsed = time.monotonic() - t0
        print(f"{mysql_flavour()}: {name}: DbToHdfs answered in {elapsed:.2f} s: {status}")
        assert code in status and not status.startswith("success"), (name, status)
        assert elapsed < 10, f"{name}: {elapsed:.1f} s, as if waiting for MySQL to come up: {status}"
        health = run([BIN, "health", "--json"], env=server_env, check=False, timeout=60).stdout
        assert code in health, (name, health)
        second_server.stop()
