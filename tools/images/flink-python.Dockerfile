# syntax=docker/dockerfile:1
# What can be shown of brook/flink-job without its official bases (flink:..., maven:..., uv's CPython download: none
# is obtainable where Brook is built without a registry): its Python layer. The image's venv from the same lock
# (images/flink-job/requirements.lock, hash-checked) over Brook's Debian base instead of uv's CPython,
# its code stage unchanged, and, standing in for the official image's /opt/flink, Debian's JRE 17 and PyFlink's
# embedded runtime (apache-flink-libraries at FLINK_VERSION, the hash of requirements/app.lock). Built and run by
# `make images-flink-python` (tests/k8s_node/test_local_images.py); never exported nor deployed.
ARG PYTHON_IMAGE

FROM ${PYTHON_IMAGE} AS code
COPY jobs /opt/brook/jobs
RUN python -m compileall -q --invalidation-mode checked-hash /opt/brook/jobs

# apt reads the build host's sources, mounted read-only for this step (the base image names no mirror). The JRE is
# bookworm's current openjdk-17 (unpinned: a stand-in for the official image's Java 17, not shipped).
FROM ${PYTHON_IMAGE}
ARG FLINK_VERSION
ARG FLINK_LIBRARIES_SHA256
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 DEBIAN_FRONTEND=noninteractive
COPY images/flink-job/requirements.lock /tmp/requirements.lock
# (man1: the JRE's postinst registers its man pages with update-alternatives; the base has no man folders.) Not
# wheels only: the lock has sdists (crcmod), which the image's `uv pip install` builds too.
# hadolint ignore=DL3008
RUN apt-get update -qq \
    && mkdir -p /usr/share/man/man1 \
    && apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-deps --require-hashes -r /tmp/requirements.lock \
    && echo "apache-flink-libraries==${FLINK_VERSION} --hash=sha256:${FLINK_LIBRARIES_SHA256}" > /tmp/runtime.txt \
    && /opt/venv/bin/pip install --no-deps --no-build-isolation --require-hashes -r /tmp/runtime.txt \
    && rm /tmp/requirements.lock /tmp/runtime.txt
COPY --from=code /opt/brook /opt/brook
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONPATH=/opt/brook \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 9999:9999
