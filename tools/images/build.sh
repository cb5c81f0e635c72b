#!/usr/bin/env bash
# Builds one of Brook's images with buildah (no Docker engine, no registry) and exports it as an OCI archive that
# containerd imports as is: `ctr -n k8s.io images import ARCHIVE` names the image from the archive's ref annotation.
#
# Usage: tools/images/build.sh IMAGE DOCKERFILE ARCHIVE [--build-arg K=V ...]
# NO_EXPORT=1: build only (a base other images build on); ARCHIVE's folder still receives the build log.
# The build steps reach the package registries through the host's network with the host's CA bundle and a pip.conf
# that names it, both mounted read-only for the RUN steps only: neither is written into a layer. Layers are cached
# (--layers), so an unchanged rebuild takes seconds; the archive is rewritten only when the image ID changed. A failed
# build leaves no working container (--force-rm).
# Isolation chroot: the OCI runtimes here refuse this host's hybrid cgroup setup; chroot needs none (root only).
set -euo pipefail

image=${1:?usage: build.sh IMAGE DOCKERFILE ARCHIVE [buildah bud args]}
dockerfile=${2:?}
archive=${3:?}
shift 3
ca=${BROOK_BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
if [ ! -r "$ca" ]; then
    echo "build.sh: CA bundle $ca not readable; set BROOK_BUILD_CA_BUNDLE to this host's PEM bundle" >&2
    exit 1
fi
mkdir -p "$(dirname "$archive")"
work=$(cd "$(dirname "$archive")" && pwd)  # absolute: buildah's --volume wants it
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$work/pip.conf"

start=$(date +%s)
buildah bud --quiet --isolation chroot --layers --force-rm --network host \
    --volume "$ca:/etc/ssl/certs/ca-certificates.crt:ro" --volume "$work/pip.conf:/etc/pip.conf:ro" \
    -f "$dockerfile" -t "$image" "$@" . > "$archive.build.log" 2>&1 || {
    tail -n 40 "$archive.build.log" >&2
    echo "build.sh: buildah bud of $dockerfile failed (log: $archive.build.log)" >&2
    exit 1
}
built=$(date +%s)
id=$(buildah inspect --type image --format '{{.FromImageID}}' "$image")
if [ "${NO_EXPORT:-0}" = 1 ]; then
    note="not exported"
elif [ -f "$archive" ] && [ "$(cat "$archive.id" 2>/dev/null)" = "$id" ]; then
    note="archive unchanged"
else
    rm -f "$archive" "$archive.id"
    buildah push --quiet "$image" "oci-archive:$archive.tmp:$image" > /dev/null
    mv "$archive.tmp" "$archive"
    echo "$id" > "$archive.id"
    note="archive written"
fi
done_=$(date +%s)
size=$(buildah images --format '{{.Size}}' "$image" | head -n1)
archived=$([ -f "$archive" ] && echo "archive $(( $(stat -c %s "$archive") / 1000000 )) MB: $archive" || echo "no archive")
printf '%s: build %ss, export %ss (%s); image %s, %s\n' "$image" "$((built - start))" "$((done_ - built))" "$note" \
    "$size" "$archived"
