#!/bin/bash
# Stands in for the docker-entrypoint.sh of the mysql:8.4 image in the course's p4-mysql as the
# container test builds it (tests/containers/course/Dockerfile.mysql): on the first start (an
# empty data dir) it initializes MySQL, starts a temporary server without networking, creates
# root@'%' identified by MYSQL_ROOT_PASSWORD (caching_sha2_password, MySQL's default), creates
# MYSQL_DATABASE, loads /docker-entrypoint-initdb.d/*.sql and *.sql.gz into it, stops; then
# (every start) execs mysqld on 0.0.0.0:3306. Only the parts of the official script this
# deployment uses; the server settings are MySQL's defaults, as in the mysql image, plus
# --mysqlx=OFF (no X protocol port) and an empty secure-file-priv.
set -euo pipefail

DATADIR=/var/lib/mysql
SOCKET=/var/run/mysqld/mysqld.sock
log() { echo "$(date -u +%FT%TZ) [Entrypoint]: $*" >&2; }

[ "${1:-mysqld}" = mysqld ] || exec "$@"
[ $# -gt 0 ] && shift

: "${MYSQL_ROOT_PASSWORD:?MYSQL_ROOT_PASSWORD must be set (the course compose file sets abc)}"
mkdir -p "$DATADIR" /var/run/mysqld
chown mysql:mysql "$DATADIR" /var/run/mysqld
SERVER=(mysqld --user=mysql --datadir="$DATADIR" --socket="$SOCKET" --mysqlx=OFF --secure-file-priv=)

if [ ! -d "$DATADIR/mysql" ]; then
  log "initializing the data dir"
  "${SERVER[@]}" --initialize-insecure
  log "starting a temporary server (no networking)"
  "${SERVER[@]}" --skip-networking "$@" &
  pid=$!
  for _ in $(seq 120); do
    mysqladmin --no-defaults --socket="$SOCKET" -uroot ping >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { log "the temporary server died"; exit 1; }
    sleep 1
  done
  client=(mysql --no-defaults --socket="$SOCKET" -uroot)
  "${client[@]}" <<SQL
SET @@SESSION.SQL_LOG_BIN=0;
ALTER USER 'root'@'localhost' IDENTIFIED BY '${MYSQL_ROOT_PASSWORD}';
CREATE USER 'root'@'%' IDENTIFIED BY '${MYSQL_ROOT_PASSWORD}';
GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
  client+=(-p"${MYSQL_ROOT_PASSWORD}")
  if [ -n "${MYSQL_DATABASE:-}" ]; then
    log "creating database ${MYSQL_DATABASE}"
    "${client[@]}" -e "CREATE DATABASE IF NOT EXISTS \`${MYSQL_DATABASE}\`"
    client+=("--database=${MYSQL_DATABASE}")
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    t0=$(date +%s)
    case "$f" in
      *.sql) log "running $f"; "${client[@]}" <"$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | "${client[@]}" ;;
      *) log "ignoring $f"; continue ;;
    esac
    log "$f loaded in $(( $(date +%s) - t0 )) s"
  done
  log "stopping the temporary server"
  mysqladmin --no-defaults --socket="$SOCKET" -uroot -p"${MYSQL_ROOT_PASSWORD}" shutdown
  wait "$pid"
  log "init process done, ready for start up"
fi

exec "${SERVER[@]}" --bind-address=0.0.0.0 --port=3306 "$@"
