"""Tests of the local HDFS cluster (dev/cluster.sh).

Run `dev/cluster.sh up` first (fast profile, the default); then
    python3 -m pytest -q tests/test_hdfs_cluster.py
If the cluster is not up every test fails with a message saying so. The tests
kill and cut DataNodes and always restore them (3 live DataNodes) at the end,
also when a test fails. Only the stdlib, pytest and pylib/lenderdev.py (stdlib only) are used.
"""

import os
import socket
import time
import urllib.error
import urllib.request
import uuid

import pytest
from lenderdev import block_locations, datanode_ip, datanode_states, setting, wait_until, webhdfs_url
from lenderdev import cluster as cluster_sh

DEAD_WAIT_S = 30  # fast profile: a DataNode is declared dead ~12-17 s after its last heartbeat
TEST_DIR = "/tests/hdfs_cluster"

WEBHDFS = webhdfs_url()
DN_IP = {n: datanode_ip(n) for n in (1, 2, 3)}
XFER_PORT = int(setting("LENDER_HDFS_DN_XFER_PORT"))


def run(*args, timeout=300, check=True, input_bytes=None):
    """dev/cluster.sh ARGS, output as bytes; a failure raises with its stdout and stderr."""
    return cluster_sh(*args, timeout=timeout, check=check, text=False, input=input_bytes)


def nn_state():
    """(live, dead, {ip: 'live'|'dead'}) from the NameNode's JMX."""
    return datanode_states()


def wait_for(predicate, timeout, what):
    return wait_until(predicate, timeout, what, interval=0.5, detail=nn_state)


def tcp_connect(ip, port, timeout):
    """'connected', 'refused' or 'timeout'."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((ip, port))
        return "connected"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"
    finally:
        s.close()


def hdfs(*args, timeout=120, input_bytes=None):
    return run("hdfs", *args, timeout=timeout, input_bytes=input_bytes)


def restore_all():
    for n in (1, 2, 3):
        run("restore-dn", str(n), check=False)


@pytest.fixture(scope="module", autouse=True)
def cluster():
    try:
        live, dead, nodes = nn_state()
    except (urllib.error.URLError, OSError) as e:
        pytest.fail(
            f"the local HDFS cluster is not up (NameNode JMX at {WEBHDFS} unreachable: {e}); "
            "run `dev/cluster.sh up` first",
            pytrace=False,
        )
    if live != 3:
        # a previous run may have been interrupted: try to restore before failing
        restore_all()
        live, dead, nodes = nn_state()
        if live != 3:
            pytest.fail(
                f"the local HDFS cluster is not healthy: {live} live DataNodes, nodes {nodes}; "
                "run `dev/cluster.sh up`",
                pytrace=False,
            )
    hdfs("dfs", "-mkdir", "-p", TEST_DIR)
    yield
    restore_all()
    hdfs("dfs", "-rm", "-r", "-f", "-skipTrash", TEST_DIR)
    live, _, nodes = nn_state()
    assert live == 3, f"cluster not restored to 3 live DataNodes: {nodes}"


@pytest.fixture
def rep3_file(tmp_path):
    """A 2.5 MiB file (3 blocks of at most 1 MiB) written with replication 3."""
    data = os.urandom(2 * 1048576 + 524288)
    local = tmp_path / "data.bin"
    local.write_bytes(data)
    path = f"{TEST_DIR}/{uuid.uuid4().hex}.bin"
    hdfs("dfs", "-D", "dfs.replication=3", "-put", "-f", str(local), path)
    yield path, data
    hdfs("dfs", "-rm", "-f", "-skipTrash", path)


def test_three_live_datanodes():
    live, dead, nodes = nn_state()
    assert (live, dead) == (3, 0), nodes
    assert set(nodes) == set(DN_IP.values())
    report = hdfs("dfsadmin", "-report").stdout.decode()
    assert "Live datanodes (3):" in report, report
    for ip in DN_IP.values():
        assert f"Hostname: {ip}" in report


def test_replication_3_blocks_on_three_distinct_hosts(rep3_file):
    path, data = rep3_file
    # The NameNode may close a file before every DataNode has reported its replica
    # (dfs.namenode.file.close.num-committed-allowed): replicas appear within moments.
    wait_for(lambda: all(len(b["hosts"]) == 3 for b in block_locations(path)), 30,
             "every block to show 3 replicas")
    blocks = block_locations(path)
    assert len(blocks) == 3, blocks  # 1 MiB block size
    for b in blocks:
        assert len(b["hosts"]) == 3 and len(set(b["hosts"])) == 3, b
        assert set(b["hosts"]) == set(DN_IP.values()), b
        assert sorted(n.split(":")[0] for n in b["names"]) == sorted(b["hosts"]), b
    # the host reads the blocks back from the DataNodes through the bridge
    assert hdfs("dfs", "-cat", path).stdout == data


def test_webhdfs_open_redirects_to_a_datanode(rep3_file):
    path, data = rep3_file
    # urllib follows the NameNode's 307 to http://<DataNode IP>:9864/webhdfs/v1/...
    with urllib.request.urlopen(f"{WEBHDFS}/webhdfs/v1{path}?op=OPEN", timeout=30) as resp:
        assert resp.geturl().split("/")[2].split(":")[0] in DN_IP.values()
        assert resp.read() == data


def test_kill_dn_is_declared_dead_and_restored(rep3_file):
    path, data = rep3_file
    try:
        run("kill-dn", "1")
        assert tcp_connect(DN_IP[1], XFER_PORT, 3) == "refused"
        took = wait_for(lambda: nn_state()[0] == 2, DEAD_WAIT_S, "2 live DataNodes after kill-dn 1")
        print(f"kill-dn 1: declared dead after {took:.1f} s")
        assert nn_state()[2][DN_IP[1]] == "dead"
        # replication 3: the file is still readable from the two others
        assert hdfs("dfs", "-cat", path).stdout == data
    finally:
        run("restore-dn", "1")
    live, _, nodes = nn_state()
    assert live == 3, nodes
    assert tcp_connect(DN_IP[1], XFER_PORT, 3) == "connected"


def test_cut_dn_hangs_connections_and_is_restored():
    try:
        run("cut-dn", "2")
        # packets are dropped: the connect neither completes nor is refused
        t0 = time.monotonic()
        assert tcp_connect(DN_IP[2], XFER_PORT, 3) == "timeout"
        assert time.monotonic() - t0 >= 2.9
        status = run("status").stdout.decode()
        line = next(s for s in status.splitlines() if s.startswith("DataNode 2 "))
        assert "jvm=down" not in line and "net=cut" in line, line  # the JVM keeps running
        # its heartbeats are cut too: the NameNode declares it dead
        took = wait_for(lambda: nn_state()[0] == 2, DEAD_WAIT_S, "2 live DataNodes after cut-dn 2")
        print(f"cut-dn 2: declared dead after {took:.1f} s")
        assert nn_state()[2][DN_IP[2]] == "dead"
    finally:
        run("restore-dn", "2")
    live, _, nodes = nn_state()
    assert live == 3, nodes
    assert tcp_connect(DN_IP[2], XFER_PORT, 3) == "connected"
