"""Test order: the cluster and the data first, then the service (and the web board on it, while
every DataNode is up), the static checks and the benchmark smoke test, and the fault tests (which
kill DataNodes, the NameNode and the server) last, so that they cannot disturb the others.

Also makes pylib/lenderdev.py (the helpers shared with the benchmark) and the generated gRPC
modules importable, and holds the fixtures several test files share."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT / ".local" / "py", ROOT / "pylib"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

ORDER = ["test_hdfs_cluster", "test_mysql_data", "test_service", "test_board", "test_docker_static",
         "test_bench_smoke", "test_faults"]


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.module.__name__.rsplit(".", 1)[-1]
        return ORDER.index(name) if name in ORDER else len(ORDER)
    items.sort(key=rank)  # stable: tests keep their order within a file


@pytest.fixture(scope="session")
def oracle():
    """{county: (floor of the mean loan amount, rows)} over the exported rows, from MariaDB."""
    from lenderdev import oracle_averages
    return oracle_averages()
