#!/usr/bin/env python3
"""The Docker deployment, executed in containers on a machine without a Docker engine.

Our machines have podman (Debian's) but no Docker engine and no image registry, so this runs
the deployment with podman and substitutes only what cannot be had here, each substitution
explicit (docs/docker.md has the table):

- base image: a debootstrapped Debian bookworm (minbase), imported as debian:bookworm-slim;
- p4-hdfs: the real Dockerfile.hdfs with `--build-arg HADOOP_SOURCE=maven` (Maven Central's
  Hadoop 3.3.6 jars instead of Apache's tarball, which is out of reach);
- p4-server: Dockerfile.server with its rust stage replaced by the binary built on the host (no
  rust image here), handed in as the build context `prebuilt` (prebuilt_server_dockerfile);
- p4-mysql: MySQL 8 cannot be pulled, so tests/containers/Dockerfile.mariadb runs Debian's
  MariaDB with dev/mysql.sh (the local cluster's script) and the same dump, reachable as `mysql`;
- compose: plain `podman run` calls generated from docker-compose.yml (names
  <project>-<service>-<n>, the service name, aliases and hostname as DNS names on a private
  network as Docker's DNS has them, hostnames, environment, memory limits); ports are not
  published, so the local cluster's 5000, 3306 and 9870 stay free.

`--course` builds and runs the course's container set instead (the grader copies the course's
Dockerfile.hdfs/.namenode/.datanode/.mysql and docker-compose.yml over ours; only
Dockerfile.server is ours): tests/containers/course/, rebuilt from what we know of the course's
files, with the substitutions each file names at its top (Debian bookworm and OpenJDK 17 for
Ubuntu 24.04 and OpenJDK 11, Maven Central's Hadoop jars for Apache's tarball, Debian sid's
MySQL 9.7 root for mysql:8.4). Our p4-server is then built FROM that p4-hdfs.

Everything podman keeps (config, storage, the cached base image) lives in .local/containers/.

    python3 dev/containers.py setup            # podman, its config, the base image
    python3 dev/containers.py build [--client FILE] [--course]
    python3 dev/containers.py up [--course] | down | status
    python3 dev/containers.py podman exec p4-server-1 python3 /client.py CalcAvgLoan -c 55001
"""
import argparse
import ipaddress
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / ".local" / "containers"
PROJECT = os.environ.get("PROJECT", "p4")
BASE_IMAGE = "docker.io/library/debian:bookworm-slim"
BASE_TARBALL = STATE / "debian-bookworm-minbase.tar"
# The private network's subnet: the first of these /24s that nothing on the host (routes,
# addresses, other podman networks) overlaps; 10.213.0.0/24 is the local cluster's (dev/cluster.sh)
SUBNET_CANDIDATES = [f"10.{n}.0.0/24" for n in range(214, 250)]
PACKAGES = ["podman", "buildah", "runc", "netavark", "aardvark-dns", "debootstrap",
            "fuse-overlayfs", "slirp4netns", "uidmap", "catatonit", "iptables"]
DEBIAN_MIRROR = "http://deb.debian.org/debian"
COURSE = ROOT / "tests" / "containers" / "course"
HADOOP_JARS = ROOT / ".local" / "hadoop" / "lib"  # dev/cluster.sh resolves them from docker/hadoop/pom.xml
MYSQL_SID_ROOT = ROOT / ".local" / "mysql-sid" / "root"  # `LENDER_MYSQL_FLAVOUR=mysql dev/mysql.sh up`
MYSQL_SID_IMAGE = "localhost/lender-mysql:sid"
MYSQL_SID_TARBALL = STATE / "mysql-sid-root.tar"


def log(msg):
    print(f"containers: {msg}", file=sys.stderr, flush=True)


class Timeout(Exception):
    pass


def podman_env():
    env = dict(os.environ)
    env.update(CONTAINERS_CONF=str(STATE / "containers.conf"),
               CONTAINERS_STORAGE_CONF=str(STATE / "storage.conf"),
               CONTAINERS_REGISTRIES_CONF=str(STATE / "registries.conf"))
    return env


def podman(*args, check=True, timeout=600, capture=True):
    proc = subprocess.run(["podman", *args], env=podman_env(), text=True, timeout=timeout,
                          capture_output=capture)
    if check and proc.returncode != 0:
        out = (proc.stdout or "") + (proc.stderr or "") if capture else ""
        raise RuntimeError(f"podman {' '.join(args[:3])} ... failed ({proc.returncode}):\n{out[-4000:]}")
    return proc


def wait_until(predicate, timeout, what, interval=1.0):
    """Polls predicate() until it returns a truthy value; Timeout names what never happened."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - a failed probe is the same as "not yet"
            last = e
        time.sleep(interval)
    raise Timeout(f"{what}: not within {timeout} s" + (f" (last error: {last})" if last else ""))


# ------------------------------------------------------------------------------ setup


def write_config():
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / "containers.conf").write_text(
        "# podman settings for this machine (docs/docker.md, ../shared/notes/containers-podman.md)\n"
        "[containers]\n"
        "# the sandbox's hard nofile limit is 20000 and it cannot raise it\n"
        'default_ulimits = ["nofile=20000:20000", "nproc=20000:20000"]\n'
        "[engine]\n"
        "# crun refuses these machines' hybrid cgroups; runc with cgroupfs works\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        "[network]\n"
        'network_backend = "netavark"\n')
    (STATE / "storage.conf").write_text(
        "[storage]\n"
        'driver = "overlay"\n'
        f'graphroot = "{STATE}/storage"\n'
        f'runroot = "{STATE}/run"\n')
    (STATE / "registries.conf").write_text(
        "# No registry is reachable: builds use --pull=never and local images only.\n"
        'unqualified-search-registries = ["docker.io"]\n'
        'short-name-mode = "permissive"\n')


def install_packages():
    if all(shutil.which(p) for p in ("podman", "buildah", "runc", "debootstrap", "iptables")):
        return
    log("installing podman and friends from Debian's packages")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES]
    if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, capture_output=True)
        subprocess.run(cmd, env=env, check=True, capture_output=True)


def image_exists(name):
    return podman("image", "exists", name, check=False).returncode == 0


def import_base_image():
    """debian:bookworm-slim from a debootstrapped minbase bookworm (no registry to pull from)."""
    if image_exists(BASE_IMAGE):
        return
    if not BASE_TARBALL.exists():
        rootfs = STATE / "rootfs"
        t0 = time.monotonic()
        log("debootstrapping Debian bookworm (minbase) for the base image (once, ~1-2 min)")
        shutil.rmtree(rootfs, ignore_errors=True)
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), DEBIAN_MIRROR],
                       check=True, capture_output=True, timeout=900)
        # like the slim image: no apt lists, no caches
        for junk in ("var/lib/apt/lists", "var/cache/apt/archives"):
            for p in (rootfs / junk).glob("*"):
                if p.is_file():
                    p.unlink()
        tmp = BASE_TARBALL.with_suffix(".tmp")
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tmp), "."], check=True)
        tmp.rename(BASE_TARBALL)
        shutil.rmtree(rootfs, ignore_errors=True)
        log(f"base rootfs ready in {time.monotonic() - t0:.0f} s")
    with open(BASE_TARBALL, "rb") as f:
        cmd = ["podman", "import", "--change", 'CMD ["bash"]', "-", "localhost/debian-minbase:bookworm"]
        proc = subprocess.run(cmd,
                              stdin=f, env=podman_env(), capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"podman import failed: {proc.stderr[-2000:]}")
    add_host_cas()


def host_extra_cas():
    """The CA certificates this machine trusts beyond Debian's own (ca-certificates) set: here,
    the TLS-intercepting egress proxy's. Without them no https download works in a build."""
    import re
    pem = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.S)
    debian = set()
    for crt in Path("/usr/share/ca-certificates").rglob("*.crt"):
        debian.update(pem.findall(crt.read_text(errors="replace")))
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    return [c for c in pem.findall(bundle.read_text(errors="replace")) if c not in debian] if bundle.exists() else []


def add_host_cas():
    """debian:bookworm-slim = the minbase import + the host's extra CAs in
    /usr/local/share/ca-certificates/, which Debian's ca-certificates (and with it Java's
    keystore) takes in when a Dockerfile installs it."""
    ctx = STATE / "base-context"
    shutil.rmtree(ctx, ignore_errors=True)
    (ctx / "cas").mkdir(parents=True)
    cas = host_extra_cas()
    for i, cert in enumerate(cas):
        (ctx / "cas" / f"host-extra-{i}.crt").write_text(cert + "\n")
    (ctx / "Dockerfile").write_text(
        "FROM localhost/debian-minbase:bookworm\n"
        "COPY cas/ /usr/local/share/ca-certificates/\n")
    build_image(ctx / "Dockerfile", BASE_IMAGE, context=ctx)
    log(f"base image {BASE_IMAGE}: debootstrapped bookworm + {len(cas)} host CA certificate(s)")


def setup():
    install_packages()
    write_config()
    import_base_image()


# ------------------------------------------------------------------------------ build


def build_image(dockerfile, tag, context=ROOT, build_args=(), build_contexts=(), timeout=1800):
    t0 = time.monotonic()
    args = ["build", "--format", "docker", "--pull=never", "-f", str(dockerfile), "-t", tag]
    for arg in build_args:
        args += ["--build-arg", arg]
    for bc in build_contexts:
        args += ["--build-context", bc]
    proc = podman(*args, str(context), check=False, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"building {tag} from {dockerfile} failed:\n{(proc.stdout + proc.stderr)[-6000:]}")
    log(f"built {tag} in {time.monotonic() - t0:.0f} s")


def dump_dir():
    """The directory holding the dump p4-mysql loads: the real one at the root, else the synthetic."""
    real = ROOT / "hdma-wi-2021.sql.gz"
    if real.exists():
        return real.parent
    synthetic = ROOT / ".local" / "data" / "hdma-wi-2021.sql.gz"
    if not synthetic.exists():
        raise RuntimeError(f"no dump: neither {real} nor {synthetic} (`just data` generates it)")
    return synthetic.parent


def course_context(client):
    """A copy of the repository's tracked files with `client` copied over client.py, the way a
    user copies the course's client.py over ours before building."""
    ctx = STATE / "context-course"
    shutil.rmtree(ctx, ignore_errors=True)
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        src = ROOT / rel
        if src.is_file():
            (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, ctx / rel)
    shutil.copy(client, ctx / "client.py")
    return ctx


def image_set(course=False):
    """[(tag, dockerfile, build_image keyword arguments)] of the four images below p4-server, in
    build order: ours (the root Dockerfiles, substitutions above) or the course's
    (tests/containers/course/, substitutions at the top of each file)."""
    dump = f"dump={dump_dir()}"
    if course:
        return [("p4-hdfs", COURSE / "Dockerfile.hdfs", {"build_contexts": [f"hadoop-jars={hadoop_jars()}"]}),
                ("p4-nn", COURSE / "Dockerfile.namenode", {}),
                ("p4-dn", COURSE / "Dockerfile.datanode", {}),
                ("p4-mysql", COURSE / "Dockerfile.mysql", {"build_contexts": [dump]})]
    return [("p4-hdfs", ROOT / "Dockerfile.hdfs", {"build_args": ["HADOOP_SOURCE=maven"]}),
            ("p4-nn", ROOT / "Dockerfile.namenode", {}),
            ("p4-dn", ROOT / "Dockerfile.datanode", {}),
            ("p4-mysql", ROOT / "tests" / "containers" / "mariadb.Dockerfile", {"build_contexts": [dump]})]


def compose_file(course=False):
    return (COURSE if course else ROOT) / "docker-compose.yml"


def hadoop_jars():
    """The Hadoop 3.3.6 jars from Maven Central that dev/cluster.sh keeps in .local/hadoop/lib."""
    if not (HADOOP_JARS / "hadoop-hdfs-3.3.6.jar").exists():
        raise RuntimeError(f"{HADOOP_JARS} has no Hadoop 3.3.6 jars: `bash dev/cluster.sh up` fetches them")
    return HADOOP_JARS


def import_mysql_sid_image():
    """localhost/lender-mysql:sid, the base of the course set's p4-mysql: the Debian sid root with
    Oracle's MySQL 9.7 that `LENDER_MYSQL_FLAVOUR=mysql dev/mysql.sh up` debootstraps (MySQL 8.4's
    image cannot be pulled). Its tarball is cached here; the local server's data dir and apt's
    caches stay out."""
    if image_exists(MYSQL_SID_IMAGE):
        return
    if not MYSQL_SID_TARBALL.exists():
        if not (MYSQL_SID_ROOT / "usr" / "sbin" / "mysqld").exists():
            raise RuntimeError(f"{MYSQL_SID_ROOT} has no mysqld: `LENDER_MYSQL_FLAVOUR=mysql bash dev/mysql.sh up` "
                               "debootstraps it")
        t0 = time.monotonic()
        tmp = MYSQL_SID_TARBALL.with_suffix(".tmp")
        subprocess.run(["tar", "-C", str(MYSQL_SID_ROOT), "--one-file-system", "--exclude=./var/lib/lender-mysql",
                        "--exclude=./var/cache/apt/archives/*.deb", "--exclude=./var/lib/apt/lists/*",
                        "--exclude=./proc/*", "-cf", str(tmp), "."], check=True)
        tmp.rename(MYSQL_SID_TARBALL)
        log(f"sid root archived in {time.monotonic() - t0:.0f} s")
    with open(MYSQL_SID_TARBALL, "rb") as f:
        proc = subprocess.run(["podman", "import", "-", MYSQL_SID_IMAGE], stdin=f, env=podman_env(),
                              capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"podman import of the sid root failed: {proc.stderr[-2000:]}")


def build(client=None, course=False):
    """The five images under the contract's tags (image_set, then p4-server)."""
    binary = ROOT / "target" / "release" / "lender"
    if not binary.exists():
        raise RuntimeError(f"{binary} is missing: `cargo build --release` first")
    if course:
        import_mysql_sid_image()
    for tag, dockerfile, kwargs in image_set(course):
        build_image(dockerfile, tag, **kwargs)
    build_server(client)


def build_server(client=None):
    """p4-server from Dockerfile.server with the host's release binary in place of its rust
    stage (prebuilt_server_dockerfile; a directory of its own as the `prebuilt` context:
    target/release would send gigabytes)."""
    prebuilt = STATE / "prebuilt"
    prebuilt.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "target" / "release" / "lender", prebuilt / "lender")
    context = course_context(client) if client else ROOT
    dockerfile = STATE / "Dockerfile.server.prebuilt"
    dockerfile.write_text(prebuilt_server_dockerfile((context / "Dockerfile.server").read_text()))
    build_image(dockerfile, "p4-server", context=context, build_contexts=[f"prebuilt={prebuilt}"])


PREBUILT_STAGE = (
    "# test-only: the binary built on the host (same Debian release) instead of the rust stage\n"
    "FROM scratch AS build\n"
    "COPY --from=prebuilt lender /src/target/release/lender\n\n"
)


def prebuilt_server_dockerfile(text):
    """Dockerfile.server with its `build` stage (rust image, cargo) replaced by one that holds the
    prebuilt binary at the same path; every other line stays the real file's."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.upper().startswith("FROM ")]
    build = next((i for i in starts if line_names_stage(lines[i], "build")), None)
    if build is None:
        raise RuntimeError("Dockerfile.server has no `FROM ... AS build` stage to substitute")
    end = next((i for i in starts if i > build), len(lines))
    return "".join(lines[:build]) + PREBUILT_STAGE + "".join(lines[end:])


def line_names_stage(line, name):
    words = line.split()
    return len(words) >= 4 and words[-2].upper() == "AS" and words[-1] == name


# ------------------------------------------------------------------------------ run


def network_name():
    return f"{PROJECT}_default"


def compose_services(course=False):
    """[(service, spec)] of the compose file (compose_file) in start order (depends_on first)."""
    services = yaml.safe_load(compose_file(course).read_text())["services"]
    order, seen = [], set()

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        deps = services[name].get("depends_on", [])
        for dep in deps if isinstance(deps, list) else list(deps):
            visit(dep)
        order.append((name, services[name]))

    for name in services:
        visit(name)
    return order


def interpolate(value):
    """${VAR} / ${VAR:-default} as compose does, for the image names."""
    import re

    def sub(m):
        return os.environ.get(m.group(1), {"PROJECT": PROJECT}.get(m.group(1))) or (m.group(3) or "")
    return re.sub(r"\$\{(\w+)(:-([^}]*))?\}", sub, str(value))


def run_args(service, spec, n):
    """`podman run` arguments for replica n of a compose service."""
    name = f"{PROJECT}-{service}-{n}"
    args = ["run", "-d", "--name", name, "--network", network_name()]
    nets = spec.get("networks") or {}
    aliases = [service, *(((nets.get("default") or {}).get("aliases") or []) if isinstance(nets, dict) else [])]
    if spec.get("hostname"):
        args += ["--hostname", spec["hostname"]]
        # Docker's DNS answers for a container's hostname too (its DNSNames: container name,
        # aliases, short id, hostname); podman's only for names and aliases
        aliases.append(spec["hostname"])
    for alias in dict.fromkeys(aliases):
        args += ["--network-alias", alias]
    env = spec.get("environment") or {}
    items = env.items() if isinstance(env, dict) else (e.split("=", 1) for e in env)
    for key, value in items:
        args += ["-e", f"{key}={value}"]
    memory = (((spec.get("deploy") or {}).get("resources") or {}).get("limits") or {}).get("memory")
    if memory:
        args += ["--memory", str(memory)]
    return name, args + [interpolate(spec["image"])]


def containers():
    """Names of this project's containers, running or not."""
    out = podman("ps", "-a", "--filter", f"name=^{PROJECT}-", "--format", "{{.Names}}", check=False).stdout
    return [line for line in out.split() if line.startswith(f"{PROJECT}-")]


def ip_json(*args):
    """What `ip -j ARGS` reports, parsed ([] when ip fails or prints nothing)."""
    out = subprocess.run(["ip", "-j", *args], capture_output=True, text=True).stdout
    return json.loads(out or "[]")


def host_networks():
    """{network: what holds it} for every IPv4 network the host routes or has an address in,
    and every podman network's subnets: what a new podman network must not overlap."""
    held = {}

    def hold(network, owner):
        try:
            held[ipaddress.ip_network(network, strict=False)] = owner
        except ValueError:
            pass

    for route in ip_json("-4", "route", "show", "table", "all"):
        if route.get("dst", "default") != "default":
            table = route.get("table", "main")
            hold(route["dst"], f"route {route['dst']} dev {route.get('dev', '?')} table {table}")
    for link in ip_json("-4", "addr"):
        for addr in link.get("addr_info", []):
            if "local" in addr:
                network = f"{addr['local']}/{addr.get('prefixlen', 32)}"
                hold(network, f"address {addr['local']} on {link.get('ifname', '?')}")
    listing = podman("network", "ls", "--format", "json", check=False).stdout or "[]"
    for net in json.loads(listing):
        for subnet in net.get("subnets") or []:
            if "subnet" in subnet:
                hold(subnet["subnet"], f"podman network {net.get('name', '?')}")
    return held


def free_subnet():
    """The first of SUBNET_CANDIDATES that nothing on the host overlaps (a CI host once had
    10.214.0.0/24 in use, and a fixed subnet failed the whole container stage)."""
    held = host_networks()
    for candidate in SUBNET_CANDIDATES:
        subnet = ipaddress.ip_network(candidate)
        clashes = [owner for net, owner in held.items() if net.prefixlen > 0 and net.overlaps(subnet)]
        if not clashes:
            return subnet
        log(f"subnet {candidate} is taken ({clashes[0]}); trying the next")
    raise RuntimeError(f"no free subnet among {SUBNET_CANDIDATES[0]}..{SUBNET_CANDIDATES[-1]}")


def bridge_mac(subnet):
    """A fixed, locally administered MAC for the bridge, from its gateway address (as Docker's)."""
    gateway = next(subnet.hosts())
    return "02:42:" + ":".join(f"{b:02x}" for b in gateway.packed)


def pin_bridge_mac():
    """Killing a container can change the bridge's MAC (seen in 2 of 3 runs here); the others
    then lose the DNS server on the gateway. Pinning the bridge's MAC keeps it."""
    info = json.loads(podman("network", "inspect", network_name()).stdout)[0]
    bridge = info["network_interface"]
    subnet = ipaddress.ip_network(info["subnets"][0]["subnet"])
    wait_until(lambda: subprocess.run(["ip", "link", "show", bridge], capture_output=True).returncode == 0,
               20, f"the network's bridge {bridge} to appear (netavark creates it with the first container)")
    subprocess.run(["ip", "link", "set", "dev", bridge, "address", bridge_mac(subnet)], check=True)


def up(course=False):
    """The compose file's containers on a private network, as `docker compose up -d` would."""
    down()
    subnet = free_subnet()
    podman("network", "create", "--subnet", str(subnet), network_name())
    log(f"network {network_name()} on {subnet}")
    services = compose_services(course)
    for service, spec in services:
        replicas = int((spec.get("deploy") or {}).get("replicas", 1))
        for n in range(1, replicas + 1):
            name, args = run_args(service, spec, n)
            podman(*args)
            log(f"started {name}")
        if service == services[0][0]:
            pin_bridge_mac()


def down():
    """Removes this project's containers, their anonymous volumes, the network and the firewall
    chains netavark made for it: only what up() created."""
    names = containers()
    if names:
        podman("rm", "-f", "-v", "-t", "2", *names, timeout=300)
    if podman("network", "exists", network_name(), check=False).returncode == 0:
        podman("network", "rm", "-f", network_name())
    remove_netavark_chains()


def netavark_rules():
    """iptables-save lines (filter and nat) that netavark made: its chains and the jumps to them."""
    if not shutil.which("iptables-save"):
        return []
    out = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "NETAVARK" in line]


def remove_netavark_chains():
    """netavark leaves its (empty) chains and the jumps to them behind once its last network is
    gone. When no other podman network is in use, remove them, and the `ip filter` / `ip nat`
    tables themselves if nothing else has rules there, so the machine is left as found."""
    others = [n for n in podman("network", "ls", "--format", "{{.Name}}", check=False).stdout.split()
              if n != "podman"]
    if others or not netavark_rules():
        return
    for table in ("filter", "nat"):
        save = subprocess.run(["iptables-save", "-t", table], capture_output=True, text=True).stdout
        for line in save.splitlines():
            if line.startswith("-A ") and "NETAVARK" in line and not line.split()[1].startswith("NETAVARK"):
                subprocess.run(["iptables", "-t", table, "-D", *shlex.split(line)[1:]], capture_output=True)
        for line in save.splitlines():
            if line.startswith(":NETAVARK"):
                chain = line[1:].split()[0]
                subprocess.run(["iptables", "-t", table, "-F", chain], capture_output=True)
        for line in save.splitlines():
            if line.startswith(":NETAVARK"):
                subprocess.run(["iptables", "-t", table, "-X", line[1:].split()[0]], capture_output=True)
        rest = subprocess.run(["iptables-save", "-t", table], capture_output=True, text=True).stdout
        if not any(line.startswith("-A ") for line in rest.splitlines()):
            subprocess.run(["nft", "delete", "table", "ip", table], capture_output=True)


def status():
    return podman("ps", "-a", "--filter", f"name=^{PROJECT}-").stdout


def exec_in(container, *cmd, timeout=600):
    """(returncode, stdout, stderr) of a command run in a container."""
    proc = podman("exec", container, *cmd, check=False, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("setup", help="install podman, write its config, import the base image")
    b = sub.add_parser("build", help="build the five images")
    b.add_argument("--client", help="a client.py to copy over ours first (e.g. the course's)")
    b.add_argument("--course", action="store_true",
                   help="the course's Dockerfile.hdfs/.namenode/.datanode/.mysql (tests/containers/course/)")
    u = sub.add_parser("up", help="start the compose file's containers")
    u.add_argument("--course", action="store_true", help="the course's compose file (tests/containers/course/)")
    sub.add_parser("down", help="remove the containers and the network")
    sub.add_parser("status", help="list the containers")
    pm = sub.add_parser("podman", help="any podman command with this project's podman settings")
    pm.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.cmd in ("setup", "build", "up"):
        setup()  # idempotent: seconds once done
    if args.cmd == "build":
        build(args.client, course=args.course)
    elif args.cmd == "up":
        up(course=args.course)
    elif args.cmd == "down":
        down()
    elif args.cmd == "setup":
        pass
    elif args.cmd == "podman":
        sys.exit(subprocess.run(["podman", *args.args], env=podman_env()).returncode)
    else:
        print(status())


if __name__ == "__main__":
    main()
