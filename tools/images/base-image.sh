#!/usr/bin/env bash
# Builds Brook's local Python base image without a registry: a Debian bookworm minbase root filesystem made by
# debootstrap, with bookworm's python3.X (the Python minor of PYTHON_IMAGE in versions.env) and its venv module,
# committed by buildah as a local image. The Dockerfiles under images/ take it as their PYTHON_IMAGE build arg
# (mk/images-local.mk); their default stays the public image.
#
# Usage: tools/images/base-image.sh IMAGE_NAME PYTHON_MINOR WORK_DIR   (PYTHON_MINOR: 3.11 for bookworm)
# Env:   DEBIAN_MIRROR  the Debian mirror debootstrap fetches from; default: the first bookworm URI of this host's
#                       apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d/*), read at run time so no
#                       host name is written into the repository.
set -euo pipefail

usage="usage: base-image.sh IMAGE_NAME PYTHON_MINOR WORK_DIR"
image=${1:?$usage}
minor=${2:?$usage}
work=${3:?$usage}
suite=bookworm
# python3-distutils provides python3.X-distutils, which python3.X-venv depends on and debootstrap does not resolve.
# ca-certificates: Debian's trust store, for TLS at run time (S3, Kubernetes API); builds mount the host's over it.
packages=python$minor,python$minor-venv,python3-distutils,ca-certificates

# The host's Debian mirror: deb822 `URIs:` stanzas whose Suites name bookworm, else one-line `deb URI bookworm ...`.
host_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk -v suite="$suite" '
            /^[[:space:]]*$/ { if (uri != "" && ok) { print uri; exit } uri = ""; ok = 0; next }
            /^URIs:/ { uri = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
            END { if (uri != "" && ok) print uri }' "$f" | head -n1
    done
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk -v suite="$suite" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i ~ /:\/\//) { if ($(i+1) == suite) print $i; break } }'
    return 0
}
mirror=${DEBIAN_MIRROR:-$(host_mirror 2>/dev/null | head -n1 || true)}
if [ -z "$mirror" ]; then
    echo "base-image: no Debian mirror: this host's apt sources name none for $suite; set DEBIAN_MIRROR=<mirror URL>" >&2
    exit 1
fi

rootfs="$work/rootfs"
rm -rf "$rootfs"
mkdir -p "$work"
echo "base-image: debootstrap --variant=minbase $suite from $mirror (+ $packages)"
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    exit 1
}

# The official python images put `python` on PATH (/usr/local/bin); Brook's Dockerfiles call `python`.
ln -sf "/usr/bin/python$minor" "$rootfs/usr/local/bin/python"
# Nothing of the build host's apt state or caches goes into the image.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
# The image's own apt sources name the same mirror the rootfs came from (debootstrap wrote it); drop it so the
# image carries no host name of this machine's choosing: nothing in it runs apt.
: > "$rootfs/etc/apt/sources.list"

ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" > /dev/null 2>&1 || true' EXIT
mnt=$(buildah mount "$ctr")
cp -a "$rootfs/." "$mnt/"
buildah umount "$ctr" > /dev/null
buildah config --env LANG=C.UTF-8 --env PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd python --label org.opencontainers.image.description="Debian $suite minbase + python$minor (Brook)" "$ctr"
buildah commit --quiet --rm "$ctr" "$image" > /dev/null
trap - EXIT
rm -rf "$rootfs"
