"""Render charts/brook once per profile (helm template, offline) for the chart tests."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
import yaml

from tools import versions

ROOT = versions.ROOT
CHART = ROOT / "charts" / "brook"
HELM = versions.brook_home() / "bin" / "helm"
# kind's node image, helm's --kube-version and the kubeconform schemas: versions.env's KUBERNETES_VERSION.
KUBE_VERSION = versions.get("KUBERNETES_VERSION")
# The chart values versions.env decides (kafka.version, flink.release): required by the chart, passed like skaffold.
VERSION_SETS = tuple(versions.helm_sets())
PROFILES = {"kind": "values-kind.yaml", "prod": "values-prod.yaml"}


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    if not HELM.exists():
        pytest.fail(f"{HELM} is missing: run `make tools`")
    return subprocess.run([str(HELM), *args], capture_output=True, text=True, timeout=120, check=False)


@cache
def render_text(profile: str, *sets: str, namespace: str = "brook") -> str:
    args = ["template", "brook", str(CHART), "-n", namespace, "--kube-version", KUBE_VERSION, *VERSION_SETS]
    args += ["-f", str(CHART / PROFILES[profile])]
    for item in sets:
        args += ["--set", item]
    proc = helm(*args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def render(profile: str, *sets: str, namespace: str = "brook") -> list[dict]:
    return [doc for doc in yaml.safe_load_all(render_text(profile, *sets, namespace=namespace)) if doc]


def template(profile: str, extra_values: str = "", *sets: str) -> subprocess.CompletedProcess[str]:
    """`helm template` of ``profile`` plus a values file with ``extra_values`` (YAML) and ``--set``s, pass or fail."""
    args = ["template", "brook", str(CHART), "-n", "brook", "--kube-version", KUBE_VERSION, *VERSION_SETS]
    args += ["-f", str(CHART / PROFILES[profile])]
    with tempfile.TemporaryDirectory() as tmp:
        if extra_values:
            extra = Path(tmp) / "values.yaml"
            extra.write_text(extra_values)
            args += ["-f", str(extra)]
        for item in sets:
            args += ["--set", item]
        return helm(*args)


@cache
def render_values(profile: str, extra_values: str, *sets: str) -> list[dict]:
    """The chart's objects for ``profile`` plus the values in ``extra_values`` (YAML text)."""
    proc = template(profile, extra_values, *sets)
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


@pytest.fixture
def rendered() -> Callable[..., list[dict]]:
    """rendered(profile, *"key=value") → the chart's objects (profiles: kind, prod)."""
    return render


@pytest.fixture
def rendered_with() -> Callable[..., list[dict]]:
    """rendered_with(profile, values_yaml_text, *"key=value") → the chart's objects with an extra values file."""
    return render_values
