"""The node's one image, made without a registry or a build tool: tools/cluster/probe (a static Go binary) as the
single file of a one-layer OCI image archive, which `ctr images import` loads into containerd's k8s.io namespace.

Why not buildah: the archive format is small and fixed (OCI image-spec v1.1: oci-layout, index.json, blobs), so
writing it here needs nothing installed and yields the same bytes for the same binary. The image serves as the pod
sandbox ("pause") image of containerd's CRI config and as the container the k8s_node test runs.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
import time
from pathlib import Path

from tools.cluster.control_plane import ROOT

PROBE_SOURCE = ROOT / "tools" / "cluster" / "probe" / "main.go"
IMAGE = "brook.local/node-probe:1"
ENTRYPOINT = "/brook-probe"
NOBODY = 65534  # the image's user: what Pod Security `restricted` asks of a pod (runAsNonRoot)


def build_probe(go: str, out: Path) -> Path:
    """``go build`` the probe, static (CGO off), into ``out`` when the source is newer than the binary."""
    if out.exists() and out.stat().st_mtime >= PROBE_SOURCE.stat().st_mtime:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [go, "build", "-trimpath", "-ldflags", "-s -w", "-o", str(out), str(PROBE_SOURCE)],
        check=True, cwd=out.parent, env={**os.environ, "CGO_ENABLED": "0"}, timeout=900,
    )  # fmt: skip
    return out


def _blob(blobs: dict[str, bytes], data: bytes) -> dict[str, object]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return {"digest": digest, "size": len(data)}


def _layer(binary: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(ENTRYPOINT.lstrip("/"))
        data = binary.read_bytes()
        info.size, info.mode, info.mtime = len(data), 0o755, 0
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_oci_archive(binary: Path, out: Path, name: str = IMAGE) -> Path:
    """An OCI image archive (a tar of an image layout) holding ``binary`` as ``/brook-probe``, named ``name``."""
    blobs: dict[str, bytes] = {}
    layer = _layer(binary)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": [ENTRYPOINT], "User": f"{NOBODY}:{NOBODY}"},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **_blob(blobs, _json(config))},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **_blob(blobs, layer)}],
    }
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **_blob(blobs, _json(manifest)),
                "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name},
            }
        ],
    }
    files = {"oci-layout": _json({"imageLayoutVersion": "1.0.0"}), "index.json": _json(index)}
    files |= {f"blobs/sha256/{digest.split(':', 1)[1]}": data for digest, data in blobs.items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return out


def _json(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def export_buildah_image(name: str, out: Path) -> Path:
    """``buildah push`` a local image (e.g. `make base-image`'s debootstrap image) to an OCI archive keeping its name,
    for ``import_image``; containerd has no access to buildah's storage."""
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["buildah", "push", "--quiet", name, f"oci-archive:{out}:{name}"],
        check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return out


def import_image(archive: Path, containerd_socket: Path, timeout: float = 120) -> float:
    """Load the archive into containerd's CRI namespace (k8s.io); returns the seconds it took (an app image of
    160 MB: about 30 s here)."""
    start = time.monotonic()
    subprocess.run(
        ["ctr", "--address", str(containerd_socket), "-n", "k8s.io", "images", "import", str(archive)],
        check=True, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    return time.monotonic() - start
