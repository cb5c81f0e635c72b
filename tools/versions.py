"""The one versions file (versions.env at the repository root) and BROOK_HOME, for the tests and the tools.

``python -m tools.versions helm-sets`` prints the chart's ``--set`` values taken from the file (make's chart-lint);
``python -m tools.versions KEY`` prints one version.
"""

from __future__ import annotations

import os
import re
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERSIONS_FILE = ROOT / "versions.env"
# What make, sh and this parser all read the same way: no spaces, quotes, comments or expansions in a value.
_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=([^\s\"'#$\\]+)$")

# Chart value → versions.env key: what skaffold.yaml sets on the brook release (setValueTemplates, from the
# environment mk/kind.mk gives it), what `make chart-lint` and the tools pass to helm. tests/charts/test_k8s.py
# checks that skaffold.yaml sets exactly these.
CHART_VALUES = {
    "kafka.version": "KAFKA_VERSION",
    "flink.release": "FLINK_VERSION",
}


@cache
def load(path: Path = VERSIONS_FILE) -> dict[str, str]:
    """KEY → value of every assignment in the versions file; a line that is neither comment nor KEY=value fails."""
    versions: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise ValueError(f"{path}:{number}: not KEY=value (make and sh read this file): {raw!r}")
        key, value = match.groups()
        if key in versions:
            raise ValueError(f"{path}:{number}: {key} is set twice")
        versions[key] = value
    return versions


def get(key: str) -> str:
    """One version; a missing key names the file."""
    try:
        return load()[key]
    except KeyError:
        raise KeyError(f"{key} is not set in {VERSIONS_FILE}") from None


def brook_home() -> Path:
    """Where Brook installs everything: $BROOK_HOME, else .brook in the repository (as the Makefile decides)."""
    return Path(os.environ.get("BROOK_HOME") or ROOT / ".brook")


def chart_values() -> dict[str, str]:
    """The chart values the versions file decides (CHART_VALUES resolved)."""
    return {value: get(key) for value, key in CHART_VALUES.items()}


def helm_sets() -> list[str]:
    """``--set`` arguments for helm template/lint: the chart rendered at Brook's versions, as skaffold deploys it."""
    return ["--set", ",".join(f"{name}={value}" for name, value in chart_values().items())]


def main(argv: list[str]) -> int:
    if argv == ["helm-sets"]:
        print(" ".join(helm_sets()))
        return 0
    if len(argv) == 1 and argv[0] in load():
        print(load()[argv[0]])
        return 0
    print(f"usage: python -m tools.versions helm-sets | KEY (one of {', '.join(load())})", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
