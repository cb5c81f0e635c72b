"""Import Brook's dashboards as code into Superset: run by the Superset venv's interpreter, as a script.

``SUPERSET_CONFIG_PATH=... python charts/brook/dashboards/import_superset.py charts/brook/dashboards/superset``

Why not ``superset import-directory``/``import-dashboards``: neither takes the connection password, and the
exported database YAML rightly has none. This runs Superset's own ``ImportAssetsCommand`` (what the UI's and the
REST API's asset import run), which takes passwords separately, per database file. The connection's address is
the deployment's, not the assets': ``BROOK_SUPERSET_RESULTS_URI`` (no password) replaces each database file's
``sqlalchemy_uri``, ``BROOK_SUPERSET_RESULTS_PASSWORD`` is its password. Used by ``make superset``
(jobs/local/superset.py) and by the Superset release's init script in Kubernetes (charts/brook/superset-values.yaml,
from ConfigMap brook-superset-assets). It imports only Superset and the
standard library (it does not run in Brook's app venv).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SETTINGS = ("BROOK_SUPERSET_RESULTS_URI", "BROOK_SUPERSET_RESULTS_PASSWORD")


def read_bundle(root: Path, uri: str) -> dict[str, str]:
    """Every YAML under ``root`` keyed by its path in the bundle; database files get ``uri``."""
    import yaml

    contents: dict[str, str] = {}
    for path in sorted(root.rglob("*.yaml")):
        name = path.relative_to(root).as_posix()
        text = path.read_text()
        if name.startswith("databases/"):
            config = yaml.safe_load(text)
            config["sqlalchemy_uri"] = uri
            text = yaml.safe_dump(config, sort_keys=False)
        contents[name] = text
    if "metadata.yaml" not in contents:
        raise SystemExit(f"{root}: no metadata.yaml, not a Superset assets folder")
    return contents


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    missing = [name for name in SETTINGS if not os.environ.get(name)]
    if missing:
        print(f"import_superset: set {', '.join(missing)} (the results connection and its password)", file=sys.stderr)
        return 2
    contents = read_bundle(Path(argv[1]), os.environ[SETTINGS[0]])
    passwords = {name: os.environ[SETTINGS[1]] for name in contents if name.startswith("databases/")}

    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset import security_manager
        from superset.commands.importers.v1.assets import ImportAssetsCommand
        from superset.utils.core import override_user

        owner = os.environ.get("BROOK_SUPERSET_OWNER", "admin")
        user = security_manager.find_user(username=owner)
        if user is None:
            print(
                f"import_superset: no Superset user {owner!r} (BROOK_SUPERSET_OWNER) to own the assets", file=sys.stderr
            )
            return 2
        with override_user(user):
            ImportAssetsCommand(contents, passwords=passwords).run()
    counts = {
        kind: sum(name.startswith(kind + "/") for name in contents)
        for kind in ("databases", "datasets", "charts", "dashboards")
    }
    print("import_superset: imported " + ", ".join(f"{n} {kind}" for kind, n in counts.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
