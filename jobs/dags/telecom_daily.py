"""Airflow DAG ``telecom_daily`` (seed name: ``daily_metrics_batch``): at 02:00 UTC, daily_stats for the previous
UTC day, checked and validated.

check_data → run_batch → validate → notify. The first three run ``jobs.telecom.daily_batch --check-only``,
``jobs.telecom.daily_batch`` and ``jobs.telecom.validate`` through the runner of ``BROOK_AIRFLOW_RUNNER``
(jobs/dags/runners.py): in Kubernetes as pods of the app image, so database credentials stay in the pods (Secret
``brook-telecom-env``), never on Airflow's workers; under ``make airflow`` as subprocesses in the app venv with the
local services' env. Created unpaused. check_data behaves like a
sensor: it fails while the day has no metrics or the stream has not closed it yet, and is retried every
``BROOK_TELECOM_CHECK_RETRY_MINUTES`` (Flink lagging at 02:00 delays the batch instead of producing a partial day).

Which date: the day before the run's logical date (``macros.ds_add(ds, -1)``: the 02:00 run of D+1 processes D,
whose last window the 2-minute watermark closed long before), or the ``date`` param of a manual run. Backfills:
``airflow backfill create --dag-id telecom_daily --from-date D+1 --to-date E+1`` recomputes D..E, or trigger with
``{"date": "YYYY-MM-DD"}``; the batch is idempotent per date. notify logs a line and, if the Airflow Variable
``brook_telecom_webhook_url`` is set, POSTs a JSON summary to it (a failed POST is logged, not fatal: the data is
already correct). Shared names (image, namespace, env ConfigMap) come from jobs/dags/settings.py like bets_export.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime

from airflow.sdk import DAG, Param, Variable, task

from jobs.common.settings import load, setting
from jobs.dags.runners import Job, Resources, RunnerSettings, Workload, check_batch_validate, runner_settings
from jobs.dags.settings import ExportDagSettings, export_dag_settings, templated

DAG_ID = "telecom_daily"
BATCH_DATE = "{{ params.date or macros.ds_add(ds, -1) }}"
WEBHOOK_VARIABLE = "brook_telecom_webhook_url"
SEED_NAME = "daily_metrics_batch"  # what the design card's seeds call it (docs/airflow.md)
log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class TelecomDagSettings:
    service_account: str = setting(
        "TELECOM_SERVICE_ACCOUNT", "brook-telecom-batch", help="ServiceAccount of the telecom batch pods."
    )
    env_secret: str = setting(
        "TELECOM_ENV_SECRET", "brook-telecom-env", help="Secret with the telecom workload's BROOK_PG_* (envFrom)."
    )
    schedule: str = setting("TELECOM_SCHEDULE", "0 2 * * *", help="Cron schedule of telecom_daily (UTC).")
    pipelines: str = setting(
        "PIPELINES",
        "",
        help="Comma-separated pipelines the deployment runs (the chart's brook-airflow-env); empty: all. Without "
        "telecom the DAG is kept for manual runs but schedules none (its ServiceAccount and Secret do not exist).",
    )

    def enabled(self) -> bool:
        return not self.pipelines.strip() or "telecom" in {p.strip() for p in self.pipelines.split(",")}

    check_retries: int = setting(
        "TELECOM_CHECK_RETRIES", 6, help="check_data retries while the day is not closed (sensor-like wait)."
    )
    check_retry_minutes: int = setting("TELECOM_CHECK_RETRY_MINUTES", 10, help="Delay between check_data tries.")
    retries: int = setting("TELECOM_RETRIES", 2, help="Retries of run_batch and validate (transient failures).")
    timeout_minutes: int = setting("TELECOM_TIMEOUT_MINUTES", 30, help="Execution timeout of each pod task.")
    startup_timeout_seconds: int = setting(
        "TELECOM_STARTUP_TIMEOUT_SECONDS", 300, help="How long a pod may stay Pending (image pull on kind)."
    )
    cpu_request: str = setting("TELECOM_CPU_REQUEST", "100m", help="Batch container CPU request.")
    cpu_limit: str = setting("TELECOM_CPU_LIMIT", "500m", help="Batch container CPU limit (the work runs in SQL).")
    memory_request: str = setting("TELECOM_MEMORY_REQUEST", "128Mi", help="Batch container memory request.")
    memory_limit: str = setting("TELECOM_MEMORY_LIMIT", "256Mi", help="Batch container memory limit.")


# Airflow Variables overriding the telecom-specific names at run time (shared ones: jobs.dags.settings.VARIABLES).
VARIABLES = {"service_account": "brook_telecom_service_account", "env_secret": "brook_telecom_env_secret"}
DEFAULTS = TelecomDagSettings()


def batch_workload(cfg: TelecomDagSettings, shared: ExportDagSettings) -> Workload:
    """The chart's telecom batch DAG pod (its component lets the NetworkPolicies admit it to Postgres)."""
    return Workload(
        app="brook-telecom-batch",
        component="telecom-batch",
        pod_name="telecom",
        namespace=templated(shared, "namespace"),
        image=f"{templated(shared, 'image')}:{templated(shared, 'image_tag')}",
        service_account=templated(cfg, "service_account", VARIABLES),
        env_configmap=templated(shared, "env_configmap"),
        env_secret=templated(cfg, "env_secret", VARIABLES),
        resources=Resources.of(cfg),
        startup_timeout_seconds=cfg.startup_timeout_seconds,
    )


JOBS = {
    "check_data": Job("jobs.telecom.daily_batch", ("--date", BATCH_DATE, "--check-only")),
    "run_batch": Job("jobs.telecom.daily_batch", ("--date", BATCH_DATE)),
    "validate": Job("jobs.telecom.validate", ("--date", BATCH_DATE)),
}


@task
def notify(day: str, run: str) -> str:
    """Log the outcome; POST it to the webhook Variable when one is set (best effort).

    Not ``run_id``: Airflow refuses a parameter named like a context key when the task runs (ValueError).
    """
    line = f"telecom_daily: daily_stats for {day} recomputed and validated (run {run})"
    log.info(line)
    url = Variable.get(WEBHOOK_VARIABLE, default=None)
    if url:
        body = json.dumps({"dag_id": DAG_ID, "date": day, "run_id": run, "status": "ok", "text": line}).encode()
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                log.info("webhook answered %s", response.status)
        except OSError as err:
            log.warning("webhook %s failed: %s (the data is validated; only the notification is lost)", url, err)
    return line


def build_dag(cfg: TelecomDagSettings, shared: ExportDagSettings, runner: RunnerSettings) -> DAG:
    with DAG(
        dag_id=DAG_ID,
        description="Telecom daily_stats for the previous UTC day from real_time_metrics, validated",
        schedule=cfg.schedule if cfg.enabled() else None,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,
        params={
            "date": Param(
                None,
                type=["null", "string"],
                pattern=r"^\d{4}-\d{2}-\d{2}$",
                description="UTC date to (re)compute; empty: the day before the logical date",
            )
        },
        tags=["brook", "telecom", f"seed:{SEED_NAME}", f"runner:{runner.runner}"],
        doc_md=__doc__,
    ) as dag:
        *_, validate = check_batch_validate(JOBS, batch_workload(cfg, shared), runner, cfg)
        validate >> notify(BATCH_DATE, "{{ run_id }}")
    return dag


dag = build_dag(load(TelecomDagSettings), export_dag_settings(), runner_settings())
