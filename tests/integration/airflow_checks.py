"""Parse Brook's DAG folder and build the exporter's pod request; print what was found as one JSON object.

Run with the AIRFLOW venv's interpreter (the app venv has no Airflow), by tests/integration/test_airflow.py:
``.brook/venv/airflow/bin/python tests/integration/airflow_checks.py <dag folder>``. No cluster and no
metadata database are needed: the DagBag parses the files, the task's templates are rendered with the same
``var`` accessor a worker uses (Airflow Variables from ``AIRFLOW_VAR_*``), and the pod is built in dry-run mode.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from typing import Any


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def check(folder: str) -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.execution_time.context import VariableAccessor
    from kubernetes.client import ApiClient

    bag = DagBag(dag_folder=folder)
    out: dict[str, Any] = {
        "import_errors": {path: str(err) for path, err in bag.import_errors.items()},
        "dag_ids": sorted(bag.dag_ids),
    }
    dag = bag.dags.get("bets_export")  # not get_dag(): that one asks the metadata database
    if dag is None:
        return out
    out["dag"] = {
        "schedule": str(dag.schedule),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "task_ids": sorted(dag.task_ids),
    }
    task = dag.get_task("export")
    out["task"] = {
        "operator": f"{type(task).__module__}.{type(task).__name__}",
        "retries": task.retries,
        "retry_delay": _seconds(task.retry_delay),
        "retry_exponential_backoff": task.retry_exponential_backoff,
        "max_retry_delay": _seconds(task.max_retry_delay),
        "execution_timeout": _seconds(task.execution_timeout),
        "on_finish_action": getattr(task.on_finish_action, "value", task.on_finish_action),
        "in_cluster": task.in_cluster,
        "config_file": task.config_file,
        "get_logs": task.get_logs,
        "startup_timeout_seconds": task.startup_timeout_seconds,
    }
    context: Any = {"var": {"value": VariableAccessor(deserialize_json=False), "json": VariableAccessor(True)}}
    task.render_template_fields(context)
    pod = task.build_pod_request_obj(dry_run=True)
    out["pod"] = ApiClient().sanitize_for_serialization(pod)
    return out


if __name__ == "__main__":
    result = check(sys.argv[1])
    print("AIRFLOW_CHECKS " + json.dumps(result, sort_keys=True))
