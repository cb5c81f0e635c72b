"""kubeconform over manifests, strictly, offline, with Kubernetes' and the pinned operators' schemas.

``python -m tools.validate FILE_OR_DIR_OR_- ...`` (``-`` = stdin) → exit 0 only when every resource is valid; a
resource without a schema is an error, never skipped. Schemas come from ``make schemas`` ($BROOK_HOME/schemas),
for the Kubernetes version of versions.env.

One documented substitution: the newest Flink Kubernetes Operator CRD obtainable from the registries this project
may use is 1.10.0's (FLINK_OPERATOR_CRD_VERSION in versions.env: Maven Central serves the operator API jar only up
to 1.10.0 here), whose ``flinkVersion`` enum stops at ``v1_20``. Brook pins operator 1.15.0 and Flink 2.0
(``flinkVersion: v2_0``), so before validation ``v2_0`` is replaced by ``v1_20`` and everything else in a
FlinkDeployment is checked against the real schema; ``tests/charts`` pins the ``v2_0`` value separately.
Importable: ``validate(paths_or_text)``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from tools import versions

HOME = versions.brook_home()
KUBECONFORM = HOME / "bin" / "kubeconform"
SCHEMAS = HOME / "schemas"
K8S_VERSION = versions.get("KUBERNETES_VERSION")
FLINK_VERSION_SUBSTITUTION = (re.compile(r"(flinkVersion:\s*[\"']?)v2_0\b"), r"\g<1>v1_20")


def _prepare(text: str) -> str:
    pattern, replacement = FLINK_VERSION_SUBSTITUTION
    return pattern.sub(replacement, text)


def validate(inputs: list[str] | str) -> tuple[bool, str]:
    """Validate files/dirs (a list) or manifest text (a str); (ok, kubeconform's output)."""
    missing = [p for p in (KUBECONFORM, SCHEMAS / "kubernetes", SCHEMAS / "crds") if not p.exists()]
    if missing:
        return False, f"missing {', '.join(map(str, missing))}: run `make tools schemas`"
    with tempfile.TemporaryDirectory() as tmp:
        if isinstance(inputs, str):
            texts = {"stdin.yaml": inputs}
        else:
            files = [f for p in map(Path, inputs) for f in (sorted(p.rglob("*.y*ml")) if p.is_dir() else [p])]
            texts = {f"{i:04d}-{f.name}": f.read_text() for i, f in enumerate(files)}
        for name, text in texts.items():
            Path(tmp, name).write_text(_prepare(text))
        command = [
            str(KUBECONFORM),
            "-strict",
            "-summary",
            "-output",
            "text",
            "-kubernetes-version",
            K8S_VERSION,
            "-schema-location",
            str(SCHEMAS / "kubernetes") + "/",
            "-schema-location",
            str(SCHEMAS / "crds") + "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json",
            tmp,
        ]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
    output = (proc.stdout + proc.stderr).replace(tmp + "/", "")
    counted = re.search(r"(\d+) resources? found", output)
    if proc.returncode == 0 and counted and int(counted.group(1)) == 0:
        return False, output + "\nno Kubernetes resources found: nothing was validated"
    return proc.returncode == 0, output


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    inputs: list[str] | str = sys.stdin.read() if argv == ["-"] else argv
    ok, output = validate(inputs)
    print(output.strip())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
