#!/usr/bin/env bash
# Local MySQL server for development and tests: MariaDB (default) or real Oracle MySQL.
#
#   dev/mysql.sh up [--dump PATH]  install if needed, start, create CS544, load the dump if needed
#   dev/mysql.sh down              stop the server
#   dev/mysql.sh restart           down, then up (a real restart of this flavour's daemon)
#   dev/mysql.sh status            running? row counts
#   dev/mysql.sh load [--dump PATH] force a reload of the dump
#   dev/mysql.sh sql "QUERY"       run a query as root against CS544
#   dev/mysql.sh env               print export lines (LENDER_MYSQL_URL, LENDER_MYSQL_FLAVOUR, ...)
#   dev/mysql.sh run [--dump PATH] `up` on loopback only, then the daemon in the foreground on
#                                  LENDER_MYSQL_BIND (a container's PID 1: tests/containers/)
#
# Flavour (LENDER_MYSQL_FLAVOUR, chosen once by set_flavour below; anything else is an error):
#   mariadb (default)  Debian's mariadbd run directly (no systemd) as root, 127.0.0.1:3306;
#                      data dir, socket, pid and log under .local/mysql/ (git-ignored).
#   mysql              Oracle MySQL with caching_sha2_password, as the course's MySQL 8.4 image.
#                      Debian ships it only in sid, so a sid root is debootstrapped once into
#                      .local/mysql-sid/root (a cache; .local/mysql-sid/root.done marks it
#                      complete, a half-made root is redone) with mysql-server-core and
#                      mysql-client. mysqld runs there by chroot on 127.0.0.1:3307, --mysqlx=OFF;
#                      data dir, socket, pid and log under /var/lib/lender-mysql inside the root.
#                      Every chroot that needs /proc (apt, mysqld) runs in a private mount
#                      namespace, so no mount outlives it; the client is the root's own `mysql`.
# Both: root password `abc` (root@'%' too), database CS544; the daemon is started with setsid,
# stdin from /dev/null and its output in its log, so it holds none of the caller's descriptors.
# Dump: PATH from --dump, else the real hdma-wi-2021.sql.gz at the repository root if present,
# else the synthetic .local/data/hdma-wi-2021.sql.gz (generated with the datagen crate if missing
# or older than the generator's sources). A marker row in the server (lender_dev.loaded_dump) keeps
# the loaded dump's sha256: `up` reloads only when the data is missing or the dump changed.
# If another server already answers on the port as root/abc (e.g. the one of another checkout of
# this repository on the same machine), `up` uses it instead of starting a second one.
#
# Environment: LENDER_MYSQL_FLAVOUR (mariadb|mysql), LENDER_MYSQL_PORT (default 3306 for
# mariadb, 3307 for mysql), LENDER_MYSQL_BUFFER_POOL (default 256M),
# LENDER_MYSQL_BIND (`run` only: the address to serve on once loaded, default 0.0.0.0),
# LENDER_MYSQL_REQUIRE_SECURE_TRANSPORT (mysql only: ON (default) refuses plaintext clients).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=dev/lib.sh
. "$ROOT/dev/lib.sh"
LOCAL="$ROOT/.local"
POOL="${LENDER_MYSQL_BUFFER_POOL:-256M}"
# Oracle MySQL refuses plaintext TCP clients, as managed MySQL services do (it makes its own
# certificates at first start); OFF lets plaintext tools (the bench's peers) in.
REQUIRE_TLS="${LENDER_MYSQL_REQUIRE_SECURE_TRANSPORT:-ON}"
PASS=abc
DB=CS544
SYNTH="$LOCAL/data/hdma-wi-2021.sql.gz"
REAL="$ROOT/hdma-wi-2021.sql.gz"
SID_MIRROR=http://deb.debian.org/debian
# sh -c script, run by `unshare --mount --propagation private`: mounts /proc in the sid root
# ($0) in that private namespace, then becomes `chroot $0 ARGS...`
# shellcheck disable=SC2016 # expanded by that sh, not here
PROC_CHROOT='mount -t proc proc "$0/proc" && exec chroot "$0" "$@"'

say() { echo "mysql.sh: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# ---------------------------------------------------------------------------------------------
# flavour: everything that differs between MariaDB and Oracle MySQL is set here, once.
#
#   FLAVOUR      mariadb | mysql
#   DAEMON_NAME  the daemon's process name
#   STATE        the flavour's directory under .local (lock file, install marker and logs)
#   MY           the server's directory (data dir, socket, pid, log, config files) on the host,
#   MY_D         the same directory as the daemon and the flavour's client see it
#   FSROOT       the daemon's root directory (/ for mariadb, the sid root for mysql)
#   PORT         TCP port on 127.0.0.1
#   DAEMON       the daemon's command line, up to its --defaults-file
#   CLIENT       the client's command line, reading the client option file (TCP, root/abc)
#   SOCK_CLIENT  the client as root over the socket, no password (a fresh data dir only)
#   ADMIN        the admin tool, reading the client option file; SOCK_ADMIN: over the socket
#   INSTALL, INIT_DATADIR, SERVER_CONFIG: the flavour's functions; SETUP_SQL: its users

set_flavour() {
    FLAVOUR="${LENDER_MYSQL_FLAVOUR:-mariadb}"
    case "$FLAVOUR" in
        mariadb)
            DAEMON_NAME=mariadbd
            STATE="$LOCAL/mysql"
            MY="$STATE"
            MY_D="$MY"
            FSROOT=/
            PORT="${LENDER_MYSQL_PORT:-3306}"
            DAEMON=(mariadbd "--defaults-file=$MY_D/my.cnf")
            CLIENT=(mariadb "--defaults-file=$MY_D/client.cnf")
            SOCK_CLIENT=(mariadb --no-defaults "--socket=$MY_D/mysqld.sock" -uroot)
            ADMIN=(mariadb-admin "--defaults-file=$MY_D/client.cnf")
            SOCK_ADMIN=(mariadb-admin --no-defaults "--socket=$MY_D/mysqld.sock" -uroot)
            INSTALL=install_mariadb
            INIT_DATADIR=init_datadir_mariadb
            SERVER_CONFIG=server_config_mariadb
            SETUP_SQL="
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('$PASS');
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '$PASS';
ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '$PASS';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$PASS';
ALTER USER 'root'@'%' IDENTIFIED BY '$PASS';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;"
            ;;
        mysql)
            DAEMON_NAME=mysqld
            STATE="$LOCAL/mysql-sid"
            FSROOT="$STATE/root"
            MY_D=/var/lib/lender-mysql
            MY="$FSROOT$MY_D"
            PORT="${LENDER_MYSQL_PORT:-3307}"
            # /proc mounted in a private mount namespace: the mount goes away with the process
            DAEMON=(unshare --mount --propagation private
                sh -c "$PROC_CHROOT" "$FSROOT"
                /usr/sbin/mysqld "--defaults-file=$MY_D/my.cnf")
            CLIENT=(chroot "$FSROOT" mysql "--defaults-file=$MY_D/client.cnf")
            SOCK_CLIENT=(chroot "$FSROOT" mysql --no-defaults "--socket=$MY_D/mysqld.sock" -uroot)
            ADMIN=(chroot "$FSROOT" mysqladmin "--defaults-file=$MY_D/client.cnf")
            SOCK_ADMIN=(chroot "$FSROOT" mysqladmin --no-defaults "--socket=$MY_D/mysqld.sock" -uroot)
            INSTALL=install_sid_root
            INIT_DATADIR=init_datadir_mysql
            SERVER_CONFIG=server_config_mysql
            SETUP_SQL="
ALTER USER 'root'@'localhost' IDENTIFIED WITH caching_sha2_password BY '$PASS';
CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED WITH caching_sha2_password BY '$PASS';
ALTER USER 'root'@'%' IDENTIFIED WITH caching_sha2_password BY '$PASS';
GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;"
            ;;
        *) die "LENDER_MYSQL_FLAVOUR must be mariadb or mysql, not '$FLAVOUR'" ;;
    esac
    DATADIR="$MY/data"
    SOCK="$MY/mysqld.sock"
    PIDF="$MY/mysqld.pid"
    LOG="$MY/mysqld.log"
    CNF="$MY/my.cnf"
    CLIENT_CNF="$MY/client.cnf"
}

# ---------------------------------------------------------------------------------------------
# install

mariadb_installed() {
    command -v mariadbd >/dev/null 2>&1 && command -v mariadb >/dev/null 2>&1 \
        && command -v mariadb-install-db >/dev/null 2>&1 && command -v mariadb-admin >/dev/null 2>&1
}

install_mariadb() {
    mariadb_installed && return 0
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
    mariadb_installed || die "mariadb installed but mariadbd/mariadb not on PATH"
    # If a system service started anyway, stop it so that the port is free.
    if [ -s /run/mysqld/mysqld.pid ]; then
        say "stopping the system MariaDB service that the package started"
        as_root service mariadb stop >/dev/null 2>&1 || as_root kill "$(cat /run/mysqld/mysqld.pid)" 2>/dev/null || true
        sleep 2
    fi
}

# mounts_under DIR: mount points at or below DIR (in this mount namespace)
mounts_under() {
    findmnt -rn -o TARGET | awk -v d="$1" '$0 == d || index($0, d "/") == 1'
}

# unmount_under DIR: unmounts whatever is mounted below DIR, deepest first; 1 if one remains
unmount_under() {
    local m
    for m in $(mounts_under "$1" | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    [ -z "$(mounts_under "$1")" ]
}

# in_root CMD...: CMD in the sid root, /proc mounted in a private mount namespace (the mount
# disappears with the process)
in_root() {
    unshare --mount --propagation private \
        sh -c "$PROC_CHROOT" "$FSROOT" "$@"
}

root_complete() {
    [ -e "$STATE/root.done" ] && [ -x "$FSROOT/usr/sbin/mysqld" ] && [ -x "$FSROOT/usr/bin/mysql" ]
}

install_sid_root() {
    root_complete && return 0
    local t0 rc=0
    t0=$(date +%s)
    if ! command -v debootstrap >/dev/null 2>&1; then
        say "installing debootstrap with apt"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1 \
            || { apt-get update -qq \
                && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; } \
            || die "apt-get install debootstrap failed"
    fi
    rm -f "$STATE/root.done"
    if [ -e "$FSROOT" ]; then
        if server_pid >/dev/null; then die "a mysqld runs in the incomplete sid root $FSROOT; dev/mysql.sh down first"; fi
        say "removing the incomplete sid root $FSROOT"
        unmount_under "$FSROOT" || die "mounts remain under $FSROOT; not removing it"
        rm -rf --one-file-system "$FSROOT"
    fi
    mkdir -p "$STATE"
    say "debootstrapping Debian sid into $FSROOT (log: $STATE/debootstrap.log)"
    # in a private mount namespace: whatever debootstrap mounts (proc, sys) goes away with it
    unshare --mount --propagation private \
        debootstrap --variant=minbase sid "$FSROOT" "$SID_MIRROR" </dev/null >"$STATE/debootstrap.log" 2>&1 || rc=$?
    unmount_under "$FSROOT" || die "mounts remain under $FSROOT after debootstrap"
    [ "$rc" = 0 ] || { tail -n 30 "$STATE/debootstrap.log" >&2; die "debootstrap failed (log: $STATE/debootstrap.log)"; }
    say "debootstrap done in $(( $(date +%s) - t0 )) s"
    cp /etc/resolv.conf "$FSROOT/etc/resolv.conf"
    # no service starts from a package's postinst inside the root
    printf '#!/bin/sh\nexit 101\n' >"$FSROOT/usr/sbin/policy-rc.d"
    chmod 755 "$FSROOT/usr/sbin/policy-rc.d"
    say "installing mysql-server-core and mysql-client in the sid root (log: $STATE/apt.log)"
    # sid's Release file on the mirror is often past its Valid-Until
    {
        in_root env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false update \
            && in_root env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false \
                install -y --no-install-recommends mysql-server-core mysql-client \
            && in_root apt-get clean
    } </dev/null >"$STATE/apt.log" 2>&1 || rc=$?
    [ "$rc" = 0 ] || { tail -n 30 "$STATE/apt.log" >&2; die "apt-get in the sid root failed (log: $STATE/apt.log)"; }
    if [ ! -x "$FSROOT/usr/sbin/mysqld" ] || [ ! -x "$FSROOT/usr/bin/mysql" ]; then
        die "mysql-server-core installed but mysqld/mysql missing in $FSROOT"
    fi
    touch "$STATE/root.done"
    say "sid root ready: $(in_root /usr/sbin/mysqld --version 2>/dev/null) (debootstrap + install $(( $(date +%s) - t0 )) s)"
}

# ---------------------------------------------------------------------------------------------
# server

# The server section's lines both flavours share: paths under MY_D, loopback, the port.
server_config_common() {  # section name
    cat <<EOF
[$1]
user=root
datadir=$MY_D/data
socket=$MY_D/mysqld.sock
pid-file=$MY_D/mysqld.pid
log-error=$MY_D/mysqld.log
port=$PORT
bind-address=127.0.0.1
EOF
}

server_config_mariadb() {
    server_config_common mariadbd
    cat <<EOF
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
}

# Oracle MySQL keeps its defaults where clients see them (caching_sha2_password,
# utf8mb4_0900_ai_ci); no binary log and relaxed flushing for a faster load.
server_config_mysql() {
    server_config_common mysqld
    cat <<EOF
mysqlx=OFF
secure-file-priv=""
skip-name-resolve
skip-log-bin
max_allowed_packet=256M
innodb_buffer_pool_size=$POOL
innodb_redo_log_capacity=1G
innodb_log_buffer_size=64M
innodb_flush_log_at_trx_commit=2
innodb_doublewrite=OFF
max_connections=200
require_secure_transport=$REQUIRE_TLS
EOF
}

write_config() {
    mkdir -p "$MY"
    "$SERVER_CONFIG" >"$CNF"
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

# is_ours PID: PID is this flavour's daemon of this checkout (pids get reused): its root
# directory is ours (the sid root for mysql) and its command line names our config file
is_ours() {
    local pid="$1" root
    alive "$pid" || return 1
    root="$(readlink "/proc/$pid/root" 2>/dev/null)" || return 1
    [ "$root" = "$FSROOT" ] || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "--defaults-file=$MY_D/my.cnf"
}

server_pid() {
    # prints the pid of our server if it is alive: the pid file's, else found among the
    # processes (its pid file not written yet or removed: still ours, never "external")
    local pid
    if [ -s "$PIDF" ]; then
        pid="$(cat "$PIDF" 2>/dev/null)" || pid=""
        if is_ours "$pid"; then echo "$pid"; return 0; fi
    fi
    for pid in $(pgrep -x "$DAEMON_NAME" 2>/dev/null); do
        if is_ours "$pid"; then echo "$pid"; return 0; fi
    done
    return 1
}

ping() {
    "${ADMIN[@]}" --connect-timeout=2 ping >/dev/null 2>&1 \
        || "${SOCK_ADMIN[@]}" --connect-timeout=2 ping >/dev/null 2>&1
}

port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

wait_until_up() {
    local pid="$1"
    for _ in $(seq 1 240); do
        if ping; then return 0; fi
        alive "$pid" || { tail -n 30 "$LOG" >&2 || true; die "$DAEMON_NAME exited during start-up (log: $LOG)"; }
        sleep 0.5
    done
    return 1
}

stop_pid() {
    stop_process "$1" 60 || say "$DAEMON_NAME $1 did not stop in 60 s; killed it"
}

init_datadir_mariadb() {
    mkdir -p "$DATADIR"
    mariadb-install-db --defaults-file="$CNF" --user=root --skip-test-db \
        --auth-root-authentication-method=socket >"$MY/install-db.log" 2>&1
}

# root@localhost with caching_sha2_password and an empty password (setup_users sets it);
# mysqld wants the data dir absent or empty and writes its messages to log-error
init_datadir_mysql() {
    "${DAEMON[@]}" --initialize-insecure </dev/null >"$MY/install-db.log" 2>&1 9>&- \
        || { cat "$LOG" >>"$MY/install-db.log" 2>/dev/null; return 1; }
}

init_datadir() {
    if [ -d "$DATADIR/mysql" ] && [ -e "$MY/initialized" ]; then return 0; fi
    say "initializing a data directory in $DATADIR"
    rm -rf "$DATADIR" "$MY/initialized"
    "$INIT_DATADIR" || { tail -n 30 "$MY/install-db.log" >&2; die "initializing $DATADIR failed (log: $MY/install-db.log)"; }
    touch "$MY/needs-setup"
    touch "$MY/initialized"
}

start_server() {
    local pid
    if pid="$(server_pid)"; then
        if ping; then return 0; fi
        say "$DAEMON_NAME $pid is running but not answering yet; waiting"
        if wait_until_up "$pid"; then return 0; fi
        say "$DAEMON_NAME $pid does not answer; restarting it"
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
    say "starting $DAEMON_NAME ($FLAVOUR) on 127.0.0.1:$PORT"
    # The server outlives this script and its terminal, and keeps no descriptor of ours
    # (our lock, a CI harness's pipe): see daemonize in dev/lib.sh.
    daemonize "$LOG" "${DAEMON[@]}"
    local spid=$!
    wait_until_up "$spid" || { tail -n 30 "$LOG" >&2; die "$DAEMON_NAME did not answer within 120 s (log: $LOG)"; }
    say "$DAEMON_NAME is up (pid $(cat "$PIDF" 2>/dev/null || echo "$spid"))"
}

setup_users() {
    # on a fresh data dir: root with password abc on localhost and % (and 127.0.0.1 for mariadb)
    if [ "$EXTERNAL" = 0 ] && [ -e "$MY/needs-setup" ]; then
        "${SOCK_CLIENT[@]}" -e "$SETUP_SQL" || die "could not set up users"
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
    "${CLIENT[@]}" "$@"
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
    take_lock "$STATE/.lock" 900 || die "another dev/mysql.sh holds $STATE/.lock"
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
    "$INSTALL"
    write_config
    start_server
    setup_users
    if [ "$FLAVOUR" = mysql ]; then  # a server already running gets the setting too
        client -e "SET GLOBAL require_secure_transport = $REQUIRE_TLS" >/dev/null
    fi
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
    "${ADMIN[@]}" shutdown >/dev/null 2>&1 || true
    stop_pid "$pid"
    say "serving on $bind:$PORT"
    exec "${DAEMON[@]}" --bind-address="$bind" --log-error=/dev/stderr 9>&-
}

cmd_down() {
    with_lock
    local pid
    if pid="$(server_pid)"; then
        say "stopping $DAEMON_NAME $pid ($FLAVOUR)"
        # a clean shutdown; SIGTERM (the same for mysqld/mariadbd) and SIGKILL after 60 s
        "${ADMIN[@]}" --connect-timeout=5 shutdown >/dev/null 2>&1 || true
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

cmd_restart() {
    cmd_down
    cmd_up "$@"
}

cmd_status() {
    local pid
    write_config
    if pid="$(server_pid)" && ping; then
        echo "running: $DAEMON_NAME ($FLAVOUR) pid $pid, 127.0.0.1:$PORT, data $DATADIR"
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
    echo "export LENDER_MYSQL_FLAVOUR=$FLAVOUR"
    echo "export LENDER_MYSQL_URL=mysql://root:$PASS@127.0.0.1:$PORT/$DB"
    echo "export LENDER_MYSQL_HOST=127.0.0.1"
    echo "export LENDER_MYSQL_PORT=$PORT"
    echo "export LENDER_MYSQL_USER=root"
    echo "export LENDER_MYSQL_PASSWORD=$PASS"
    echo "export LENDER_MYSQL_DATABASE=$DB"
    echo "export LENDER_MYSQL_SOCKET=$SOCK"
    # the directory the flavour's client runs in (chroot), / for mariadb
    echo "export LENDER_MYSQL_FSROOT=$FSROOT"
    # the CA of the certificates Oracle MySQL made at first start (tests of verify_ca)
    if [ "$FLAVOUR" = mysql ]; then echo "export LENDER_DEV_MYSQL_CA=$DATADIR/ca.pem"; fi
}

main() {
    local cmd="${1:-}"
    [ $# -gt 0 ] && shift
    set_flavour
    case "$cmd" in
        env | help | -h | "") ;;
        *) [ "$FLAVOUR" = mariadb ] || [ "$(id -u)" = 0 ] \
               || die "LENDER_MYSQL_FLAVOUR=$FLAVOUR needs root (debootstrap, chroot, unshare)" ;;
    esac
    case "$cmd" in
        up) cmd_up "$@" ;;
        down) cmd_down ;;
        restart) cmd_restart "$@" ;;
        status) cmd_status ;;
        load) cmd_load "$@" ;;
        sql) cmd_sql "$@" ;;
        env) cmd_env ;;
        run) cmd_run "$@" ;;
        *)
            sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
            [ -z "$cmd" ] || [ "$cmd" = help ] || [ "$cmd" = -h ] || exit 2
            ;;
    esac
}

main "$@"
