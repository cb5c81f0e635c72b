"""The ``cinema_elt`` DAG under the pinned Airflow (its own venv): parses, task order, and the three pod requests.

Like tests/integration/test_telecom_dag.py: a script run by the Airflow venv's interpreter prints one JSON object
(the DagBag, each task's rendered pod for the run of logical date 2026-03-11, and the local runner's expansion of a
task's ``$(NAME)`` references), asserted here.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from jobs.cinema.databases import OLTP, WAREHOUSE, pg_env_from
from jobs.dags.settings import DEFAULTS as SHARED
from tests.integration.test_airflow import AIRFLOW_PY, DAGS, ROOT, airflow_env

pytestmark = pytest.mark.integration

SCRIPT = r"""
import copy, json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.execution_time import macros
from airflow.sdk.execution_time.context import VariableAccessor
from kubernetes.client import ApiClient
from jobs.dags.runners import expand, unresolved

bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags["cinema_elt"]
out = {"import_errors": {p: str(e) for p, e in bag.import_errors.items()}, "dag_ids": sorted(bag.dag_ids),
       "schedule": str(dag.schedule), "tags": sorted(dag.tags), "paused": dag.is_paused_upon_creation,
       "upstream": {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}, "pods": {},
       "expanded": expand({"BROOK_PG_HOST": "$(BROOK_CINEMA_OLTP_PG_HOST)", "BROOK_X": "a$(BROOK_UNSET)b"},
                          {"BROOK_CINEMA_OLTP_PG_HOST": "oltp-rw"})}
out["unresolved"] = unresolved(out["expanded"])
for task in map(copy.deepcopy, dag.tasks):
    context = {"var": {"value": VariableAccessor(deserialize_json=False), "json": VariableAccessor(True)},
               "ds": "2026-03-11", "macros": macros, "params": {}, "run_id": "test-run"}
    task.render_template_fields(context)
    if hasattr(task, "build_pod_request_obj"):
        out["pods"][task.task_id] = ApiClient().sanitize_for_serialization(task.build_pod_request_obj(dry_run=True))
print("CINEMA_DAG " + json.dumps(out, sort_keys=True))
"""


def inspect(tmp_path: Path, **env: str) -> dict[str, Any]:
    if not AIRFLOW_PY.exists():
        pytest.fail(f"{AIRFLOW_PY} missing: run `make python`", pytrace=False)
    done = subprocess.run(
        [str(AIRFLOW_PY), "-c", SCRIPT, str(DAGS)],
        env=airflow_env(tmp_path, PYTHONPATH=str(ROOT), **env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("CINEMA_DAG ")]
    assert done.returncode == 0 and lines, f"rc={done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads(lines[-1].removeprefix("CINEMA_DAG "))


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return inspect(tmp_path_factory.mktemp("cinema-dag"))


def test_dag_parses_in_order_tagged_and_unpaused(parsed: dict[str, Any]) -> None:
    assert parsed["import_errors"] == {} and "cinema_elt" in parsed["dag_ids"]
    assert parsed["upstream"] == {
        "generate": [],
        "wait_for_replication": ["generate"],
        "dbt_build": ["wait_for_replication"],
        "notify": ["dbt_build"],
    }
    assert {"cinema", "seed:cinema_elt", "runner:kubernetes"} <= set(parsed["tags"])
    assert parsed["paused"] is False and parsed["schedule"] == "0 1 * * *"


def test_each_pod_has_its_image_account_secret_database_and_resources(parsed: dict[str, Any]) -> None:
    expected = {  # task → (component, image repository, the database set it maps onto BROOK_PG_*)
        "generate": ("generator", "brook/app", pg_env_from(OLTP)),
        "wait_for_replication": ("lag", "brook/app", {}),
        "dbt_build": ("dbt", "brook/dbt", pg_env_from(WAREHOUSE)),
    }
    assert set(parsed["pods"]) == set(expected)
    for name, (component, image, env) in expected.items():
        pod = parsed["pods"][name]
        [main] = pod["spec"]["containers"]
        assert pod["metadata"]["namespace"] == SHARED.namespace
        assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == f"cinema-{component}", name
        assert pod["spec"]["serviceAccountName"] == f"brook-cinema-{component}", name
        assert pod["spec"]["automountServiceAccountToken"] is False
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert main["image"] == f"{image}:latest", name
        assert main["envFrom"] == [
            {"configMapRef": {"name": "brook-env"}},
            {"secretRef": {"name": "brook-cinema-env"}},
        ], name
        assert {e["name"]: e["value"] for e in main.get("env", [])} == env, name
        assert main["resources"]["limits"]["memory"] and main["resources"]["requests"]["cpu"], name
        assert main["securityContext"]["readOnlyRootFilesystem"] is True
    dbt = parsed["pods"]["dbt_build"]
    assert dbt["spec"]["containers"][0]["volumeMounts"] == [{"mountPath": "/tmp", "name": "scratch"}]
    assert dbt["spec"]["volumes"][0]["emptyDir"] == {"sizeLimit": "1Gi"}
    assert "volumes" not in parsed["pods"]["generate"]["spec"] or not parsed["pods"]["generate"]["spec"]["volumes"]


def test_the_local_runner_expands_references_like_the_kubelet(parsed: dict[str, Any]) -> None:
    """A known name is replaced; an unknown one stays as written (what Kubernetes does with a missing variable)."""
    assert parsed["expanded"] == {"BROOK_PG_HOST": "oltp-rw", "BROOK_X": "a$(BROOK_UNSET)b"}
    assert parsed["unresolved"] == ["BROOK_UNSET"]  # the local runner fails the task naming it, before running


def test_without_the_cinema_pipeline_the_dag_schedules_nothing(tmp_path: Path) -> None:
    assert inspect(tmp_path, BROOK_PIPELINES="bets,telecom")["schedule"] == "None"
