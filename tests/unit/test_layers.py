"""The import layering of ``jobs/`` (pyproject ``[tool.importlinter]``), enforced with import-linter.

Pipelines stand side by side and never import each other; the platform core (``jobs.common``, ``jobs.flink``)
knows no pipeline; nothing that ships in an image imports the local runner. A new pipeline folder must join the
layers contract, so the rule covers it from its first commit.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=120)


def contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_the_tree_keeps_every_contract() -> None:
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout


def test_every_pipeline_folder_is_in_the_layers_contract() -> None:
    pipelines = {path.parent.name for path in (ROOT / "jobs").glob("*/contract.py")}
    assert pipelines >= {"bets", "telecom"}
    layers = next(c for c in contracts() if c["type"] == "layers")["layers"]
    side_by_side = {name.strip().removeprefix("jobs.") for name in layers[1].split("|")}
    assert side_by_side == pipelines
    forbidden = next(c for c in contracts() if c["type"] == "forbidden")["source_modules"]
    assert {f"jobs.{name}" for name in pipelines} <= set(forbidden)


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("jobs/telecom/audit.py", "import jobs.bets.contract"),  # a pipeline reaching into another
        ("jobs/common/kafka.py", "import jobs.bets.topics"),  # the core knowing a pipeline
        ("jobs/flink/environment.py", "import jobs.local.services"),  # an image importing the local runner
    ],
)
def test_a_forbidden_import_is_caught(tmp_path: Path, module: str, line: str) -> None:
    shutil.copytree(ROOT / "jobs", tmp_path / "jobs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # injected by the test\n")
    done = lint(tmp_path)
    assert done.returncode != 0 and "BROKEN" in done.stdout.upper(), done.stdout[-3000:]
