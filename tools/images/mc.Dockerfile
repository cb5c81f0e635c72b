# syntax=docker/dockerfile:1
# The chart's bucket-Job image (minio.mcImage) where no registry serves quay.io/minio/mc (make images-local-mc):
# Brook's Debian base (PYTHON_IMAGE, tools/images/base-image.sh; it has the /bin/sh the Job's command runs) + the mc
# binary `make mc` builds from its Go module at versions.env's MC_VERSION, from the build context `bin`
# ($BROOK_HOME/bin, --build-context). Non-root (10001, the chart's pod uid); mc writes its config only under
# MC_CONFIG_DIR (the chart sets /tmp/mc, an emptyDir) and HOME=/tmp, so the root filesystem may be read-only.
ARG PYTHON_IMAGE
FROM ${PYTHON_IMAGE}
# `bin` is a named build context (--build-context), not a stage, which hadolint cannot know (DL3022).
# hadolint ignore=DL3022
COPY --from=bin --chmod=0755 mc /usr/local/bin/mc
ENV HOME=/tmp MC_CONFIG_DIR=/tmp/mc
USER 10001:10001
ENTRYPOINT ["mc"]
CMD ["--help"]
