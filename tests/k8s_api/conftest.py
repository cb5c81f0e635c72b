"""Fixtures of the k8s_api tests: one control plane per session (tests/k8s_api/control_plane.py), the operators' CRDs
applied server-side, Brook's namespaces from k8s/namespace.yaml (Pod Security `restricted`, enforced)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tools.cluster.control_plane import ROOT, ControlPlane, remove_run, start_control_plane
from tools.versions import brook_home, helm_sets

BIN = brook_home() / "bin"
CRD_CACHE = brook_home() / "cache" / "crds"  # what `make schemas` downloads/generates (mk/schemas.mk)
CHART = ROOT / "charts" / "brook"
# The chart values versions.env decides (kafka.version, flink.release), as skaffold and `make chart-lint` pass them.
VERSION_SETS = tuple(helm_sets())
CONTROL_PLANE_BINS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")


def flink_crd_patched(crd_text: str) -> str:
    """The Flink Kubernetes Operator's FlinkDeployment CRD with ``v2_0`` added to ``spec.flinkVersion``'s enum, and
    nothing else changed.

    Why: Brook pins operator 1.15.0 and Flink 2.0 (``flinkVersion: v2_0``), but the newest operator API jar Maven
    Central serves here is 1.10.0 (FLINK_OPERATOR_CRD_VERSION, `make schemas`), whose enum stops at ``v1_20``: the
    API server would reject every Brook FlinkDeployment. 1.15.0's own CRD lists v2_0. Remove this patch when a newer
    operator API jar is obtainable: it raises as soon as the CRD it is given already has the value.
    """
    crd = yaml.safe_load(crd_text)
    assert crd["spec"]["names"]["kind"] == "FlinkDeployment", crd["spec"]["names"]
    for version in crd["spec"]["versions"]:
        prop = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["flinkVersion"]
        if "v2_0" in prop["enum"]:
            raise AssertionError("this FlinkDeployment CRD already accepts v2_0: remove flink_crd_patched()")
        prop["enum"].append("v2_0")
    return yaml.safe_dump(crd, sort_keys=False)


def crd_files() -> list[Path]:
    """The operator CRDs `make schemas` produced: Strimzi (generated), CNPG (Go module), Flink operator (API jar),
    and those of the backup resources (mk/backup.mk: the Barman Cloud plugin's ObjectStore, the Prometheus Operator's
    PrometheusRule)."""
    files = sorted(CRD_CACHE.glob("strimzi/*.yaml")) + sorted(CRD_CACHE.glob("cnpg/*.yaml"))
    files += sorted(CRD_CACHE.glob("flink-operator/*.yml")) + sorted(CRD_CACHE.glob("backup/*.yaml"))
    if not files or not any("flinkdeployments" in f.name for f in files):
        pytest.fail(f"no operator CRDs under {CRD_CACHE}: run `make schemas`")
    if not any("objectstores" in f.name for f in files):
        pytest.fail(f"no backup CRDs under {CRD_CACHE / 'backup'}: run `make backup-schemas`")
    return files


@pytest.fixture(scope="session")
def k8s_api() -> Iterator[ControlPlane]:
    """etcd + kube-apiserver + kube-controller-manager + kube-scheduler on 127.0.0.1, stopped at the end."""
    missing = [name for name in CONTROL_PLANE_BINS if not (BIN / name).exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing in {BIN}: run `make k8s-api-bin`")
    if not (BIN / "helm").exists():
        pytest.fail(f"{BIN / 'helm'} is missing: run `make tools`")
    plane = start_control_plane(BIN)
    try:
        yield plane
    finally:
        plane.stop()
        remove_run(plane)


def ok(proc) -> str:
    assert proc.returncode == 0, f"{proc.args}\nstdout: {proc.stdout[-4000:]}\nstderr: {proc.stderr[-4000:]}"
    return proc.stdout


@pytest.fixture(scope="session")
def crds(k8s_api: ControlPlane, tmp_path_factory) -> list[str]:
    """Every operator CRD applied server-side (CNPG's exceed the 256 KiB client-side apply annotation), established.
    The FlinkDeployment CRD carries the documented v2_0 patch (flink_crd_patched)."""
    work = tmp_path_factory.mktemp("crds")
    args: list[str] = []
    for path in crd_files():
        if path.name.startswith("flinkdeployments."):
            patched = work / path.name
            patched.write_text(flink_crd_patched(path.read_text()))
            path = patched
        args += ["-f", str(path)]
    ok(k8s_api.kubectl("apply", "--server-side", "--field-manager", "brook-k8s-api-tests", *args))
    names = ok(k8s_api.kubectl("get", "crd", "-o", "name")).split()
    ok(k8s_api.kubectl("wait", "--for", "condition=Established", "--timeout", "60s", *names))
    return [n.split("/", 1)[1] for n in names]


@pytest.fixture(scope="session")
def namespaces(k8s_api: ControlPlane) -> list[str]:
    """k8s/namespace.yaml applied as `make operators` / `make up` apply it (Pod Security `restricted` labels)."""
    out = ok(k8s_api.kubectl("apply", "-f", str(ROOT / "k8s" / "namespace.yaml"), "-o", "name"))
    return [line.split("/", 1)[1] for line in out.split()]


def get_json(plane: ControlPlane, *args: str) -> dict:
    return json.loads(ok(plane.kubectl("get", *args, "-o", "json")))
