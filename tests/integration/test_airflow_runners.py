"""One DAG definition, two runners: every task of every DAG runs the same command whether Kubernetes or local.

The DAG folder is parsed by the pinned Airflow (its own venv, like tests/integration/test_airflow.py) once with
``BROOK_AIRFLOW_RUNNER=kubernetes`` and once with ``local``; each task's templates are rendered for the same run and
its ``cmds`` + ``arguments`` and its own ``env`` (``$(NAME)`` references, expanded by the kubelet or the local
runner) compared. The KubernetesPodOperator's own settings are tested in test_airflow.py and
test_telecom_dag.py; the local runner running for real in test_airflow_local.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_airflow import AIRFLOW_PY, DAGS, ROOT, airflow_env

pytestmark = pytest.mark.integration

LOCAL_PYTHON = "/opt/brook-test/venv/bin/python"
SCRIPT = r"""
import copy, json, sys
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.execution_time import macros
from airflow.sdk.execution_time.context import VariableAccessor

def seconds(value):
    return None if value is None else value.total_seconds()

bag = DagBag(dag_folder=sys.argv[1])
out = {"import_errors": {p: str(e) for p, e in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    tasks = {}
    for task in map(copy.deepcopy, dag.tasks):  # rendering changes a task in place
        context = {"var": {"value": VariableAccessor(deserialize_json=False), "json": VariableAccessor(True)},
                   "ds": "2026-03-11", "macros": macros, "params": {"date": None}, "run_id": "test-run"}
        entry = {"operator": type(task).__name__, "upstream": sorted(task.upstream_task_ids),
                 "retries": task.retries, "retry_delay": seconds(task.retry_delay),
                 "execution_timeout": seconds(task.execution_timeout)}
        if hasattr(task, "cmds"):
            task.render_template_fields(context)
            entry["command"] = list(task.cmds) + list(task.arguments)
            if hasattr(task, "argv"):
                entry["argv"] = task.argv()
            own = task.env_vars if hasattr(task, "env_vars") else task.env
            entry["env"] = {e.name: e.value for e in own} if isinstance(own, list) else dict(own)
        tasks[task.task_id] = entry
    out["dags"][dag_id] = {"tasks": tasks, "schedule": str(dag.schedule), "tags": sorted(dag.tags),
                           "paused_upon_creation": dag.is_paused_upon_creation}
print("RUNNERS " + json.dumps(out, sort_keys=True))
"""


def parse(tmp_path: Path, runner: str, **env: str) -> dict[str, Any]:
    if not AIRFLOW_PY.exists():
        pytest.fail(f"{AIRFLOW_PY} missing: run `make python`", pytrace=False)
    home = tmp_path / runner
    home.mkdir()
    done = subprocess.run(
        [str(AIRFLOW_PY), "-c", SCRIPT, str(DAGS)],
        env=airflow_env(home, BROOK_AIRFLOW_RUNNER=runner, BROOK_AIRFLOW_PYTHON=LOCAL_PYTHON, **env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RUNNERS ")]
    assert done.returncode == 0 and lines, f"rc={done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads(lines[-1].removeprefix("RUNNERS "))


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("runners")
    return {runner: parse(tmp, runner) for runner in ("kubernetes", "local")}


def test_both_modes_parse_the_same_dags(both: dict[str, dict[str, Any]]) -> None:
    kube, local = both["kubernetes"], both["local"]
    assert kube["import_errors"] == {} and local["import_errors"] == {}
    assert set(kube["dags"]) == set(local["dags"]) >= {"bets_export", "telecom_daily", "cinema_elt"}


def test_every_task_runs_the_same_command_in_both_modes(both: dict[str, dict[str, Any]]) -> None:
    jobs = 0
    for dag_id, kube_dag in both["kubernetes"]["dags"].items():
        local_dag = both["local"]["dags"][dag_id]
        assert set(kube_dag["tasks"]) == set(local_dag["tasks"]), dag_id
        for task_id, kube in kube_dag["tasks"].items():
            local = local_dag["tasks"][task_id]
            where = f"{dag_id}.{task_id}"
            same = ("upstream", "retries", "retry_delay", "execution_timeout")
            assert {k: kube[k] for k in same} == {k: local[k] for k in same}, where
            if kube["operator"] != "KubernetesPodOperator":  # an in-Airflow step (notify): no runner involved
                assert local["operator"] == kube["operator"] and "command" not in local, where
                continue
            jobs += 1
            assert local["operator"] == "LocalJobOperator", where
            assert kube["command"] == local["command"], where
            assert kube["env"] == local["env"], where
            assert kube["command"][:2] == ["python", "-m"] and kube["command"][2].startswith("jobs."), where
            assert "{{" not in " ".join(kube["command"]), f"{where}: an unrendered template"
            assert local["argv"] == [LOCAL_PYTHON, *local["command"][1:]], where
    assert jobs >= 7, "bets_export's export, telecom_daily's three jobs and cinema_elt's three at least"


def test_the_commands_are_the_jobs_with_their_arguments(both: dict[str, dict[str, Any]]) -> None:
    tasks = {dag_id: dag["tasks"] for dag_id, dag in both["local"]["dags"].items()}
    assert tasks["bets_export"]["export"]["command"][:4] == ["python", "-m", "jobs.bets.exporter", "--max-rows"]
    assert tasks["telecom_daily"]["run_batch"]["command"] == [
        "python",
        "-m",
        "jobs.telecom.daily_batch",
        "--date",
        "2026-03-10",  # the day before the logical date 2026-03-11
    ]
    cinema = tasks["cinema_elt"]
    assert cinema["generate"]["command"][2:] == [
        "jobs.cinema.generator", "--viewers", "40", "--days", "1", "--start", "2026-03-11", "--seed", "20260311",
    ]  # fmt: skip
    assert cinema["wait_for_replication"]["command"][2:4] == ["jobs.cinema.lag_check", "--timeout"]
    assert cinema["dbt_build"]["command"] == ["python", "-m", "jobs.cinema.marts"]
    # The generator writes the OLTP, dbt reads the warehouse, the lag check reads both sets as they are.
    assert cinema["generate"]["env"]["BROOK_PG_HOST"] == "$(BROOK_CINEMA_OLTP_PG_HOST)"
    assert cinema["dbt_build"]["env"]["BROOK_PG_PASSWORD"] == "$(BROOK_CINEMA_WAREHOUSE_PG_PASSWORD)"
    assert cinema["wait_for_replication"]["env"] == {}
    assert tasks["telecom_daily"]["run_batch"]["env"] == {} == tasks["bets_export"]["export"]["env"]


def test_every_dag_is_created_unpaused_in_both_modes(both: dict[str, dict[str, Any]]) -> None:
    for runner, parsed in both.items():
        for dag_id, dag in parsed["dags"].items():
            assert dag["paused_upon_creation"] is False, f"{runner}: {dag_id} would wait for someone to unpause it"
            assert f"runner:{runner}" in dag["tags"], dag_id


def test_an_unknown_runner_is_an_import_error_naming_the_setting(tmp_path: Path) -> None:
    result = parse(tmp_path, "docker")
    assert result["dags"] == {}
    assert result["import_errors"] and all(
        "BROOK_AIRFLOW_RUNNER='docker' is not one of kubernetes, local" in err
        for err in result["import_errors"].values()
    )


def test_a_malformed_dag_pod_external_env_is_an_import_error_naming_it(tmp_path: Path) -> None:
    """The chart's BROOK_DAG_POD_EXTERNAL_ENV (component → env entries) is checked when a DAG is parsed."""
    result = parse(tmp_path, "kubernetes", BROOK_DAG_POD_EXTERNAL_ENV='{"telecom-batch": "BROOK_PG_USER"}')
    assert result["dags"] == {}
    assert result["import_errors"] and all(
        "BROOK_DAG_POD_EXTERNAL_ENV=" in err and "JSON object of component" in err
        for err in result["import_errors"].values()
    )
