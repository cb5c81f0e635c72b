# syntax=docker/dockerfile:1
# A PostgreSQL image for CloudNativePG's instance manager, built over Brook's Debian base (`make base-image`) from
# Debian's postgresql-<major> package, because the official ghcr.io/cloudnative-pg/postgresql images are not
# obtainable here (docs/kubernetes.md, "CloudNativePG on the node"). What CNPG needs of an image (v1.30 source):
# - initdb, postgres, pg_ctl, pg_controldata, pg_basebackup, pg_rewind, pg_isready on PATH (it execs them by name);
#   Debian keeps them in /usr/lib/postgresql/<major>/bin, which goes first on PATH;
# - the major version in the tag (Cluster.GetPostgresqlMajorVersion parses the image tag), e.g. :15;
# - the user postgres with uid/gid 26, CNPG's default postgresUID/postgresGID (its own images' user);
# - its instance manager is not in the image: the operator's bootstrap init container copies it into /controller.
# Built by `make cnpg-images` (mk/cnpg.mk) with tools/images/build.sh; apt reads the build host's sources, mounted
# read-only for the RUN step (the base image names no mirror).
ARG PYTHON_IMAGE
FROM ${PYTHON_IMAGE}
ARG PG_MAJOR
ENV DEBIAN_FRONTEND=noninteractive
# postgresql-common's postinst keeps an existing postgres user; createcluster.conf stops it from making a "main"
# cluster (CNPG's initdb makes the only one, in the volume). Debian's base-passwd gives gid 26 to `tape`: renamed.
# hadolint ignore=DL3008
RUN test -n "${PG_MAJOR}" \
    && groupmod --new-name postgres "$(awk -F: '$3 == 26 { print $1 }' /etc/group)" \
    && useradd --system --uid 26 --gid 26 --home-dir /var/lib/postgresql --shell /bin/bash postgres \
    && mkdir -p /etc/postgresql-common/createcluster.d /var/lib/postgresql \
    && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/cnpg.conf \
    && apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends "postgresql-${PG_MAJOR}" \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/share/doc/* /usr/share/man/* \
    && chown -R 26:26 /var/lib/postgresql \
    && "/usr/lib/postgresql/${PG_MAJOR}/bin/postgres" --version
ENV PATH=/usr/lib/postgresql/${PG_MAJOR}/bin:${PATH}
USER 26:26
