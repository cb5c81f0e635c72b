"""The operators' CRDs and everything in k8s/ against a real API server.

Proven: the CRDs `make schemas` produces are accepted (server-side apply) and established, and every manifest in k8s/
is accepted by `kubectl apply` as a user runs it (namespaces with their Pod Security labels, the FlinkDeployments
against the Flink operator CRD with its documented v2_0 patch). Not proven: that the operators run and reconcile
them (no operator runs here, and no node)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.k8s_api.conftest import CRD_CACHE, flink_crd_patched, get_json, ok
from tests.waiting import wait_for
from tools.cluster.control_plane import ROOT

pytestmark = pytest.mark.k8s_api

K8S = ROOT / "k8s"
# Files in k8s/ that are not Kubernetes objects, each with its reason; every other YAML file there is applied.
NOT_API_OBJECTS = {
    "kind-cluster.yaml": "kind's own cluster config (kind.x-k8s.io), read by the kind CLI, never sent to an API server",
}
EXPECTED_CRDS = {
    "kafkas.kafka.strimzi.io",
    "kafkanodepools.kafka.strimzi.io",
    "kafkatopics.kafka.strimzi.io",
    "kafkausers.kafka.strimzi.io",
    "clusters.postgresql.cnpg.io",
    "databases.postgresql.cnpg.io",
    "flinkdeployments.flink.apache.org",
}


def test_operator_crds_established(crds):
    assert set(crds) >= EXPECTED_CRDS, sorted(EXPECTED_CRDS - set(crds))


def test_cnpg_crds_need_server_side_apply(k8s_api, crds):
    """Why the CRDs are applied with --server-side: client-side apply stores the whole object in an annotation, and
    CNPG's Cluster CRD is larger than the 256 KiB an annotation may hold."""
    proc = k8s_api.kubectl(
        "apply", "--dry-run=server", "-f", str(CRD_CACHE / "cnpg" / "postgresql.cnpg.io_clusters.yaml")
    )
    assert proc.returncode != 0
    assert "Too long" in proc.stderr, proc.stderr


def test_flink_crd_patch_is_needed_and_only_adds_v2_0(k8s_api, crds, namespaces, tmp_path):
    """The operator API jar's CRD (1.10.0) as is rejects Brook's `flinkVersion: v2_0`; the patch changes exactly the
    enum. Shown on a copy of the unpatched CRD under a test group, so the real one stays in place."""
    source = CRD_CACHE / "flink-operator" / "flinkdeployments.flink.apache.org-v1.yml"
    original = yaml.safe_load(source.read_text())
    patched = yaml.safe_load(flink_crd_patched(source.read_text()))
    for version in patched["spec"]["versions"]:
        enum = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["flinkVersion"]["enum"]
        enum.remove("v2_0")
    assert patched == original, "the patch may add v2_0 to the enum and nothing else"

    copy = original
    copy["metadata"] = {"name": "flinkdeployments.unpatched.brook.test"}
    copy["spec"]["group"] = "unpatched.brook.test"
    path = tmp_path / "crd.yaml"
    path.write_text(yaml.safe_dump(copy))
    ok(k8s_api.kubectl("apply", "--server-side", "-f", str(path)))
    try:
        wait_for(
            "the copy's CRD established",
            lambda: "True"
            in k8s_api.kubectl(
                "get", "crd", "flinkdeployments.unpatched.brook.test",
                "-o", "jsonpath={.status.conditions[?(@.type=='Established')].status}",
            ).stdout,
        )  # fmt: skip
        flink = next(d for d in yaml.safe_load_all((K8S / "flink" / "brook-bets-avg-bet.yaml").read_text()) if d)
        flink["apiVersion"] = "unpatched.brook.test/v1beta1"
        proc = k8s_api.kubectl("create", "--dry-run=server", "-f", "-", stdin=json.dumps(flink))
        assert proc.returncode != 0
        assert 'spec.flinkVersion: Unsupported value: "v2_0"' in proc.stderr, proc.stderr
    finally:
        ok(k8s_api.kubectl("delete", "crd", "flinkdeployments.unpatched.brook.test"))


def k8s_manifests() -> list[Path]:
    files = sorted(p for p in K8S.rglob("*") if p.suffix in {".yaml", ".yml", ".json"})
    return [p for p in files if p.name not in NOT_API_OBJECTS and not p.name.endswith(".schema.json")]


def test_everything_in_k8s_applies(k8s_api, crds, namespaces):
    """`kubectl apply -f` of every manifest in k8s/, as docs/kubernetes.md tells a user to run them: accepted and
    created (then the FlinkDeployments are deleted again: the chart installs the same names)."""
    files = k8s_manifests()
    assert any(p.parent.name == "flink" for p in files) and K8S / "namespace.yaml" in files
    args = [a for p in files for a in ("-f", str(p))]
    proc = k8s_api.kubectl("apply", *args)
    try:
        ok(proc)
        assert "Warning" not in proc.stderr, proc.stderr
        # Every object of every file exists on the server (kubectl get fails on a missing one).
        ok(k8s_api.kubectl("get", "-o", "name", *args))
        for name in ("brook", "brook-operators"):
            labels = get_json(k8s_api, "namespace", name)["metadata"]["labels"]
            assert labels["pod-security.kubernetes.io/enforce"] == "restricted", name
    finally:
        flink_files = [a for p in files if p.parent.name == "flink" for a in ("-f", str(p))]
        ok(k8s_api.kubectl("delete", "--ignore-not-found", *flink_files))
