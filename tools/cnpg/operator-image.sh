#!/usr/bin/env bash
# The CloudNativePG operator image without a registry: the manager binary built from the Go module (mk/cnpg.mk),
# committed by buildah from scratch in the official image's layout (its Dockerfile): /operator/manager_<goarch>, and
# /manager a symlink to it. /manager is what CNPG's Deployment runs (config/manager) and what its bootstrap init
# container copies into every Postgres pod (pkg/specs/containers.go: /manager bootstrap /controller/manager); the
# operator finds the instance managers it can hand out by the glob operator/manager_* (pkg/utils/discovery.go:
# without it every Cluster fails with "invalid architecture: amd64"). The binary is static (CGO off), so the image
# needs nothing else. The official image (distroless + the same binary) is on ghcr.io, not obtainable here.
# Exported as an OCI archive that `ctr -n k8s.io images import` loads; rewritten only when the image changed.
#
# Usage: tools/cnpg/operator-image.sh IMAGE MANAGER_BINARY GOARCH ARCHIVE
set -euo pipefail

usage="usage: operator-image.sh IMAGE MANAGER_BINARY GOARCH ARCHIVE"
image=${1:?$usage}
binary=${2:?$usage}
goarch=${3:?$usage}
archive=${4:?$usage}
[ -x "$binary" ] || { echo "operator-image: $binary missing: run make cnpg-images" >&2; exit 1; }

start=$(date +%s)
ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" > /dev/null 2>&1 || true' EXIT
buildah copy --quiet --chmod 0755 "$ctr" "$binary" "/operator/manager_$goarch" > /dev/null
mnt=$(buildah mount "$ctr")
ln -s "operator/manager_$goarch" "$mnt/manager"
buildah umount "$ctr" > /dev/null
# 10001: the user CNPG's Deployment runs the operator as (runAsUser); the Postgres pods run it as 26.
buildah config --user 10001:10001 --entrypoint '["/manager"]' --workingdir / \
    --label org.opencontainers.image.description="CloudNativePG operator built from its Go module (Brook)" "$ctr"
# --timestamp 0: the same binary gives the same image ID, so an unchanged rebuild keeps the archive.
buildah commit --quiet --rm --timestamp 0 "$ctr" "$image" > /dev/null
trap - EXIT
id=$(buildah inspect --type image --format '{{.FromImageID}}' "$image")
if [ -f "$archive" ] && [ "$(cat "$archive.id" 2>/dev/null)" = "$id" ]; then
    note="archive unchanged"
else
    mkdir -p "$(dirname "$archive")"
    rm -f "$archive" "$archive.id"
    buildah push --quiet "$image" "oci-archive:$archive.tmp:$image" > /dev/null
    mv "$archive.tmp" "$archive"
    echo "$id" > "$archive.id"
    note="archive written"
fi
printf '%s: %ss (%s); archive %s MB: %s\n' "$image" "$(( $(date +%s) - start ))" "$note" \
    "$(( $(stat -c %s "$archive") / 1000000 ))" "$archive"
