"""Brook's side of the Superset release: what the chart renders with ``superset.enabled`` (docs/dashboards.md).

The official Superset chart itself is not obtainable here, so only Brook's objects are rendered and checked: the
metadata Database in CNPG, the generated Secret the release reads, and the ConfigMap that carries exactly the
committed dashboards as code and their importer (the files ``make superset`` imports, not copies).
"""

from __future__ import annotations

import pytest
import yaml

from jobs.local.superset import ASSETS, IMPORTER
from tests.charts.conftest import render, template

pytestmark = pytest.mark.charts

SUPERSET_OBJECTS = {
    ("Database", "brook-pg-superset"),
    ("Secret", "brook-superset-env"),
    ("ConfigMap", "brook-superset-assets"),
}


def objects(*sets: str) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in render("kind", *sets)}


def test_nothing_of_superset_is_rendered_by_default() -> None:
    assert not SUPERSET_OBJECTS & set(objects())


def test_the_metadata_database_lives_in_cnpg_and_the_secret_is_generated() -> None:
    rendered = objects("superset.enabled=true")
    database = rendered[("Database", "brook-pg-superset")]["spec"]
    assert database["name"] == "superset" and database["cluster"] == {"name": "brook-pg"}
    env = rendered[("Secret", "brook-superset-env")]["stringData"]
    assert set(env) == {
        "DB_HOST", "DB_PORT", "DB_USER", "DB_PASS", "DB_NAME", "SUPERSET_SECRET_KEY", "ADMIN_PASSWORD",
        "BROOK_SUPERSET_RESULTS_URI", "BROOK_SUPERSET_RESULTS_PASSWORD",
    }  # fmt: skip
    assert env["DB_NAME"] == "superset" and env["DB_HOST"] == "brook-pg-rw.brook"
    assert len(env["SUPERSET_SECRET_KEY"]) >= 42 and len(env["ADMIN_PASSWORD"]) >= 16
    assert env["ADMIN_PASSWORD"] != "admin"
    assert ":XXXXXXXXXX@brook-pg-rw.brook:5432/" in env["BROOK_SUPERSET_RESULTS_URI"]
    again = template("kind", "", "superset.enabled=true").stdout  # not render(): that one is cached
    other = next(o for o in yaml.safe_load_all(again) if o and o["metadata"]["name"] == "brook-superset-env")
    assert other["stringData"]["SUPERSET_SECRET_KEY"] != env["SUPERSET_SECRET_KEY"], (
        "random per install, not a constant"
    )


def test_the_configmap_carries_the_committed_assets_and_importer() -> None:
    data = objects("superset.enabled=true")[("ConfigMap", "brook-superset-assets")]["data"]
    assert data.pop("import_superset.py") == IMPORTER.read_text()
    committed = {p.relative_to(ASSETS).as_posix(): p.read_text() for p in ASSETS.rglob("*.yaml")}
    assert {key.replace("__", "/"): text for key, text in data.items()} == committed
    assert {"metadata.yaml", "dashboards/bets.yaml", "dashboards/telecom.yaml"} <= set(committed)
    for text in committed.values():
        yaml.safe_load(text)


def test_superset_with_an_external_postgres_is_refused_with_the_fix() -> None:
    external = "postgres:\n  external: {enabled: true, host: db.example, secret: byo-pg}\n"
    proc = template("kind", external, "superset.enabled=true")
    assert proc.returncode != 0
    assert "superset.enabled needs the in-chart CNPG cluster" in proc.stderr
