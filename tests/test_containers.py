"""The Docker deployment executed in containers (podman; dev/containers.py says what it
substitutes and why): the five images built from the root Dockerfiles, the compose file's six
containers on a private network, and inside p4-server-1 the contract's sequence with
/client.py: DbToHdfs, BlockLocations, CalcAvgLoan create then reuse, `hdfs dfs -du -h`; then
`podman kill p4-dn-1` and every county asked again, each answer checked against SQL run by the
MariaDB client in p4-mysql-1, the counties whose file lived on the dead container answering
`recreate`. A second deployment runs the same with a client that imports pandas like the
course's, copied over ours before the build. A third runs the course's container set (its
Dockerfile.hdfs/.namenode/.datanode/.mysql and compose file, rebuilt in tests/containers/course/
with the substitutions each file names) with our p4-server built FROM its p4-hdfs: Hadoop's
default configuration (permissions on), the course's NameNode flags, MySQL with
caching_sha2_password; DbToHdfs, BlockLocations, create, reuse, `hdfs dfs -du -h`, the DataNode
holding the county file killed, recreate.

Run with `just test-containers` (part of `just test`). Figures go to stdout (run with -s) and to
.local/containers/results.json.
"""
import ast
import json
import math
import re
import time
from pathlib import Path

import pytest
from lenderdev import EXPORT, ROOT, MiB, oracle_query, run

from dev import containers as deploy

PROJECT = deploy.PROJECT
SERVER = f"{PROJECT}-server-1"
MYSQL = f"{PROJECT}-mysql-1"
DATANODES = [f"{PROJECT}-dn-{n}" for n in (1, 2, 3)]
ROWS_IN_RANGE = 426_716
RESULTS = deploy.STATE / "results.json"
results = {}


def record(key, value):
    results[key] = value
    print(f"\n[containers] {key}: {json.dumps(value)}")
    RESULTS.write_text(json.dumps(results, indent=2))


def sh(container, script, timeout=600):
    rc, out, err = deploy.exec_in(container, "bash", "-c", script, timeout=timeout)
    assert rc == 0, f"{container}: `{script[:200]}` failed ({rc}):\n{out[-3000:]}\n{err[-3000:]}"
    return out


def client(*args, timeout=900):
    """python3 /client.py ARGS in p4-server-1, as the contract's `docker exec` does."""
    return sh(SERVER, "python3 /client.py " + " ".join(map(str, args)), timeout=timeout).strip().splitlines()


# the database client of p4-mysql: MariaDB's in our stand-in, MySQL's in the course set's image
MYSQL_CLIENT = '"$(command -v mariadb || command -v mysql)"'


def sql(query):
    out = sh(MYSQL, f"{MYSQL_CLIENT} -h127.0.0.1 -uroot -pabc -N -B CS544 -e \"{query}\"")
    return [line.split("\t") for line in out.splitlines() if line]


def oracle():
    """{county: floor average} from the database's own client in p4-mysql-1."""
    rows = sql(oracle_query())  # the export query of src/export_query.sql, grouped by county
    return {int(float(c)): int(float(a)) for c, a, _ in rows}


def webhdfs(path, op):
    return json.loads(sh(SERVER, f"curl -fsS 'http://boss:9870/webhdfs/v1{path}?op={op}'"))


def hostname(container):
    return deploy.podman("inspect", "-f", "{{.Config.Hostname}}", container).stdout.strip()


def ask_counties(counties):
    """{county: (avg, source, seconds)} asked one after another with /client.py."""
    loop = ("for c in " + " ".join(map(str, counties)) + "; do t0=$EPOCHREALTIME; "
            "out=$(python3 /client.py CalcAvgLoan -c $c | tr '\\n' ' '); "
            "echo \"$c $t0 $EPOCHREALTIME $out\"; done")
    answers = {}
    for line in sh(SERVER, loop, timeout=1800).splitlines():
        words = line.split()
        assert len(words) == 5 and words[3].lstrip("-").isdigit(), f"unexpected answer: {line}"
        answers[int(words[0])] = (int(words[3]), words[4], float(words[2]) - float(words[1]))
    return answers


def county_locations(counties):
    """{county: set of DataNode hosts} of each county file, from BlockLocations via /client.py."""
    loop = ("for c in " + " ".join(map(str, counties)) + "; do "
            "echo \"$c $(python3 /client.py BlockLocations -f /partitions/$c.parquet)\"; done")
    out = {}
    for line in sh(SERVER, loop, timeout=900).splitlines():
        county, _, entries = line.partition(" ")
        out[int(county)] = set(ast.literal_eval(entries))
    return out


# ------------------------------------------------------------------------------ waits


def wait_ready():
    """Bounded waits for what the containers need before the first call, each with its own
    message when it runs out."""
    t0 = time.monotonic()
    for name in [SERVER, MYSQL, f"{PROJECT}-nn-1", *DATANODES]:
        deploy.wait_until(lambda n=name: deploy.podman("inspect", "-f", "{{.State.Running}}", n,
                                                       check=False).stdout.strip() == "true",
                          30, f"container {name} running")
    deploy.wait_until(lambda: deploy.exec_in(SERVER, "getent", "hosts", "boss", "mysql")[0] == 0,
                      60, "names `boss` and `mysql` resolving in p4-server-1 (the network's DNS)")

    def live_datanodes():
        rc, out, _ = deploy.exec_in(SERVER, "curl", "-fsS", "http://boss:9870/jmx?qry=Hadoop:service=NameNode,"
                                    "name=FSNamesystemState", timeout=20)
        return rc == 0 and json.loads(out)["beans"][0]["NumLiveDataNodes"] == 3

    deploy.wait_until(live_datanodes, 240, "the NameNode (boss:9870) reporting 3 live DataNodes", interval=2)
    deploy.wait_until(lambda: deploy.exec_in(MYSQL, "bash", "-c", f"{MYSQL_CLIENT} -hmysql -uroot -pabc CS544 -e "
                                             "'SELECT 1 FROM loans LIMIT 1'", timeout=20)[0] == 0,
                      900, "the database in p4-mysql-1 serving the loaded dump as `mysql`", interval=3)
    deploy.wait_until(lambda: deploy.exec_in(SERVER, "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/5000")[0] == 0,
                      60, "the lender server listening on 5000 in p4-server-1")
    return time.monotonic() - t0


def local_cluster_network():
    """The local cluster's network pieces (bridge lender0, the DataNode namespaces, their
    addresses and nftables), which the container test must leave exactly as they were."""
    def out(*cmd):
        return run(cmd, check=False).stdout
    namespaces = sorted(line.split()[0] for line in out("ip", "netns", "list").splitlines()
                        if line.startswith("lender-"))
    state = {"links": sorted(line for line in out("ip", "-br", "addr").splitlines() if line.startswith("lender")),
             "namespaces": namespaces}
    for ns in namespaces:
        state[ns] = out("ip", "netns", "exec", ns, "nft", "list", "ruleset")
    return state


@pytest.fixture(scope="module")
def system():
    before = local_cluster_network()
    t0 = time.monotonic()
    deploy.setup()
    deploy.build()
    record("build_seconds", round(time.monotonic() - t0))
    record("image_sizes", image_sizes())
    deploy.up()
    record("ready_seconds", round(wait_ready()))
    yield before
    deploy.down()


def image_sizes():
    out = deploy.podman("images", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}").stdout
    return {line.split()[0].split("/")[-1]: " ".join(line.split()[1:]) for line in out.splitlines()
            if re.search(r"/p4-\w+:latest", line)}


# ------------------------------------------------------------------------------ the contract's sequence


def test_db_to_hdfs(system):
    db_to_hdfs("db_to_hdfs")


def db_to_hdfs(key):
    """DbToHdfs through /client.py, timed and recorded under key; the status and the file checked."""
    t0 = time.monotonic()
    status = "\n".join(client("DbToHdfs"))
    record(key, {"seconds": round(time.monotonic() - t0, 1), "status": status})
    assert not status.startswith("error"), status
    assert f"{ROWS_IN_RANGE:,}" in status or str(ROWS_IN_RANGE) in status, status
    st = webhdfs(EXPORT, "GETFILESTATUS")["FileStatus"]
    assert (st["replication"], st["blockSize"]) == (2, MiB), st
    blocks_ = len(webhdfs(EXPORT, "GETFILEBLOCKLOCATIONS")["BlockLocations"]["BlockLocation"])
    assert f"({st['length']} bytes = {st['length'] / MiB:.1f} MiB, {blocks_} blocks x 2 replicas)" in status, \
        f"the status's size is not what HDFS reports ({st['length']} bytes, {blocks_} blocks): {status}"


def test_block_locations_spread_over_three_datanode_containers(system):
    block_locations("block_locations")


def block_locations(key):
    """BlockLocations of the export through /client.py: the three DataNode containers' hostnames,
    2 replicas of every block."""
    out = client("BlockLocations", "-f", EXPORT)
    entries = ast.literal_eval(out[-1])
    record(key, entries)
    st = webhdfs(EXPORT, "GETFILESTATUS")["FileStatus"]
    blocks = math.ceil(st["length"] / st["blockSize"])
    assert set(entries) == {hostname(dn) for dn in DATANODES}, \
        f"{entries}: not the three DataNode containers' hostnames"
    assert sum(entries.values()) == 2 * blocks, f"{entries}: not 2 replicas of each of {blocks} blocks"


def test_calc_avg_loan_create_then_reuse(system):
    want = oracle()[55001]
    assert client("CalcAvgLoan", "-c", 55001) == [str(want), "create"]
    assert client("CalcAvgLoan", "-c", 55001) == [str(want), "reuse"]


def test_hdfs_cli_du(system):
    hdfs_cli_du("du_h")


def hdfs_cli_du(key):
    """`hdfs dfs -du -h` of the export in p4-server-1: its size (within 1 % of WebHDFS's) and the
    space its 2 replicas take; (size, space) in bytes."""
    out = sh(SERVER, f"hdfs dfs -du -h {EXPORT}").strip()
    record(key, out)
    m = re.fullmatch(rf"([\d.]+ \w?)\s+([\d.]+ \w?)\s+{re.escape(EXPORT)}", out)
    assert m, out

    def size(text):
        return float(text.split()[0]) * {"K": 1024, "M": MiB, "G": MiB * 1024}.get(text.split()[-1], 1)
    st = webhdfs(EXPORT, "GETFILESTATUS")["FileStatus"]
    assert abs(size(m.group(1)) - st["length"]) / st["length"] < 0.01, (out, st["length"])
    return size(m.group(1)), size(m.group(2))


def test_kill_a_datanode_container_every_county_answers(system):
    want = oracle()
    counties = sorted(want)
    first = ask_counties(counties)  # every county file exists afterwards
    wrong = {c: a for c, a in first.items() if a[0] != want[c] or a[1] not in ("create", "reuse")}
    assert not wrong, f"before the kill: {wrong}"
    where = county_locations(counties)
    dead = hostname(DATANODES[0])
    lost = sorted(c for c, hosts in where.items() if hosts == {dead})
    assert lost, f"no county file on {DATANODES[0]} ({dead}): {where}"

    t_kill = time.monotonic()
    deploy.podman("kill", DATANODES[0])
    after = ask_counties(counties)
    total = time.monotonic() - t_kill
    wrong = {c: (a[0], want[c]) for c, a in after.items() if a[0] != want[c]}
    sources = {c: a[1] for c, a in after.items()}
    recreate_times = sorted(after[c][2] for c in lost)
    record("after_kill", {
        "killed": DATANODES[0], "hostname": dead, "counties": len(counties), "lost": len(lost),
        "recreate_seconds_first_median_worst": [round(recreate_times[0], 2),
                                                round(recreate_times[len(lost) // 2], 2),
                                                round(recreate_times[-1], 2)],
        "reuse_seconds_median": round(sorted(a[2] for c, a in after.items() if c not in lost)[
            (len(counties) - len(lost)) // 2], 2),
        "all_counties_seconds": round(total, 1), "wrong": len(wrong)})
    assert not wrong, f"answers differ from the SQL oracle after the kill: {wrong}"
    assert {c for c, s in sources.items() if s == "recreate"} == set(lost), sources
    assert all(s == "reuse" for c, s in sources.items() if c not in lost), sources
    entries = ast.literal_eval(client("BlockLocations", "-f", EXPORT)[-1])
    assert entries, "BlockLocations of the big file after the kill"


# ------------------------------------------------------------------------------ the course's client


def test_course_client_copied_over_ours(system):
    """A fresh deployment whose p4-server was built with a client.py that imports pandas like
    the course's (tests/fixtures/course_client.py copied over client.py), unchanged: it talks to
    server:5000."""
    deploy.build_server(client=ROOT / "tests" / "fixtures" / "course_client.py")
    deploy.up()
    wait_ready()
    assert "import pandas" in sh(SERVER, "cat /client.py")
    status = "\n".join(client("DbToHdfs"))
    assert not status.startswith("error") and str(ROWS_IN_RANGE) in status.replace(",", ""), status
    entries = ast.literal_eval(client("BlockLocations", "-f", EXPORT)[-1])
    assert set(entries) == {hostname(dn) for dn in DATANODES}, entries
    want = oracle()[55001]
    assert client("CalcAvgLoan", "-c", 55001) == [str(want), "create"]
    assert client("CalcAvgLoan", "-c", 55001) == [str(want), "reuse"]
    holder = county_locations([55001])[55001]
    victim = next(dn for dn in DATANODES if hostname(dn) in holder)
    deploy.podman("kill", victim)
    assert client("CalcAvgLoan", "-c", 55001) == [str(want), "recreate"]
    assert client("CalcAvgLoan", "-c", 55001) == [str(want), "reuse"]
    record("course_client", {"killed": victim, "block_locations": entries})


# ------------------------------------------------------------------------------ clean-up


def test_teardown_removes_what_it_made_and_nothing_else(system):
    down_and_check(system)


def down_and_check(before):
    """deploy.down() leaves no container, network, volume, firewall chain or mount of ours, and
    the local cluster's network pieces as they were (before)."""
    deploy.down()
    assert deploy.containers() == [], "containers left behind"
    assert deploy.podman("network", "exists", deploy.network_name(), check=False).returncode != 0
    assert deploy.podman("volume", "ls", "-q").stdout.strip() == "", "anonymous volumes left behind"
    assert deploy.netavark_rules() == [], "netavark's firewall chains left behind"
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
              if line.split()[1].startswith(str(deploy.STATE))]
    assert not mounts, f"mounts left under {deploy.STATE}: {mounts}"
    assert local_cluster_network() == before, "the local cluster's bridge, namespaces or nftables changed"


# ------------------------------------------------------------------------------ the course's container set


@pytest.mark.parametrize("name", ["Dockerfile.hdfs", "Dockerfile.namenode", "Dockerfile.datanode",
                                  "Dockerfile.mysql"])
def test_course_set_dockerfile_lint_clean(name):
    """hadolint, as tests/test_docker_static.py runs it on the root Dockerfiles (no containers)."""
    import shutil
    import subprocess
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint is not on PATH: run `bash dev/bootstrap.sh`"
    proc = subprocess.run([hadolint, "--config", str(ROOT / ".hadolint.yaml"), "--no-color",
                           str(deploy.COURSE / name)], capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stdout.strip(), f"hadolint {name}:\n{proc.stdout}{proc.stderr}"


@pytest.fixture(scope="module")
def course_system():
    """The course's container set (tests/containers/course/) with our p4-server built FROM its
    p4-hdfs, up under the course's compose file."""
    before = local_cluster_network()
    deploy.down()
    t0 = time.monotonic()
    deploy.setup()
    deploy.build(course=True)
    record("course_build_seconds", round(time.monotonic() - t0))
    deploy.up(course=True)
    record("course_ready_seconds", round(wait_ready()))
    yield before
    deploy.down()


def test_course_set_hadoop_is_the_defaults(course_system):
    """What makes the course's cluster differ from ours: no site settings on the DataNodes (the
    NameNode's own flags aside), permissions on, and a MySQL root with caching_sha2_password."""
    conf = sh(f"{PROJECT}-nn-1", "for key in dfs.permissions.enabled hadoop.http.staticuser.user fs.defaultFS; "
                                 "do hdfs getconf -confKey $key; done")
    assert conf.split() == ["true", "dr.who", "file:///"], conf
    plugin = sql("SELECT plugin FROM mysql.user WHERE user='root' AND host='%'")
    assert plugin == [["caching_sha2_password"]], plugin


def test_course_set_contract_sequence(course_system):
    db_to_hdfs("course_db_to_hdfs")
    block_locations("course_block_locations")
    want = oracle()[55001]
    assert client("CalcAvgLoan", "-c", 55001) == [str(want), "create"]
    assert client("CalcAvgLoan", "-c", 55001) == [str(want), "reuse"]
    size, space = hdfs_cli_du("course_du_h")
    assert abs(space / size - 2) < 0.02, f"not 2 replicas' worth: {size} {space}"


def test_course_set_kill_the_county_files_datanode(course_system):
    want = oracle()[55001]
    holder = county_locations([55001])[55001]
    victim = next(dn for dn in DATANODES if hostname(dn) in holder)
    deploy.podman("kill", victim)
    t0 = time.monotonic()
    answer = client("CalcAvgLoan", "-c", 55001)
    record("course_recreate", {"killed": victim, "seconds": round(time.monotonic() - t0, 2), "answer": answer})
    assert answer == [str(want), "recreate"]
    assert client("CalcAvgLoan", "-c", 55001) == [str(want), "reuse"]


def test_course_set_teardown(course_system):
    down_and_check(course_system)
