# syntax=docker/dockerfile:1
# The chart's MinIO server image (minio.image) where no registry serves quay.io/minio/minio (make images-local-minio):
# Brook's Debian base (PYTHON_IMAGE, tools/images/base-image.sh) + the minio binary `make minio` builds from its Go
# module at versions.env's MINIO_VERSION (dynamically linked against glibc, which the Debian base has). The binary
# comes from the build context `bin` ($BROOK_HOME/bin, --build-context), so a rebuilt binary changes the layer.
# Like the official image, the entrypoint is minio and the chart gives its arguments (server /data ...).
# Non-root (10001, the chart's pod uid) and nothing written outside /data and /tmp: HOME=/tmp is where minio makes
# its certs directory (~/.minio/certs), on the chart's /tmp emptyDir under readOnlyRootFilesystem.
ARG PYTHON_IMAGE
FROM ${PYTHON_IMAGE}
# `bin` is a named build context (--build-context), not a stage, which hadolint cannot know (DL3022).
# hadolint ignore=DL3022
COPY --from=bin --chmod=0755 minio /usr/local/bin/minio
ENV HOME=/tmp MINIO_UPDATE=off
USER 10001:10001
ENTRYPOINT ["minio"]
CMD ["--help"]
