"""Test order: the cluster and the data first, then the service, the static checks and the
benchmark smoke test, and the fault tests (which kill DataNodes, the NameNode and the
server) last, so that they cannot disturb the others."""

ORDER = ["test_hdfs_cluster", "test_mysql_data", "test_service", "test_docker_static",
         "test_bench_smoke", "test_faults"]


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.module.__name__.rsplit(".", 1)[-1]
        return ORDER.index(name) if name in ORDER else len(ORDER)
    items.sort(key=rank)  # stable: tests keep their order within a file
