"""The ``telecom_daily`` DAG under the pinned Airflow (its own venv): parses, task order, and the three pod requests.

Like tests/integration/test_airflow.py (whose environment helper this reuses), the DAG is inspected by a script run
with the Airflow venv's interpreter, which prints one JSON object: the DagBag, each task's rendered pod for a
scheduled run (logical date 2026-03-11 → batch date 2026-03-10) and for a manual run with the ``date`` param.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from jobs.dags.settings import DEFAULTS as SHARED
from tests.integration.test_airflow import AIRFLOW_PY, DAGS, ROOT, airflow_env

pytestmark = pytest.mark.integration

SCRIPT = r"""
import copy, json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.execution_time import macros
from airflow.sdk.execution_time.context import VariableAccessor
from kubernetes.client import ApiClient

bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags["telecom_daily"]
out = {"import_errors": {p: str(e) for p, e in bag.import_errors.items()}, "dag_ids": sorted(bag.dag_ids),
       "schedule": str(dag.schedule), "catchup": dag.catchup, "max_active_runs": dag.max_active_runs,
       "upstream": {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}, "runs": {}}
for run, params in (("scheduled", {"date": None}), ("manual", {"date": "2026-02-01"})):
    pods = {}
    for task in map(copy.deepcopy, dag.tasks):  # rendering changes a task in place
        context = {"var": {"value": VariableAccessor(deserialize_json=False), "json": VariableAccessor(True)},
                   "ds": "2026-03-11", "macros": macros, "params": params, "run_id": "test-run"}
        task.render_template_fields(context)
        if hasattr(task, "build_pod_request_obj"):
            pod = ApiClient().sanitize_for_serialization(task.build_pod_request_obj(dry_run=True))
            pods[task.task_id] = {"pod": pod, "retries": task.retries,
                                  "retry_delay": task.retry_delay.total_seconds()}
        else:
            pods[task.task_id] = {"op_args": list(task.op_args)}
    out["runs"][run] = pods
print("TELECOM_DAG " + json.dumps(out, sort_keys=True))
"""


def inspect(tmp_path: Path, script: str = SCRIPT, **env: str) -> dict[str, Any]:
    """The inspection ``script`` (the telecom DAG's by default) run by the Airflow venv over the DAG folder."""
    if not AIRFLOW_PY.exists():
        pytest.fail(f"{AIRFLOW_PY} missing: run `make python`", pytrace=False)
    done = subprocess.run(
        [str(AIRFLOW_PY), "-c", script, str(DAGS)],
        env=airflow_env(tmp_path, **env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("TELECOM_DAG ")]
    assert done.returncode == 0 and lines, f"rc={done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads(lines[-1].removeprefix("TELECOM_DAG "))


def test_dag_parses_with_the_documented_schedule_and_order(tmp_path: Path) -> None:
    result = inspect(tmp_path)
    assert result["import_errors"] == {}
    assert "telecom_daily" in result["dag_ids"]
    assert (result["schedule"], result["catchup"], result["max_active_runs"]) == ("0 2 * * *", False, 1)
    assert result["upstream"] == {
        "check_data": [],
        "run_batch": ["check_data"],
        "validate": ["run_batch"],
        "notify": ["validate"],
    }


def test_pods_run_the_batch_for_the_previous_day_or_the_param(tmp_path: Path) -> None:
    runs = inspect(tmp_path)["runs"]
    for run, day in (("scheduled", "2026-03-10"), ("manual", "2026-02-01")):
        tasks = runs[run]
        commands = {name: t["pod"]["spec"]["containers"][0] for name, t in tasks.items() if "pod" in t}
        assert {name: c["command"] + c["args"] for name, c in commands.items()} == {
            "check_data": ["python", "-m", "jobs.telecom.daily_batch", "--date", day, "--check-only"],
            "run_batch": ["python", "-m", "jobs.telecom.daily_batch", "--date", day],
            "validate": ["python", "-m", "jobs.telecom.validate", "--date", day],
        }
        assert tasks["notify"]["op_args"] == [day, "test-run"]
    check, batch = runs["scheduled"]["check_data"], runs["scheduled"]["run_batch"]
    assert check["retries"] >= 3 and check["retry_delay"] >= 300, "check_data waits like a sensor"
    assert batch["retries"] >= 1
    for name, task in runs["scheduled"].items():
        if "pod" not in task:
            continue
        pod, main = task["pod"], task["pod"]["spec"]["containers"][0]
        assert pod["metadata"]["namespace"] == SHARED.namespace == "brook"
        assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "telecom-batch"
        assert pod["spec"]["serviceAccountName"] == "brook-telecom-batch"
        assert pod["spec"]["automountServiceAccountToken"] is False
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert main["image"] == f"brook/app:{SHARED.image_tag}", name
        assert main["envFrom"] == [
            {"configMapRef": {"name": "brook-env"}},
            {"secretRef": {"name": "brook-telecom-env"}},
        ]
        assert main["resources"]["limits"] and main["resources"]["requests"]
        assert main["securityContext"]["allowPrivilegeEscalation"] is False


def test_names_follow_airflow_variables_then_brook_env(tmp_path: Path) -> None:
    runs = inspect(
        tmp_path,
        AIRFLOW_VAR_BROOK_TELECOM_SERVICE_ACCOUNT="sa-from-variable",
        BROOK_TELECOM_ENV_SECRET="secret-from-env",
        AIRFLOW_VAR_BROOK_NAMESPACE="brook-staging",
        BROOK_TELECOM_SCHEDULE="30 3 * * *",
    )["runs"]
    pod = runs["scheduled"]["run_batch"]["pod"]
    assert pod["metadata"]["namespace"] == "brook-staging"
    assert pod["spec"]["serviceAccountName"] == "sa-from-variable"
    assert pod["spec"]["containers"][0]["envFrom"][1] == {"secretRef": {"name": "secret-from-env"}}


def test_without_the_telecom_pipeline_the_dag_schedules_nothing(tmp_path: Path) -> None:
    """BROOK_PIPELINES (the chart's brook-airflow-env) without telecom: the DAG stays for manual runs but has no
    schedule, since its ServiceAccount and Secret are not deployed; with telecom, or unset, it keeps its cron."""
    assert inspect(tmp_path, BROOK_PIPELINES="bets")["schedule"] == "None"
    assert inspect(tmp_path, BROOK_PIPELINES="bets,telecom")["schedule"] != "None"


def test_with_external_services_pods_add_the_charts_secret_refs(tmp_path: Path) -> None:
    """Chart → DAG pod: brook-airflow-env's BROOK_DAG_POD_EXTERNAL_ENV, rendered with kafka/postgres/s3.external,
    becomes each telecom pod's env (logins by secretKeyRef from the user's Secrets) beside its envFrom; with none
    (the default test above) a pod carries no env of its own."""
    from tests.charts.conftest import render_values
    from tests.charts.rendered import one
    from tests.charts.test_external_services import ALL_ON

    data = one(render_values("kind", ALL_ON), "ConfigMap", "brook-airflow-env")["data"]
    external = json.loads(data["BROOK_DAG_POD_EXTERNAL_ENV"])
    runs = inspect(tmp_path, BROOK_DAG_POD_EXTERNAL_ENV=data["BROOK_DAG_POD_EXTERNAL_ENV"])["runs"]
    for name in ("check_data", "run_batch", "validate"):
        main = runs["scheduled"][name]["pod"]["spec"]["containers"][0]
        assert main["env"] == external["telecom-batch"], name
        assert main["envFrom"][1] == {"secretRef": {"name": "brook-telecom-env"}}
    assert any(e["name"] == "BROOK_PG_PASSWORD" for e in external["telecom-batch"])
