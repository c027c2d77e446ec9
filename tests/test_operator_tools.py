"""The tools operators already run, against the running server: the gRPC ecosystem's
standard services on its port, asked by clients that know only the standard protos
(grpcio-health-checking, grpcio-reflection): health checking as Compose/Kubernetes probes ask
it, and reflection as grpcurl lists and describes services; and a Prometheus scrape of its
metrics endpoint, whose counters must move with an export and a DataNode failure."""

import os
import re
import signal
import time
import urllib.request
from pathlib import Path

import grpc
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from support import (
    EXPORT,
    avg,
    blocks,
    cluster,
    datanode_ip,
    delete,
    export,
    lender,
    read_parquet,
    serve,
    server_address,
    server_pid,
    setting,
    wait_until,
)


def channel():
    return grpc.insecure_channel(server_address())


def test_health_reports_the_server_and_the_lender_service_serving():
    with channel() as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        serving = health_pb2.HealthCheckResponse.SERVING
        for service in ("", "Lender", "lender.admin.Admin"):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == serving, (service, reply)
        try:
            stub.Check(health_pb2.HealthCheckRequest(service="NoSuchService"), timeout=5)
            raise AssertionError("an unknown service must not be reported")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.NOT_FOUND, e


def test_the_probe_command_exits_zero_for_a_serving_server():
    out = lender("probe")
    assert out.returncode == 0 and "Lender: SERVING" in out.stdout, out


def test_reflection_lists_and_describes_the_services():
    with channel() as ch:
        stub = reflection_pb2_grpc.ServerReflectionStub(ch)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        replies = list(stub.ServerReflectionInfo(iter([request]), timeout=5))
        names = {s.name for s in replies[0].list_services_response.service}
        assert {"Lender", "lender.admin.Admin", "grpc.health.v1.Health"} <= names, names
        # grpcurl's `describe Lender`: the methods and their message types, from the server alone
        pool = DescriptorPool(ProtoReflectionDescriptorDatabase(ch))
        lender_service = pool.FindServiceByName("Lender")
        methods = {m.name: (m.input_type.name, m.output_type.name) for m in lender_service.methods}
        assert {"DbToHdfs", "BlockLocations", "CalcAvgLoan"} <= set(methods), methods
        assert methods["CalcAvgLoan"][0] == "CalcAvgLoanReq", methods


def scrape():
    """The server's /metrics text (Prometheus exposition format)."""
    url = f"http://{setting('LENDER_METRICS_LISTEN')}/metrics"
    with urllib.request.urlopen(url, timeout=10) as reply:
        assert reply.headers.get_content_type() == "text/plain"
        return reply.read().decode()


def metric(text, name, **labels):
    """The sum of `name`'s samples whose labels include `labels` (0 when there is none)."""
    total = 0.0
    for line in text.splitlines():
        found = re.fullmatch(rf"{re.escape(name)}(?:\{{(.*)\}})? (\S+)", line)
        if not found:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', found.group(1) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(found.group(2))
    return total


def test_metrics_move_with_an_export():
    before = scrape()
    assert export().startswith("success")
    after = scrape()
    rows = read_parquet(EXPORT).num_rows
    grew = {name: metric(after, name, **labels) - metric(before, name, **labels) for name, labels in [
        ("lender_jobs_total", {"kind": "export", "outcome": "succeeded"}),
        ("lender_export_rows_total", {}),
        ("lender_job_duration_seconds_count", {"kind": "export"}),
        ("lender_rpc_duration_seconds_count", {"method": "DbToHdfs", "outcome": "ok"}),
    ]}
    assert grew == {"lender_jobs_total": 1, "lender_export_rows_total": rows,
                    "lender_job_duration_seconds_count": 1, "lender_rpc_duration_seconds_count": 1}, grew
    assert metric(after, "lender_export_bytes_total") > 0
    assert metric(after, "lender_export_rows_per_second") > 0
    assert "# TYPE lender_rpc_duration_seconds histogram" in after


def test_metrics_count_a_killed_datanode_and_the_files_it_cost(oracle):
    """County files made, a DataNode killed, its counties asked again: the suspicion counter
    of that host moves and the answers come back as recreated county files."""
    delete("/partitions")
    on_node = {}
    for county in oracle:
        assert avg(county).source == "create"
        on_node.setdefault(next(iter(blocks(f"/partitions/{county}.parquet").block_entries)), []).append(county)
    victim = max(on_node, key=lambda host: len(on_node[host]))
    n = next(i for i in (1, 2, 3) if datanode_ip(i) == victim)
    before = scrape()
    cluster("kill-dn", n)
    try:
        for county in on_node[victim]:
            reply = avg(county)
            assert (reply.error, reply.avg_loan) == ("", oracle[county][0]), reply
    finally:
        cluster("restore-dn", n)
    after = scrape()
    suspected = (metric(after, "lender_datanode_suspicions_total", host=victim)
                 - metric(before, "lender_datanode_suspicions_total", host=victim))
    assert suspected >= 1, suspected
    recreated = (metric(after, "lender_jobs_total", kind="partition", outcome="succeeded")
                 - metric(before, "lender_jobs_total", kind="partition", outcome="succeeded"))
    assert recreated == len(on_node[victim]), (recreated, len(on_node[victim]))


def test_shutdown_says_not_serving_and_ends_within_its_grace():
    """SIGTERM: a client watching the health of Lender (as a load balancer does) hears
    NOT_SERVING, and the server exits although that watch never ends by itself (graceful
    shutdown waits for open calls: they get a grace, then are cut)."""
    pid = server_pid()
    try:
        with channel() as ch:
            watch = health_pb2_grpc.HealthStub(ch).Watch(health_pb2.HealthCheckRequest(service="Lender"),
                                                         timeout=120)
            assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
            os.kill(pid, signal.SIGTERM)
            started = time.monotonic()
            heard = []
            try:
                heard.extend(reply.status for reply in watch)
            except grpc.RpcError:
                pass  # cut at the end of the grace
            assert health_pb2.HealthCheckResponse.NOT_SERVING in heard, heard
            # the grace (3 s), the jobs' drain (nothing runs: about a second) and room
            wait_until(lambda: not Path(f"/proc/{pid}").exists(), 20, "the server to exit")
            print(f"server exited {time.monotonic() - started:.1f} s after SIGTERM")
    finally:
        serve("start")
