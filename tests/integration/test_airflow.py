"""The ``bets_export`` DAG under the pinned Airflow (its own venv): parses, and builds the exporter pod we expect.

The app venv has no Airflow, so the checks run in ``.brook/venv/airflow`` (tests/integration/airflow_checks.py
prints JSON) and are asserted here; the CLI smoke runs ``make airflow-check`` with a private AIRFLOW_HOME.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from jobs.dags.settings import DEFAULTS, VARIABLES

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "jobs" / "dags"
# Every DAG the folder defines (each DAG module names its DAG_ID), so a new pipeline's DAG is expected unasked.
DAG_IDS = sorted(m for p in DAGS.glob("*.py") for m in re.findall(r'^DAG_ID = "(\w+)"$', p.read_text(), re.M))
CHECKS = Path(__file__).with_name("airflow_checks.py")
AIRFLOW_PY = Path(os.environ.get("BROOK_HOME", ROOT / ".brook")) / "venv" / "airflow" / "bin" / "python"


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment: nothing from this process leaks into Airflow but PATH."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        **extra,
    }


def checks(tmp_path: Path, folder: Path = DAGS, **env: str) -> dict[str, Any]:
    if not AIRFLOW_PY.exists():
        pytest.fail(f"{AIRFLOW_PY} missing: run `make python`", pytrace=False)
    done = subprocess.run(
        [str(AIRFLOW_PY), str(CHECKS), str(folder)],
        env=airflow_env(tmp_path, **env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("AIRFLOW_CHECKS ")]
    assert done.returncode == 0 and lines, f"rc={done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads(lines[-1].removeprefix("AIRFLOW_CHECKS "))


def container(result: dict[str, Any]) -> dict[str, Any]:
    [only] = result["pod"]["spec"]["containers"]
    return only


def test_defaults_are_the_platform_names() -> None:
    assert (DEFAULTS.image, DEFAULTS.namespace, DEFAULTS.service_account) == ("brook/app", "brook", "brook-exporter")
    assert (DEFAULTS.env_configmap, DEFAULTS.env_secret) == ("brook-env", "brook-exporter-env")
    assert set(VARIABLES) == {"image", "image_tag", "namespace", "service_account", "env_configmap", "env_secret"}


def test_dag_parses_and_builds_the_exporter_pod(tmp_path: Path) -> None:
    result = checks(tmp_path)

    assert result["import_errors"] == {}
    assert sorted(result["dag_ids"]) == DAG_IDS
    assert result["dag"] == {"schedule": "*/5 * * * *", "catchup": False, "max_active_runs": 1, "task_ids": ["export"]}

    task = result["task"]
    assert task["operator"] == "airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator"
    assert task["on_finish_action"] == "delete_succeeded_pod"
    assert task["in_cluster"] is True and task["config_file"] is None and task["get_logs"] is True
    assert task["retries"] >= 1 and task["retry_exponential_backoff"] > 1 and task["max_retry_delay"]
    assert task["execution_timeout"] and task["execution_timeout"] > 0

    pod = result["pod"]
    assert pod["metadata"]["namespace"] == "brook"
    assert pod["spec"]["serviceAccountName"] == "brook-exporter"
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    main = container(result)
    assert main["image"] == f"brook/app:{DEFAULTS.image_tag}"
    assert main["command"] == ["python", "-m", "jobs.bets.exporter"]
    assert main["args"] == ["--max-rows", str(DEFAULTS.max_rows)]
    assert main["envFrom"] == [{"configMapRef": {"name": "brook-env"}}, {"secretRef": {"name": "brook-exporter-env"}}]
    assert main["resources"] == {
        "requests": {"cpu": DEFAULTS.cpu_request, "memory": DEFAULTS.memory_request},
        "limits": {"cpu": DEFAULTS.cpu_limit, "memory": DEFAULTS.memory_limit},
    }
    assert main["securityContext"]["allowPrivilegeEscalation"] is False


def test_names_follow_airflow_variables_then_brook_env(tmp_path: Path) -> None:
    """...and an Airflow outside the cluster (BROOK_AIRFLOW_KUBECONFIG) starts the pod through that kubeconfig."""
    kubeconfig = tmp_path / "outside.kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    result = checks(
        tmp_path,
        BROOK_AIRFLOW_KUBECONFIG=str(kubeconfig),
        AIRFLOW_VAR_BROOK_EXPORT_IMAGE="registry.example/brook-app",
        AIRFLOW_VAR_BROOK_EXPORT_IMAGE_TAG="1.2.3",
        AIRFLOW_VAR_BROOK_NAMESPACE="brook-staging",
        AIRFLOW_VAR_BROOK_EXPORT_SERVICE_ACCOUNT="exporter-sa",
        BROOK_EXPORT_ENV_SECRET="secret-from-env",  # no Airflow Variable: the parse-time BROOK_* setting applies
        BROOK_ENV_CONFIGMAP="configmap-from-env",
        AIRFLOW_VAR_BROOK_ENV_CONFIGMAP="configmap-from-variable",  # a Variable beats the BROOK_* setting
        BROOK_EXPORT_SCHEDULE="*/10 * * * *",
    )
    assert result["dag"]["schedule"] == "*/10 * * * *"
    assert (result["task"]["in_cluster"], result["task"]["config_file"]) == (False, str(kubeconfig))
    assert result["pod"]["metadata"]["namespace"] == "brook-staging"
    assert result["pod"]["spec"]["serviceAccountName"] == "exporter-sa"
    main = container(result)
    assert main["image"] == "registry.example/brook-app:1.2.3"
    assert main["envFrom"] == [
        {"configMapRef": {"name": "configmap-from-variable"}},
        {"secretRef": {"name": "secret-from-env"}},
    ]


def test_a_missing_kubeconfig_fails_the_parse_naming_the_setting(tmp_path: Path) -> None:
    result = checks(tmp_path, BROOK_AIRFLOW_KUBECONFIG=str(tmp_path / "absent.kubeconfig"))
    assert "bets_export" not in result["dag_ids"]
    error = result["import_errors"][str(DAGS / "bets_export.py")]
    assert "BROOK_AIRFLOW_KUBECONFIG" in error and "is not a file" in error


def test_a_broken_dag_file_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    shutil.copytree(DAGS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "broken_dag.py").write_text("from airflow.sdk import DAG\nimport brook_no_such_module\n")
    result = checks(tmp_path, folder)
    assert list(result["import_errors"]) == [str(folder / "broken_dag.py")]
    assert "brook_no_such_module" in result["import_errors"][str(folder / "broken_dag.py")]
    assert sorted(result["dag_ids"]) == DAG_IDS


def test_make_airflow_check_lists_bets_export(tmp_path: Path) -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "airflow-check", f"AIRFLOW_CHECK_HOME={tmp_path / 'airflow'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    listed = (tmp_path / "airflow" / "dags.txt").read_text().split()
    assert "bets_export" in listed and str(DAGS / "bets_export.py") in listed
