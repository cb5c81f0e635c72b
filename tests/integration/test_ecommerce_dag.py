"""The ``ecommerce_daily`` DAG under the pinned Airflow (its own venv): parses, task order, and the pod requests of
a scheduled run (logical date 2026-03-11 → batch date 2026-03-10) and of a manual run with the ``date`` param.

The inspection script is telecom_daily's (tests/integration/test_telecom_dag.py), pointed at this DAG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration import test_telecom_dag as telecom_dag
from tests.integration.test_telecom_dag import SCRIPT as TELECOM_SCRIPT

pytestmark = pytest.mark.integration
SCRIPT = TELECOM_SCRIPT.replace('bag.dags["telecom_daily"]', 'bag.dags["ecommerce_daily"]')


def inspect(tmp_path: Path, **env: str) -> dict[str, Any]:
    assert SCRIPT != TELECOM_SCRIPT, "the telecom inspection script no longer selects its DAG as expected"
    return telecom_dag.inspect(tmp_path, SCRIPT, **env)


def test_dag_parses_runs_the_batch_for_the_previous_day_or_the_param_in_hardened_pods(tmp_path: Path) -> None:
    result = inspect(tmp_path)
    assert result["import_errors"] == {}
    assert (result["schedule"], result["catchup"], result["max_active_runs"]) == ("0 3 * * *", False, 1)
    assert result["upstream"] == {
        "check_files": [],
        "run_batch": ["check_files"],
        "validate": ["run_batch"],
        "notify": ["validate"],
    }
    for run, day in (("scheduled", "2026-03-10"), ("manual", "2026-02-01")):
        tasks = result["runs"][run]
        commands = {name: t["pod"]["spec"]["containers"][0] for name, t in tasks.items() if "pod" in t}
        assert {name: c["command"] + c["args"] for name, c in commands.items()} == {
            "check_files": ["python", "-m", "jobs.ecommerce.batch", "--date", day, "--check-only"],
            "run_batch": ["python", "-m", "jobs.ecommerce.batch", "--date", day],
            "validate": ["python", "-m", "jobs.ecommerce.validate", "--date", day],
        }
        assert tasks["notify"]["op_args"] == [day, "test-run"]
    check = result["runs"]["scheduled"]["check_files"]
    assert check["retries"] >= 3 and check["retry_delay"] >= 300, "check_files waits like a sensor"
    for name, task in result["runs"]["scheduled"].items():
        if "pod" not in task:
            continue
        pod, main = task["pod"], task["pod"]["spec"]["containers"][0]
        assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "ecommerce-batch"
        assert pod["spec"]["serviceAccountName"] == "brook-ecommerce-batch"
        assert pod["spec"]["automountServiceAccountToken"] is False
        assert main["image"] == "brook/flink-job:latest", name  # Java and the S3 plugin: not the app image
        assert main["envFrom"] == [
            {"configMapRef": {"name": "brook-env"}},
            {"secretRef": {"name": "brook-ecommerce-env"}},
        ]
        assert main["resources"]["limits"]["memory"] == "2Gi"
        assert {"name": "scratch", "mountPath": "/tmp"} in main["volumeMounts"]


def test_without_the_ecommerce_pipeline_the_dag_schedules_nothing(tmp_path: Path) -> None:
    assert inspect(tmp_path, BROOK_PIPELINES="bets")["schedule"] == "None"
