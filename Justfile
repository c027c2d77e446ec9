# lender: recipes for the local cluster (no Docker needed) and for the Docker deployment.
# `just` alone lists them.

set shell := ["bash", "-euo", "pipefail", "-c"]

project := env_var_or_default("PROJECT", "p4")
# PYTHONPATH of the Python programs run here: the gRPC modules dev/bootstrap.sh generates
# (.local/py) and the helpers tests and bench share (pylib/lenderdev.py). pytest.ini's
# pythonpath gives pytest the same.
pythonpath := ".local/py:pylib"
# The "before" of `just bench-before-after`: main when issue 24 was filed, before the export's
# own row reader, the Parquet spill, one allocator arena and the presized builders.
before_rev := "104fc93"

_default:
    @just --list --unsorted

# ---------------------------------------------------------------- local cluster

# Install what is missing, start MySQL + NameNode + 3 DataNodes, load the data, wait until healthy.
# profile: fast | contract (our tuned HDFS config) | course (Hadoop's defaults, as the course runs them);
# flavour: mariadb | mysql (Oracle MySQL from Debian sid; the server and tools follow LENDER_MYSQL_FLAVOUR)
dev-up profile="fast" flavour="mariadb":
    bash dev/bootstrap.sh
    LENDER_MYSQL_FLAVOUR={{flavour}} bash dev/mysql.sh up
    bash dev/cluster.sh up --profile {{profile}}

# Stop the server, the HDFS cluster and both MySQL flavours (keeps downloads and data)
dev-down:
    -bash dev/serve.sh stop
    bash dev/cluster.sh down
    LENDER_MYSQL_FLAVOUR=mariadb bash dev/mysql.sh down
    LENDER_MYSQL_FLAVOUR=mysql bash dev/mysql.sh down

# Live DataNodes, row counts, server state
dev-status:
    bash dev/cluster.sh status
    bash dev/mysql.sh status
    bash dev/serve.sh status

# SIGKILL DataNode N (connections are refused at once)
dev-kill-dn n:
    bash dev/cluster.sh kill-dn {{n}}

# Make DataNode N's host unreachable (packets dropped: connections hang)
dev-cut-dn n:
    bash dev/cluster.sh cut-dn {{n}}

# Bring DataNode N back after a kill or a cut
dev-restore-dn n:
    bash dev/cluster.sh restore-dn {{n}}

# Restart the NameNode with a profile: fast (dead after ~15 s), contract (~90 s) or course (Hadoop's defaults; restarts the DataNodes too)
dev-nn-profile profile:
    bash dev/cluster.sh restart-nn --profile {{profile}}

# The hdfs CLI against the local cluster, e.g. `just hdfs dfs -du -h /`
hdfs *args:
    bash dev/cluster.sh hdfs {{args}}

# Generate the synthetic dump (.local/data/hdma-wi-2021.sql.gz); scale=10 for the 10x data
data scale="1":
    cargo run -q -p datagen --release -- --scale {{scale}} $( [ "{{scale}}" = 1 ] || echo "--out .local/data/hdma-wi-2021-x{{scale}}.sql.gz" )

# Build (release) and start the server on 127.0.0.1:5000, the web board on http://127.0.0.1:8080/ (LENDER_BOARD_LISTEN=off: none), in the background; returns once it answers
dev-serve:
    bash dev/serve.sh start

# Stop the local server
dev-stop:
    bash dev/serve.sh stop

# The client against the local server, e.g. `just client CalcAvgLoan -c 55001`
client *args:
    PYTHONPATH={{pythonpath}} LENDER_SERVER=127.0.0.1:5000 python3 client.py {{args}}

# The whole job end to end on the local cluster, including a DataNode failure
dev-demo: dev-up dev-serve
    just client DbToHdfs
    just client BlockLocations -f /hdma-wi-2021.parquet
    just client CalcAvgLoan -c 55001
    just client CalcAvgLoan -c 55001
    just hdfs dfs -du -h /hdma-wi-2021.parquet
    just dev-kill-dn 1
    for c in 55001 55025 55079; do just client CalcAvgLoan -c $c; done
    just dev-restore-dn 1
    just jobs --limit 8

# Job history, newest first, with filters (--kind, --state, --county, --since, --limit, --json; asks the running server, else reads the store file)
jobs *args:
    just lender jobs {{args}}

# One job with every attempt: `just job ID` (an id prefix is enough)
job id *args:
    just lender job {{id}} {{args}}

# County files: rows, export generation, the DataNodes holding them now, healthy/stale/lost, and what each DataNode's failure would cost (--json)
partitions *args:
    just lender partitions {{args}}

# The server's view of what it depends on: NameNode, DataNodes live/silent/dead/suspect, MySQL, queue, current export (--json)
health *args:
    just lender health {{args}}

# The `lender` command line, in the Docker server container when it runs, else locally
lender *args:
    #!/usr/bin/env bash
    set -euo pipefail
    if command -v docker >/dev/null && docker ps --format '{{{{.Names}}' 2>/dev/null | grep -qx "{{project}}-server-1"; then
        docker exec {{project}}-server-1 lender {{args}}
    else
        eval "$(bash dev/serve.sh env)"
        ./target/release/lender {{args}}
    fi

# Lint gates, all at zero: rustfmt, clippy (warnings are errors), shellcheck, ruff (ruff.toml)
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --quiet -- -D warnings
    shellcheck -x $(git ls-files '*.sh') .ci/run
    ruff check .

# The full test suite (CI): the lint gates, the unit tests, the real local cluster in each set-up
# of the README's test section (starts what is not running), then the deployment in containers
test: lint
    cargo test --release --workspace --quiet
    just test-tuned
    just test-course mariadb
    just test-course mysql
    just test-containers

# Every local test on our tuned cluster (fast profile) with MariaDB
test-tuned: (dev-up "fast" "mariadb")
    bash dev/serve.sh stop
    LENDER_MYSQL_FLAVOUR=mariadb bash dev/serve.sh start
    LENDER_MYSQL_FLAVOUR=mariadb PYTHONPATH={{pythonpath}} python3 -m pytest -q tests --ignore=tests/test_containers.py

# The course's cluster (Hadoop's defaults and its -D flags) with MariaDB (the contract, the CLI,
# the DataNode faults, the mid-export faults, TLS not offered) or Oracle MySQL (the data, the
# contract, the flavour, TLS required by the server)
test-course flavour="mariadb": (dev-up "course" flavour)
    bash dev/serve.sh stop
    LENDER_MYSQL_FLAVOUR={{flavour}} bash dev/serve.sh start
    LENDER_MYSQL_FLAVOUR={{flavour}} PYTHONPATH={{pythonpath}} python3 -m pytest -q -s {{ if flavour == "mysql" { "tests/test_mysql_data.py tests/test_service.py tests/test_mysql_flavour.py tests/test_mysql_tls.py tests/test_stalls.py tests/test_reexport.py" } else { "tests/test_service.py tests/test_cli.py tests/test_faults.py tests/test_export_faults.py tests/test_mysql_tls.py" } }}

# The Docker deployment executed with podman: build the five images, run the six containers, the contract's sequence, a DataNode container killed (dev/containers.py, docs/docker.md)
test-containers:
    bash dev/bootstrap.sh
    bash dev/mysql.sh up
    python3 dev/containers.py setup
    PYTHONPATH={{pythonpath}} python3 -m pytest -q -s tests/test_containers.py

# The deployment in containers without a Docker engine (podman): `just containers build|up|down|status`
containers *args:
    python3 dev/containers.py {{args}}

# Full benchmark: 1x run (restarts the server, kills/restores DataNodes), the 10x DbToHdfs part, then recovery after DataNode failures (BENCHMARKS.md); then the same few figures in each test set-up on both databases at 1x and 10x (setups.json), before/after A/B per database (ab-export-*.json), the soak with each database (soak.json), and the goals met or missed (goals.md); writes bench/results/
bench: dev-up dev-serve
    python3 -c "import pandas, matplotlib, hdfs_native, pymysql, sqlalchemy, connectorx" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    PYTHONPATH={{pythonpath}} python3 bench/bench.py
    PYTHONPATH={{pythonpath}} python3 bench/bench.py --scale 10
    PYTHONPATH={{pythonpath}} python3 bench/bench.py --recovery
    just bench-setups
    just bench-setups-10x
    just bench-before-after
    just bench-soak course mariadb
    just bench-soak course mysql
    just bench-goals

# Recovery part only: kill / cut a DataNode in both NameNode profiles, time the correct answers (merged into BENCHMARKS.md)
bench-recovery: dev-up dev-serve
    PYTHONPATH={{pythonpath}} python3 bench/bench.py --recovery

# DbToHdfs with a DataNode killed / cut off at 25/50/75 % of the write, both NameNode profiles: the fault test, its time table kept in bench/results/export-faults.txt
bench-export-faults: dev-up dev-serve
    PYTHONPATH={{pythonpath}} python3 -m pytest -q -s tests/test_export_faults.py | tee .local/export-faults.log
    sed -n '/^DbToHdfs with a DataNode failing/,/^$/p' .local/export-faults.log > bench/results/export-faults.txt

# Figures that must not grow with the data: spool disk per export, the largest county's create/reuse/recreate and peak RSS, at 1x and (scale=10) at 10x (bench/scale.py)
bench-scale scale="10": dev-up dev-serve
    PYTHONPATH={{pythonpath}} python3 bench/scale.py --scale {{scale}} --out bench/results/scale.json

# Two builds' DbToHdfs in alternating rounds (wall, server CPU, peak RSS): just bench-ab-export /tmp/lender-A target/release/lender
bench-ab-export bin_a bin_b rounds="3": dev-up
    bash bench/ab_export.sh {{bin_a}} {{bin_b}} {{rounds}}

# Two builds' CalcAvgLoan create, each from its own export, in alternating rounds; BENCHMARKS.md shows a run made the day of the full benchmark
bench-ab-create bin_a bin_b label_a="A" label_b="B": dev-up
    PYTHONPATH={{pythonpath}} python3 bench/ab_create.py {{bin_a}} {{bin_b}} --label-a "{{label_a}}" --label-b "{{label_b}}" --out bench/results/ab-create.json

# Floor (a), DbToHdfs (with server CPU), the ConnectorX peer, create and reuse in each test set-up (tuned + MariaDB, course + MariaDB, course + Oracle MySQL): one table, bench/results/setups.json
bench-setups: (bench-setup "fast" "mariadb") (bench-setup "course" "mariadb") (bench-setup "course" "mysql")

# The bench-setups figures at 10x, course cluster, both databases (loads the 10x dump, then the 1x data back: ~25 min)
bench-setups-10x: (bench-setup "course" "mariadb" "--scale 10 --reps 2") (bench-setup "course" "mysql" "--scale 10 --reps 2")

# The bench-setups figures for one set-up (starts it, restarts the server with its flavour); args go to bench/setups.py
bench-setup profile flavour *args: (dev-up profile flavour)
    bash dev/serve.sh stop
    LENDER_MYSQL_FLAVOUR={{flavour}} bash dev/serve.sh start
    LENDER_MYSQL_FLAVOUR={{flavour}} PYTHONPATH={{pythonpath}} python3 bench/setups.py {{args}}

# Server CPU, wall, peak RSS per DbToHdfs: rev's build against this one, alternating rounds, course cluster, both databases (bench/results/ab-export-<flavour>.json)
bench-before-after rev=before_rev rounds="3": (dev-up "course" "mariadb") (dev-up "course" "mysql")
    bash bench/before_after.sh {{rev}} {{rounds}}

# DbToHdfs over TLS (B, the default settings) against plaintext (A, LENDER_MYSQL_SSL_MODE=disabled) on Oracle MySQL, alternating rounds; the server lets plaintext in meanwhile (bench/results/ab-export-tls.json)
bench-tls rounds="4": (dev-up "course" "mysql")
    bash dev/serve.sh stop
    LENDER_MYSQL_FLAVOUR=mysql LENDER_MYSQL_REQUIRE_SECURE_TRANSPORT=OFF bash dev/mysql.sh up
    LENDER_MYSQL_FLAVOUR=mysql PYTHONPATH={{pythonpath}} python3 bench/ab_export.py target/release/lender target/release/lender --rounds {{rounds}} --label-a plaintext --label-b TLS --env-a LENDER_MYSQL_SSL_MODE=disabled --out bench/results/ab-export-tls.json || { LENDER_MYSQL_FLAVOUR=mysql bash dev/mysql.sh up; exit 1; }
    LENDER_MYSQL_FLAVOUR=mysql bash dev/mysql.sh up

# The issue-24 goals, met or missed with the reason measured and the next lever, from the saved results (bench/results/goals.md)
bench-goals:
    python3 bench/goals.py

# CalcAvgLoan p50/p99/max under 16 clients for some minutes, DbToHdfs among them, a DataNode killed then another cut; answers checked against SQL (bench/results/soak.json)
bench-soak profile="course" flavour="mariadb" minutes="4": (dev-up profile flavour)
    bash dev/serve.sh stop
    LENDER_MYSQL_FLAVOUR={{flavour}} bash dev/serve.sh start
    LENDER_MYSQL_FLAVOUR={{flavour}} PYTHONPATH={{pythonpath}} python3 bench/soak.py --minutes {{minutes}}

# The first answers after an export that changed every county: 16 clients ask all 72 counties at once, each a create; answers checked against SQL (bench/results/first_answers.json)
bench-first-answers profile="course" flavour="mariadb": (dev-up profile flavour)
    bash dev/serve.sh stop
    LENDER_MYSQL_FLAVOUR={{flavour}} bash dev/serve.sh start
    LENDER_MYSQL_FLAVOUR={{flavour}} PYTHONPATH={{pythonpath}} python3 bench/first_answers.py

# Smoke variant of the benchmark: one repetition, two counties, no kills/restarts/10x (results in bench/results/)
bench-quick:
    python3 -c "import pandas, matplotlib, hdfs_native, pymysql, sqlalchemy, connectorx" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    PYTHONPATH={{pythonpath}} python3 bench/bench.py --quick

# CalcAvgLoan create vs reuse through client.py -> outputs/performance_results.csv + .png; `just perf-analysis --docker` for Docker
perf-analysis *args:
    PYTHONPATH={{pythonpath}} LENDER_SERVER=127.0.0.1:5000 python3 bench/perf_analysis.py {{args}}

# ---------------------------------------------------------------- Docker deployment

# Build the five images with the contract's tags, in order
rebuild:
    docker build . -f Dockerfile.hdfs -t p4-hdfs
    docker build . -f Dockerfile.namenode -t p4-nn
    docker build . -f Dockerfile.datanode -t p4-dn
    docker build . -f Dockerfile.mysql -t p4-mysql
    docker build . -f Dockerfile.server -t p4-server

# Start the six containers
up:
    PROJECT={{project}} docker compose up -d

# Stop and remove them and their anonymous volumes (data: the next `up` starts fresh anyway)
down:
    PROJECT={{project}} docker compose down -v

# docker kill the DataNode container N
kill-dn n:
    docker kill {{project}}-dn-{{n}}

# Follow the logs (of one service if given)
logs svc="":
    PROJECT={{project}} docker compose logs -f {{svc}}

# The contract's command sequence in Docker, including a DataNode kill
demo:
    docker exec {{project}}-server-1 python3 /client.py DbToHdfs
    docker exec {{project}}-server-1 python3 /client.py BlockLocations -f /hdma-wi-2021.parquet
    docker exec {{project}}-server-1 python3 /client.py CalcAvgLoan -c 55001
    docker exec {{project}}-server-1 python3 /client.py CalcAvgLoan -c 55001
    docker kill {{project}}-dn-1
    docker exec {{project}}-server-1 python3 /client.py CalcAvgLoan -c 55001
    docker exec {{project}}-server-1 python3 /client.py CalcAvgLoan -c 55025
