#!/usr/bin/env bash
# Local MariaDB for development and tests (stands in for the MySQL 8 container).
#
#   dev/mysql.sh up [--dump PATH]  install if needed, start, create CS544, load the dump if needed
#   dev/mysql.sh down              stop the server
#   dev/mysql.sh status            running? row counts
#   dev/mysql.sh load [--dump PATH] force a reload of the dump
#   dev/mysql.sh sql "QUERY"       run a query as root against CS544
#   dev/mysql.sh env               print export lines (LENDER_MYSQL_URL, ...)
#   dev/mysql.sh run [--dump PATH] `up` on loopback only, then mariadbd in the foreground on
#                                  LENDER_MYSQL_BIND (a container's PID 1: tests/containers/)
#
# Server: mariadbd run directly (no systemd) as root, 127.0.0.1:3306, root password `abc`;
# data dir, socket, pid and log under .local/mysql/ of the repository (git-ignored).
# Dump: PATH from --dump, else the real hdma-wi-2021.sql.gz at the repository root if present,
# else the synthetic .local/data/hdma-wi-2021.sql.gz (generated with the datagen crate if missing
# or older than the generator's sources). A marker row in the server (lender_dev.loaded_dump) keeps
# the loaded dump's sha256: `up` reloads only when the data is missing or the dump changed.
# If another server already answers on the port as root/abc (e.g. the one of another checkout of
# this repository on the same machine), `up` uses it instead of starting a second one.
#
# Environment: LENDER_MYSQL_PORT (default 3306), LENDER_MYSQL_BUFFER_POOL (default 256M),
# LENDER_MYSQL_BIND (`run` only: the address to serve on once loaded, default 0.0.0.0).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=dev/lib.sh
. "$ROOT/dev/lib.sh"
LOCAL="$ROOT/.local"
MY="$LOCAL/mysql"
DATADIR="$MY/data"
SOCK="$MY/mysqld.sock"
PIDF="$MY/mysqld.pid"
LOG="$MY/mysqld.log"
CNF="$MY/my.cnf"
CLIENT_CNF="$MY/client.cnf"
PORT="${LENDER_MYSQL_PORT:-3306}"
POOL="${LENDER_MYSQL_BUFFER_POOL:-256M}"
PASS=abc
DB=CS544
SYNTH="$LOCAL/data/hdma-wi-2021.sql.gz"
REAL="$ROOT/hdma-wi-2021.sql.gz"

say() { echo "mysql.sh: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# ---------------------------------------------------------------------------------------------
# install

installed() {
    command -v mariadbd >/dev/null 2>&1 && command -v mariadb >/dev/null 2>&1 \
        && command -v mariadb-install-db >/dev/null 2>&1 && command -v mariadb-admin >/dev/null 2>&1
}

install_packages() {
    installed && return 0
    say "installing mariadb-server and mariadb-client with apt"
    # Keep the package's postinst from starting a system service (port 3306 is ours):
    # invoke-rc.d asks policy-rc.d, and 101 means "action forbidden".
    local policy=/usr/sbin/policy-rc.d created=0
    if [ ! -e "$policy" ]; then
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
        created=1
    fi
    local rc=0
    (
        export DEBIAN_FRONTEND=noninteractive
        as_root apt-get update -qq
        as_root apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef \
            -o Dpkg::Options::=--force-confold mariadb-server mariadb-client >/dev/null
    ) || rc=$?
    if [ "$created" = 1 ]; then as_root rm -f "$policy"; fi
    [ "$rc" = 0 ] || die "apt-get install mariadb-server mariadb-client failed ($rc)"
    installed || die "mariadb installed but mariadbd/mariadb not on PATH"
    # If a system service started anyway, stop it so that the port is free.
    if [ -s /run/mysqld/mysqld.pid ]; then
        say "stopping the system MariaDB service that the package started"
        as_root service mariadb stop >/dev/null 2>&1 || as_root kill "$(cat /run/mysqld/mysqld.pid)" 2>/dev/null || true
        sleep 2
    fi
}

# ---------------------------------------------------------------------------------------------
# server

write_config() {
    mkdir -p "$MY"
    cat >"$CNF" <<EOF
[mariadbd]
user=root
datadir=$DATADIR
socket=$SOCK
pid-file=$PIDF
log-error=$LOG
port=$PORT
bind-address=127.0.0.1
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
max_allowed_packet=256M
innodb_buffer_pool_size=$POOL
innodb_log_file_size=512M
innodb_log_buffer_size=64M
innodb_flush_log_at_trx_commit=2
innodb_doublewrite=0
innodb_file_per_table=1
max_connections=200
EOF
    cat >"$CLIENT_CNF" <<EOF
[client]
user=root
password=$PASS
host=127.0.0.1
port=$PORT
protocol=TCP
default-character-set=utf8mb4
max_allowed_packet=256M
EOF
    chmod 600 "$CLIENT_CNF"
}

server_pid() {
    # prints the pid of our server if it is alive
    [ -s "$PIDF" ] || return 1
    local pid
    pid="$(cat "$PIDF" 2>/dev/null)" || return 1
    alive "$pid" || return 1
    # make sure the pid is a mariadbd using our data dir (pids get reused)
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$CNF" || return 1
    echo "$pid"
}

ping() {
    mariadb-admin --defaults-file="$CLIENT_CNF" --connect-timeout=2 ping >/dev/null 2>&1 \
        || mariadb-admin --no-defaults --socket="$SOCK" -uroot --connect-timeout=2 ping >/dev/null 2>&1
}

port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

wait_until_up() {
    local pid="$1"
    for _ in $(seq 1 240); do
        if ping; then return 0; fi
        alive "$pid" || { tail -n 30 "$LOG" >&2 || true; die "mariadbd exited during start-up (log: $LOG)"; }
        sleep 0.5
    done
    return 1
}

stop_pid() {
    stop_process "$1" 60 || say "mariadbd $1 did not stop in 60 s; killed it"
}

init_datadir() {
    if [ -d "$DATADIR/mysql" ] && [ -e "$MY/initialized" ]; then return 0; fi
    say "initializing a data directory in $DATADIR"
    rm -rf "$DATADIR" "$MY/initialized"
    mkdir -p "$DATADIR"
    mariadb-install-db --defaults-file="$CNF" --user=root --skip-test-db \
        --auth-root-authentication-method=socket >"$MY/install-db.log" 2>&1 \
        || { tail -n 30 "$MY/install-db.log" >&2; die "mariadb-install-db failed (log: $MY/install-db.log)"; }
    touch "$MY/needs-setup"
    touch "$MY/initialized"
}

start_server() {
    local pid
    if pid="$(server_pid)"; then
        if ping; then return 0; fi
        say "mariadbd $pid is running but not answering yet; waiting"
        if wait_until_up "$pid"; then return 0; fi
        say "mariadbd $pid does not answer; restarting it"
        stop_pid "$pid"
    fi
    # stale files of a server that is gone
    rm -f "$PIDF" "$SOCK" "$SOCK.lock"
    if port_busy; then
        if client -e "SELECT 1" >/dev/null 2>&1; then
            say "using the server that already listens on 127.0.0.1:$PORT and accepts root/$PASS (not started from this checkout)"
            EXTERNAL=1
            return 0
        fi
        die "port $PORT on 127.0.0.1 is taken by a process that is not our server and does not accept root/$PASS. Stop it, or set LENDER_MYSQL_PORT."
    fi
    init_datadir
    say "starting mariadbd on 127.0.0.1:$PORT"
    # setsid: the server outlives this script and its terminal; 9>&-: it must not inherit our lock
    setsid mariadbd --defaults-file="$CNF" </dev/null >>"$LOG" 2>&1 9>&- &
    local spid=$!
    wait_until_up "$spid" || { tail -n 30 "$LOG" >&2; die "mariadbd did not answer within 120 s (log: $LOG)"; }
    say "mariadbd is up (pid $(cat "$PIDF" 2>/dev/null || echo "$spid"))"
}

setup_users() {
    # on a fresh data dir: root with password abc on localhost (socket too), 127.0.0.1 and %
    local sql="
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('$PASS');
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '$PASS';
ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '$PASS';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$PASS';
ALTER USER 'root'@'%' IDENTIFIED BY '$PASS';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;"
    if [ "$EXTERNAL" = 0 ] && [ -e "$MY/needs-setup" ]; then
        mariadb --no-defaults --socket="$SOCK" -uroot -e "$sql" || die "could not set up users"
        rm -f "$MY/needs-setup"
    fi
    client -e "CREATE DATABASE IF NOT EXISTS \`$DB\` DEFAULT CHARACTER SET utf8mb4" || die "could not create $DB"
}

# ---------------------------------------------------------------------------------------------
# data

synthetic_is_stale() {
    [ -s "$SYNTH" ] || return 0
    [ -n "$(find "$ROOT/datagen" -newer "$SYNTH" \( -name '*.rs' -o -name Cargo.toml \) -print -quit 2>/dev/null)" ]
}

generate_synthetic() {
    command -v cargo >/dev/null 2>&1 || die "cargo is needed to generate the synthetic dump"
    say "generating the synthetic dump $SYNTH"
    mkdir -p "$(dirname "$SYNTH")"
    (cd "$ROOT" && cargo run -q -p datagen --release -- --out "$SYNTH") || die "datagen failed"
}

# picks the dump to load; prints its path
choose_dump() {
    local want="${1:-}"
    if [ -n "$want" ]; then
        [ -s "$want" ] || die "no such dump: $want"
        (cd "$(dirname "$want")" && echo "$(pwd)/$(basename "$want")")
    elif [ -s "$REAL" ]; then
        echo "$REAL"
    else
        if synthetic_is_stale; then generate_synthetic; fi
        echo "$SYNTH"
    fi
}

client() {
    mariadb --defaults-file="$CLIENT_CNF" "$@"
}

loans_present() {
    local n
    n="$(client -N -B -e "SELECT COUNT(*) FROM \`$DB\`.loans" 2>/dev/null)" || return 1
    [ -n "$n" ] && [ "$n" -gt 0 ]
}

# The marker lives in the server, next to the data it describes.
marker_get() {
    client -N -B -e "SELECT sha256 FROM lender_dev.loaded_dump WHERE id = 1" 2>/dev/null || true
}

marker_describe() {
    client -N -B -e "SELECT CONCAT(dump, ' (sha256 ', LEFT(sha256, 12), ', loaded ', loaded_at, ')') FROM lender_dev.loaded_dump WHERE id = 1" 2>/dev/null || true
}

marker_set() {
    local sum="$1" dump="${2//\'/\'\'}"
    client -e "CREATE DATABASE IF NOT EXISTS lender_dev;
CREATE TABLE IF NOT EXISTS lender_dev.loaded_dump (id INT PRIMARY KEY, sha256 CHAR(64) NOT NULL, dump TEXT, loaded_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
REPLACE INTO lender_dev.loaded_dump (id, sha256, dump) VALUES (1, '$sum', '$dump');" || die "could not write the load marker"
}

marker_clear() {
    client -e "DELETE FROM lender_dev.loaded_dump WHERE id = 1" >/dev/null 2>&1 || true
}

load_dump() {
    local dump="$1" sum t0 t1
    sum="$(sha256sum "$dump" | cut -d' ' -f1)"
    marker_clear
    say "loading $dump into $DB (this takes a while)"
    t0=$(date +%s)
    # unique/foreign key checks off and one transaction: much faster InnoDB inserts
    {
        echo "SET SESSION unique_checks=0; SET SESSION foreign_key_checks=0; SET SESSION autocommit=0;"
        gzip -dc "$dump"
        echo ";"
        echo "COMMIT;"
    } | client --database="$DB" || die "loading $dump failed"
    t1=$(date +%s)
    marker_set "$sum" "$dump"
    say "loaded in $((t1 - t0)) s"
}

ensure_loaded() {
    local dump="$1" force="${2:-0}" sum
    sum="$(sha256sum "$dump" | cut -d' ' -f1)"
    if [ "$force" != 1 ] && [ "$(marker_get)" = "$sum" ] && loans_present; then
        say "$DB already holds $(basename "$dump") (sha256 ${sum:0:12}); not reloading"
        return 0
    fi
    load_dump "$dump"
}

# ---------------------------------------------------------------------------------------------
# commands

with_lock() {
    take_lock "$MY/.lock" 900 || die "another dev/mysql.sh holds $MY/.lock"
}

parse_dump_arg() {
    DUMP_ARG=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --dump) [ $# -ge 2 ] || die "--dump needs a path"; DUMP_ARG="$2"; shift 2 ;;
            --dump=*) DUMP_ARG="${1#--dump=}"; shift ;;
            *) die "unknown argument: $1" ;;
        esac
    done
}

EXTERNAL=0

cmd_up() {
    parse_dump_arg "$@"
    with_lock
    install_packages
    write_config
    start_server
    setup_users
    local dump
    dump="$(choose_dump "$DUMP_ARG")"
    ensure_loaded "$dump" 0
    say "ready: mysql://root:$PASS@127.0.0.1:$PORT/$DB"
}

cmd_load() {
    parse_dump_arg "$@"
    with_lock
    write_config
    client -e "SELECT 1" >/dev/null 2>&1 || die "no server answers on 127.0.0.1:$PORT (dev/mysql.sh up)"
    local dump
    dump="$(choose_dump "$DUMP_ARG")"
    ensure_loaded "$dump" 1
}

# Like the MySQL image's entrypoint: load with the network closed (loopback only), so that
# nobody reads a half-loaded table, then serve in the foreground on the bind address.
cmd_run() {
    cmd_up "$@"
    local pid bind="${LENDER_MYSQL_BIND:-0.0.0.0}"
    pid="$(server_pid)" || die "the server that \`up\` started is gone"
    mariadb-admin --defaults-file="$CLIENT_CNF" shutdown >/dev/null 2>&1 || true
    stop_pid "$pid"
    say "serving on $bind:$PORT"
    exec mariadbd --defaults-file="$CNF" --bind-address="$bind" --log-error=/dev/stderr 9>&-
}

cmd_down() {
    with_lock
    local pid
    if pid="$(server_pid)"; then
        say "stopping mariadbd $pid"
        mariadb-admin --defaults-file="$CLIENT_CNF" shutdown >/dev/null 2>&1 || true
        stop_pid "$pid"
        say "stopped"
    else
        rm -f "$PIDF" "$SOCK"
        if port_busy; then
            say "not running from this checkout; another server listens on 127.0.0.1:$PORT: leaving it alone"
        else
            say "not running"
        fi
    fi
}

cmd_status() {
    local pid
    write_config
    if pid="$(server_pid)" && ping; then
        echo "running: pid $pid, 127.0.0.1:$PORT, data $DATADIR"
    elif client -e "SELECT 1" >/dev/null 2>&1; then
        echo "running: a server not started from this checkout answers on 127.0.0.1:$PORT"
    else
        echo "not running"
        return 1
    fi
    echo "loaded dump: $(marker_describe)"
    client -t -e "
SELECT (SELECT COUNT(*) FROM \`$DB\`.loans) AS loans,
       (SELECT COUNT(*) FROM \`$DB\`.loan_types) AS loan_types,
       (SELECT COUNT(*) FROM \`$DB\`.loans WHERE loan_amount > 30000 AND loan_amount < 800000) AS in_range" \
        2>/dev/null || echo "tables not loaded"
}

cmd_sql() {
    [ $# -ge 1 ] || die "usage: dev/mysql.sh sql \"QUERY\""
    [ -s "$CLIENT_CNF" ] || write_config
    client --database="$DB" -e "$*"
}

cmd_env() {
    echo "export LENDER_MYSQL_URL=mysql://root:$PASS@127.0.0.1:$PORT/$DB"
    echo "export LENDER_MYSQL_HOST=127.0.0.1"
    echo "export LENDER_MYSQL_PORT=$PORT"
    echo "export LENDER_MYSQL_USER=root"
    echo "export LENDER_MYSQL_PASSWORD=$PASS"
    echo "export LENDER_MYSQL_DATABASE=$DB"
    echo "export LENDER_MYSQL_SOCKET=$SOCK"
}

main() {
    local cmd="${1:-}"
    [ $# -gt 0 ] && shift
    case "$cmd" in
        up) cmd_up "$@" ;;
        down) cmd_down ;;
        status) cmd_status ;;
        load) cmd_load "$@" ;;
        sql) cmd_sql "$@" ;;
        env) cmd_env ;;
        run) cmd_run "$@" ;;
        *)
            sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
            [ -z "$cmd" ] || [ "$cmd" = help ] || [ "$cmd" = -h ] || exit 2
            ;;
    esac
}

main "$@"
