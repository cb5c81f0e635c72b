"""The control plane itself: the pinned versions run, nothing but loopback, no node, and Pod Security `restricted`
really rejects (directly and through a controller): the negative controls behind every "admitted" in this folder."""

from __future__ import annotations

import json

import pytest

from tests.k8s_api.conftest import BIN, get_json, ok
from tests.waiting import wait_for
from tools import versions
from tools.cluster.control_plane import pinned

pytestmark = pytest.mark.k8s_api

NONCOMPLIANT_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "not-restricted"},
    "spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]},  # no securityContext at all
}


def test_binaries_are_the_pinned_release(k8s_api):
    """What runs is what tools/k8s_api/go.mod pins, stamped by mk/k8s-api.mk's -ldflags."""
    kube, etcd = pinned("k8s.io/kubernetes"), pinned("go.etcd.io/etcd/server/v3")
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        assert ok(k8s_api.run(name, "--version")).strip() == f"Kubernetes {kube}", name
    client = json.loads(ok(k8s_api.kubectl("version", "-o", "json")))
    assert client["clientVersion"]["gitVersion"] == kube
    assert client["serverVersion"]["gitVersion"] == kube
    assert f"etcd Version: {etcd.removeprefix('v')}" in ok(k8s_api.run("etcd", "--version"))
    assert (BIN / f".k8s-api-{kube}-etcd-{etcd}").exists(), "make k8s-api-bin's stamp names the pinned versions"


def test_same_minor_as_the_kind_node():
    """The control plane is the minor Brook targets (versions.env KUBERNETES_VERSION: kind's node image, helm's
    --kube-version for renders, kubeconform's schemas); the patch release is whatever the module proxy serves."""
    minor = pinned("k8s.io/kubernetes").removeprefix("v").split(".")[:2]
    assert minor == versions.get("KUBERNETES_VERSION").split(".")[:2]


def test_no_node_and_loopback_only(k8s_api):
    """No kubelet: no Node object, so no pod ever starts here. The API server listens on 127.0.0.1 only."""
    assert get_json(k8s_api, "nodes")["items"] == []
    assert k8s_api.server.startswith("https://127.0.0.1:")


def test_pod_security_rejects_a_noncompliant_pod(k8s_api, namespaces):
    """Negative control: in Brook's namespace a pod without the restricted securityContext is refused at admission."""
    assert "brook" in namespaces
    proc = k8s_api.kubectl("-n", "brook", "create", "--dry-run=server", "-f", "-", stdin=json.dumps(NONCOMPLIANT_POD))
    assert proc.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in proc.stderr, proc.stderr


def test_pod_security_rejects_through_a_controller(k8s_api, namespaces):
    """Negative control for the "no FailedCreate" assertions: a Deployment whose pod is not restricted is accepted
    (with a warning), and the ReplicaSet controller's pod creation is refused, visible as a FailedCreate event."""
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "not-restricted", "namespace": "brook"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "not-restricted"}},
            "template": {"metadata": {"labels": {"app": "not-restricted"}}, "spec": NONCOMPLIANT_POD["spec"]},
        },
    }
    proc = k8s_api.kubectl("create", "-f", "-", stdin=json.dumps(deployment))
    ok(proc)
    assert "would violate PodSecurity" in proc.stderr, "the namespace's warn label reports the template"
    try:

        def refused() -> list[str]:
            events = get_json(k8s_api, "-n", "brook", "events", "--field-selector", "reason=FailedCreate")["items"]
            return [e["message"] for e in events if e["involvedObject"]["name"].startswith("not-restricted-")]

        messages = wait_for("FailedCreate of the non-compliant ReplicaSet's pod", refused, timeout=60)
        assert any("violates PodSecurity" in m for m in messages), messages
        pods = get_json(k8s_api, "-n", "brook", "pods", "-l", "app=not-restricted")["items"]
        assert pods == []
    finally:
        ok(k8s_api.kubectl("-n", "brook", "delete", "deployment", "not-restricted", "--wait=true"))
        ok(k8s_api.kubectl("-n", "brook", "delete", "events", "--field-selector", "reason=FailedCreate"))
