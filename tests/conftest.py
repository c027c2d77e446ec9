"""Test order, and the fixtures several test files share.

ORDER names every tests/test_*.py; a file it does not name stops the run at collection (so the
order cannot drift as files are added), a name without its file is allowed. The order: the
cluster and the data first, then the service (and the web board on it, while every DataNode is
up), the static checks and the benchmark smoke test, then the faults (which kill DataNodes, the
NameNode and the server); after them, in the place they have always run in, the files added since.

The imports (pylib/lenderdev.py, the helpers shared with the benchmark; the generated gRPC
modules) come from pytest.ini's pythonpath."""

from pathlib import Path

import pytest

ORDER = ["test_hdfs_cluster", "test_mysql_data", "test_service", "test_board", "test_docker_static",
         "test_bench_smoke", "test_faults",
         "test_cli", "test_containers", "test_export_faults", "test_mysql_flavour", "test_mysql_tls",
         "test_operator_tools", "test_stalls", "test_reexport"]


def pytest_configure(config):
    unlisted = sorted(p.stem for p in Path(__file__).parent.glob("test_*.py") if p.stem not in ORDER)
    if unlisted:
        raise pytest.UsageError(f"tests/conftest.py: ORDER does not name {', '.join(unlisted)}: "
                                "add each where it should run")


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
