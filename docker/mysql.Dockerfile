# p4-mysql: MySQL 8, root password abc, database CS544, loaded at first start with
# hdma-wi-2021.sql.gz (by the image's entrypoint, from /docker-entrypoint-initdb.d/).
#
#   docker build . -f docker/mysql.Dockerfile -t p4-mysql
#
# Which dump: the real hdma-wi-2021.sql.gz if it is at the repository root, else the synthetic
# one that the repository's datagen crate generates (same schema and headline figures).
# How: the builder stage COPYs the glob `hdma-wi-2021.sql.g[z]`, which matches nothing when the
# file is absent (a wildcard source may match nothing as long as another source of the same
# COPY, here make-dump.sh, exists), then make-dump.sh picks the real file if it got one and
# runs datagen otherwise.

FROM rust:1-bookworm AS dump
WORKDIR /build
COPY Cargo.lock ./
COPY datagen/ datagen/
COPY docker/mysql/make-dump.sh hdma-wi-2021.sql.g[z] ./
RUN bash make-dump.sh /build /out/hdma-wi-2021.sql.gz

FROM mysql:8
# The root password is part of the public contract (root / abc), not a secret
# hadolint ignore=DL3064
ENV MYSQL_ROOT_PASSWORD=abc \
    MYSQL_DATABASE=CS544
COPY docker/mysql/lender.cnf /etc/mysql/conf.d/lender.cnf
COPY --from=dump /out/hdma-wi-2021.sql.gz /docker-entrypoint-initdb.d/hdma-wi-2021.sql.gz
