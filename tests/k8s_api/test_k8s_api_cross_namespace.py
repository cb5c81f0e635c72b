"""A release installed in a namespace other than `brook` must grant nothing to `brook`'s ServiceAccounts, and must
give its own namespace's Airflow ServiceAccounts the pod-launcher rights (the RBAC bound to .Release.Namespace).

Installed with --no-hooks: the hooks are test_k8s_api_release.py's subject; here only the RBAC objects matter."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.k8s_api import rbac_table
from tests.k8s_api.conftest import CHART, VERSION_SETS, ok
from tools.cluster.control_plane import ControlPlane

pytestmark = pytest.mark.k8s_api

OTHER = "brook-other"
RESTRICTED = {
    f"pod-security.kubernetes.io/{mode}{suffix}": value
    for mode in ("enforce", "warn", "audit")
    for suffix, value in (("", "restricted"), ("-version", "latest"))
}


@pytest.fixture(scope="module")
def other_release(k8s_api: ControlPlane, crds, namespaces) -> Iterator[ControlPlane]:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OTHER, "labels": RESTRICTED}}
    ok(k8s_api.kubectl("apply", "-f", "-", stdin=json.dumps(ns)))
    ok(
        k8s_api.helm(
            "install", "brook", str(CHART), "-n", OTHER, "-f", str(CHART / "values-kind.yaml"),
            *VERSION_SETS, "--no-hooks", "--wait=false",
        )
    )  # fmt: skip
    yield k8s_api
    k8s_api.helm("uninstall", "brook", "-n", OTHER)
    ok(k8s_api.kubectl("delete", "namespace", OTHER, "--wait=true", "--timeout=180s"))


def can_i(plane: ControlPlane, sa_namespace: str, sa: str, check: rbac_table.Check) -> bool:
    proc = plane.kubectl(*rbac_table.can_i_args(sa_namespace, sa, check, OTHER))
    assert proc.stdout.strip() in {"yes", "no"}, proc.stderr
    return proc.stdout.strip() == "yes"


def test_flink_role_bound_in_its_own_namespace(other_release):
    """The Flink Role already binds .Release.Namespace: brook-other's brook-flink may, brook's may not."""
    create_pods = rbac_table.Check("create", "pods")
    assert can_i(other_release, OTHER, "brook-flink", create_pods)
    assert not can_i(other_release, "brook", "brook-flink", create_pods)


def test_pod_launcher_bound_to_release_namespace_only(other_release):
    """brook's Airflow ServiceAccounts get nothing in brook-other (the issue's proof: a pod mounting brook-other's
    credentials Secret, submitted as brook:airflow-worker, was admitted); brook-other's own Airflow ServiceAccounts
    get the pod-launcher rights."""
    for sa in rbac_table.AIRFLOW_SERVICE_ACCOUNTS:
        for check in rbac_table.POD_LAUNCHER:
            assert not can_i(other_release, "brook", sa, check), f"brook:{sa} may {check} in {OTHER}"
            assert can_i(other_release, OTHER, sa, check), f"{OTHER}:{sa} may not {check}"
