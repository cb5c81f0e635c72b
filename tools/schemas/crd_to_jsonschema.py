"""CRD YAML → kubeconform JSON schemas: ``<out>/<group>/<kind lower-case>_<version>.json``, one per served version.

``python -m tools.schemas.crd_to_jsonschema OUT_DIR CRD.yaml...`` (run by ``make schemas``). The schema is the
CRD's own ``openAPIV3Schema``, made strict the way Kubernetes' API server treats structural schemas: an object
that declares ``properties`` gets ``additionalProperties: false`` unless it says
``x-kubernetes-preserve-unknown-fields`` or already sets ``additionalProperties`` — so a misspelled field fails
validation instead of being silently pruned at apply time. ``metadata`` stays as the API server checks it (any
object) and the root always admits ``apiVersion``/``kind`` (the object envelope, which fabric8-generated CRDs
omit). Nothing else is changed: no field, type or enum is invented.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml


def strict(node: Any) -> Any:
    if isinstance(node, dict):
        out = {key: strict(value) for key, value in node.items()}
        if (
            out.get("type") == "object"
            and "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [strict(item) for item in node]
    return node


def convert(crd: dict[str, Any], out_dir: Path) -> list[Path]:
    spec = crd["spec"]
    group, kind = spec["group"], spec["names"]["kind"]
    written = []
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        schema = strict(version["schema"]["openAPIV3Schema"])
        properties = schema.setdefault("properties", {})
        # The envelope every Kubernetes object has; some generators (fabric8) leave it out of the CRD schema.
        properties["metadata"] = {"type": "object"}
        properties.setdefault("apiVersion", {"type": "string"})
        properties.setdefault("kind", {"type": "string"})
        target = out_dir / group / f"{kind.lower()}_{version['name']}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(schema, indent=1, sort_keys=True))
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = Path(argv[0])
    count = 0
    for path in argv[1:]:
        for document in yaml.safe_load_all(Path(path).read_text()):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                count += len(convert(document, out_dir))
    if count == 0:
        print("no CustomResourceDefinition found in the inputs", file=sys.stderr)
        return 1
    print(f"wrote {count} schemas under {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
