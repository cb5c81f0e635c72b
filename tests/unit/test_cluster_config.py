"""`make cluster`'s files, checked without root or a cluster: the OCI archive tools/cluster/image.py writes is a
well-formed image layout (every digest is its blob's sha256, the layer holds the probe), and the configurations name
only paths under the cluster's directory. The cluster itself: tests/k8s_node (marker k8s_node)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tomllib
from pathlib import Path

import pytest

from tools.cluster import image
from tools.cluster.config import NODE_IP, POD_CIDR, Layout, cni_config, containerd_config, kubelet_config

pytestmark = pytest.mark.unit


def test_oci_archive_is_a_valid_image_layout(tmp_path: Path) -> None:
    binary = tmp_path / "probe"
    binary.write_bytes(b"\x7fELF not really")
    archive = image.write_oci_archive(binary, tmp_path / "image.tar", name="brook.local/test:1")
    with tarfile.open(archive) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    for name, data in files.items():
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    (entry,) = json.loads(files["index.json"])["manifests"]
    assert entry["annotations"]["io.containerd.image.name"] == "brook.local/test:1"
    manifest = json.loads(files["blobs/sha256/" + entry["digest"].split(":")[1]])
    config = json.loads(files["blobs/sha256/" + manifest["config"]["digest"].split(":")[1]])
    (layer_ref,) = manifest["layers"]
    layer = files["blobs/sha256/" + layer_ref["digest"].split(":")[1]]
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer).hexdigest()]
    assert config["config"] == {"Entrypoint": [image.ENTRYPOINT], "User": f"{image.NOBODY}:{image.NOBODY}"}
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        (member,) = tar.getmembers()
        assert (member.name, member.mode) == (image.ENTRYPOINT.lstrip("/"), 0o755)
        assert tar.extractfile(member).read() == binary.read_bytes()
    # Same binary, same bytes: the archive is reproducible.
    again = image.write_oci_archive(binary, tmp_path / "again.tar", name="brook.local/test:1")
    assert again.read_bytes() == archive.read_bytes()


def test_configs_keep_every_path_under_the_cluster_directory(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "cluster")
    containerd = tomllib.loads(containerd_config(layout))
    assert Path(containerd["root"]).is_relative_to(layout.base)
    assert Path(containerd["state"]).is_relative_to(layout.base)
    assert Path(containerd["grpc"]["address"]) == layout.socket
    cri = containerd["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == image.IMAGE
    assert cri["restrict_oom_score_adj"] is True
    assert cri["netns_mounts_under_state_dir"] is True
    assert Path(cri["cni"]["conf_dir"]).is_relative_to(layout.base)
    runc = cri["containerd"]["runtimes"]["runc"]["options"]
    assert Path(runc["Root"]).is_relative_to(layout.base) and runc["SystemdCgroup"] is False
    ipam = cni_config(layout)["plugins"][0]["ipam"]
    assert Path(ipam["dataDir"]).is_relative_to(layout.base)
    assert ipam["ranges"] == [[{"subnet": POD_CIDR, "gateway": NODE_IP}]]
    kubelet = kubelet_config(layout, tmp_path / "ca.crt", 12345)
    for key in ("podLogsDir", "volumePluginDir"):
        assert Path(kubelet[key]).is_relative_to(layout.base), key
    assert kubelet["containerRuntimeEndpoint"] == f"unix://{layout.socket}"
    assert (kubelet["address"], kubelet["imageGCHighThresholdPercent"]) == (NODE_IP, 100)
