"""Render charts/brook once per profile (helm template, offline) for the chart tests."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "brook"
HELM = ROOT / ".brook" / "bin" / "helm"
KUBE_VERSION = "1.37.0"  # kind's node (k8s/kind-cluster.yaml) and the kubeconform schemas (mk/tools.mk)
PROFILES = {"kind": "values-kind.yaml", "prod": "values-prod.yaml"}


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    if not HELM.exists():
        pytest.fail(f"{HELM} is missing: run `make tools`")
    return subprocess.run([str(HELM), *args], capture_output=True, text=True, timeout=120, check=False)


@cache
def render_text(profile: str, *sets: str) -> str:
    args = ["template", "brook", str(CHART), "-n", "brook", "--kube-version", KUBE_VERSION]
    args += ["-f", str(CHART / PROFILES[profile])]
    for item in sets:
        args += ["--set", item]
    proc = helm(*args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def render(profile: str, *sets: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(render_text(profile, *sets)) if doc]


@pytest.fixture
def rendered() -> Callable[..., list[dict]]:
    """rendered(profile, *"key=value") → the chart's objects (profiles: kind, prod)."""
    return render
