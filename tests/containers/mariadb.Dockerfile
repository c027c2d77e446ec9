# A stand-in for p4-mysql in the container test (dev/containers.py, tests/test_containers.py):
# MySQL 8 (`FROM mysql:8`) cannot be pulled on our machines, which reach no image registry, so
# this image runs Debian's MariaDB 10.11 with dev/mysql.sh, the script that runs the local
# cluster's MariaDB, and the same dump. Like the MySQL image: root / abc, database CS544, the dump
# loaded at first start with only loopback open, then served on 0.0.0.0:3306 as `mysql`.
#
#   podman build . -f tests/containers/mariadb.Dockerfile --build-context dump=DIR -t p4-mysql
#
# DIR holds hdma-wi-2021.sql.gz (the real dump at the repository root, else .local/data's
# synthetic one; dev/containers.py picks it the way Dockerfile.mysql's make-dump.sh does).
FROM debian:bookworm-slim

# policy-rc.d: the package's postinst must not start a service during the build
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d \
 && chmod 755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && apt-get install -y --no-install-recommends mariadb-server mariadb-client \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d

COPY dev/mysql.sh dev/lib.sh /opt/lender/dev/
# `dump` is the named build context given with --build-context, not a stage of this file
# hadolint ignore=DL3022
COPY --from=dump hdma-wi-2021.sql.gz /docker-entrypoint-initdb.d/hdma-wi-2021.sql.gz

EXPOSE 3306
CMD ["/opt/lender/dev/mysql.sh", "run", "--dump", "/docker-entrypoint-initdb.d/hdma-wi-2021.sql.gz"]
