"""The chart-layer tools run from their installed paths at the versions mk/tools.mk pins."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.charts
ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".brook" / "bin"
PINS = dict(re.findall(r"^(\w+_VERSION) := (\S+)$", (ROOT / "mk" / "tools.mk").read_text(), re.M))


def run(*command: str) -> str:
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def module_version(binary: Path) -> str:
    """The module version Go stamped into a binary built by `go install module@version`."""
    info = run("go", "version", "-m", str(binary))
    return re.search(r"^\s+mod\s+\S+\s+(\S+)", info, re.M).group(1)


def test_helm() -> None:
    assert run(str(BIN / "helm"), "version", "--short").startswith("v3.")  # go-installed: no patch in ldflags
    assert module_version(BIN / "helm") == PINS["HELM_VERSION"]


def test_kubeconform() -> None:
    run(str(BIN / "kubeconform"), "-v")  # prints "development" for go-installed builds, hence:
    assert module_version(BIN / "kubeconform") == PINS["KUBECONFORM_VERSION"]


def test_minio() -> None:
    assert module_version(BIN / "minio") == PINS["MINIO_VERSION"]


def test_hadolint() -> None:
    assert re.search(r"Haskell Dockerfile Linter \d+\.\d+", run(str(BIN / "hadolint"), "--version"))
