"""Kubernetes' own JSON schemas for kubeconform, offline, from the kubernetes-validate package (PyPI).

``python -m tools.schemas.kubernetes_schemas VERSION OUT_DIR`` writes ``OUT_DIR/vVERSION-standalone-strict/`` in
kubeconform's default naming. The package's strict schemas carry an ``$id`` on kubernetes.io and absolute refs
to ``/api/_definitions.json`` (its own loader resolves them); both are rewritten to the local
``_definitions.json`` so kubeconform never reaches for the network. Content is otherwise unchanged.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import kubernetes_validate


def main(argv: list[str]) -> int:
    version, out_dir = argv[0].lstrip("v"), Path(argv[1])
    source = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{version}-local-strict"
    if not source.is_dir():
        available = sorted(p.name for p in source.parent.glob("*-local-strict"))
        print(f"kubernetes-validate has no schemas for v{version}; available: {', '.join(available)}", file=sys.stderr)
        return 1
    target = out_dir / f"v{version}-standalone-strict"
    target.mkdir(parents=True, exist_ok=True)
    for path in source.glob("*.json"):
        schema = json.loads(path.read_text())
        schema.pop("$id", None)
        text = json.dumps(schema).replace('"/api/_definitions.json#', '"_definitions.json#')
        (target / path.name).write_text(text)
    print(f"wrote Kubernetes v{version} schemas to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
