"""Airflow DAG ``ecommerce_daily`` (seed 003's Spark + Livy batch): at 03:00 UTC, the previous UTC day's e-commerce
logs → the PyFlink batch → validation against a Python recount → notify.

check_files → run_batch → validate → notify. The first three run ``jobs.ecommerce.batch --check-only``,
``jobs.ecommerce.batch`` and ``jobs.ecommerce.validate`` through the runner of ``BROOK_AIRFLOW_RUNNER``
(jobs/dags/runners.py): in Kubernetes as KubernetesPodOperator pods of the Flink job image (the batch is PyFlink's local
mini-cluster inside that pod: a bounded job of a few hundred MB needs no JobManager of its own; docs/ecommerce.md
says why not a FlinkDeployment); under ``make airflow`` as subprocesses with the local services' env.
check_files behaves like a sensor: it fails while a file of the day is missing and is retried every
``BROOK_ECOMMERCE_CHECK_RETRY_MINUTES``.

Which date: the day before the run's logical date (``macros.ds_add(ds, -1)``), or the ``date`` param of a manual
run. Backfill a range: ``airflow backfill create --dag-id ecommerce_daily --from-date D+1 --to-date E+1`` processes
D..E (one run per day, ``max_active_runs`` at a time); the batch replaces a date's rows in one transaction, so a
backfill over processed days is safe. notify logs the outcome.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from airflow.sdk import DAG, Param, task

from jobs.common.settings import load, setting
from jobs.dags.runners import (
    Job,
    Resources,
    RunnerSettings,
    Workload,
    check_batch_validate,
    pipeline_enabled,
    runner_settings,
)
from jobs.dags.settings import ExportDagSettings, export_dag_settings, templated

DAG_ID = "ecommerce_daily"
BATCH_DATE = "{{ params.date or macros.ds_add(ds, -1) }}"
log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class EcommerceDagSettings:
    service_account: str = setting(
        "ECOMMERCE_SERVICE_ACCOUNT", "brook-ecommerce-batch", help="ServiceAccount of the e-commerce batch pods."
    )
    env_secret: str = setting(
        "ECOMMERCE_ENV_SECRET",
        "brook-ecommerce-env",
        help="Secret with the e-commerce workload's BROOK_PG_* and BROOK_S3_* (envFrom).",
    )
    image: str = setting(
        "ECOMMERCE_IMAGE",
        "brook/flink-job",
        help="Image of the batch pods: PyFlink needs Java and Flink's s3-fs-hadoop plugin, which the Flink job image "
        "has (/opt/flink/plugins) and the app image does not.",
    )
    image_tag: str = setting(
        "ECOMMERCE_IMAGE_TAG", "latest", help="Tag of the batch image (skaffold sets the one it built)."
    )
    schedule: str = setting("ECOMMERCE_SCHEDULE", "0 3 * * *", help="Cron schedule of ecommerce_daily (UTC).")
    pipelines: str = setting(
        "PIPELINES",
        "",
        help="Comma-separated pipelines the deployment runs (the chart's brook-airflow-env); empty: all. Without "
        "ecommerce the DAG is kept for manual runs but schedules none.",
    )
    check_retries: int = setting("ECOMMERCE_CHECK_RETRIES", 6, help="check_files retries while a file is missing.")
    check_retry_minutes: int = setting("ECOMMERCE_CHECK_RETRY_MINUTES", 10, help="Delay between check_files tries.")
    retries: int = setting("ECOMMERCE_RETRIES", 2, help="Retries of run_batch and validate (transient failures).")
    max_active_runs: int = setting("ECOMMERCE_MAX_ACTIVE_RUNS", 1, help="Days processed at once (backfills).")
    timeout_minutes: int = setting("ECOMMERCE_TIMEOUT_MINUTES", 60, help="Execution timeout of each pod task.")
    startup_timeout_seconds: int = setting(
        "ECOMMERCE_STARTUP_TIMEOUT_SECONDS", 300, help="How long a pod may stay Pending (image pull on kind)."
    )
    cpu_request: str = setting("ECOMMERCE_CPU_REQUEST", "500m", help="Batch container CPU request.")
    cpu_limit: str = setting("ECOMMERCE_CPU_LIMIT", "2", help="Batch container CPU limit (Flink's mini-cluster).")
    memory_request: str = setting("ECOMMERCE_MEMORY_REQUEST", "1536Mi", help="Batch container memory request.")
    memory_limit: str = setting(
        "ECOMMERCE_MEMORY_LIMIT", "2Gi", help="Batch container memory limit (a JVM with Flink's mini-cluster)."
    )


VARIABLES = {"service_account": "brook_ecommerce_service_account", "env_secret": "brook_ecommerce_env_secret"}
DEFAULTS = EcommerceDagSettings()


def batch_workload(cfg: EcommerceDagSettings, shared: ExportDagSettings) -> Workload:
    """The chart's e-commerce batch DAG pod: component ``ecommerce-batch`` (admitted to Postgres and MinIO), a
    scratch emptyDir on /tmp (Flink's temp files and PyFlink's gateway files; the root filesystem is read-only)."""
    return Workload(
        app="brook-ecommerce-batch",
        component="ecommerce-batch",
        pod_name="ecommerce",
        namespace=templated(shared, "namespace"),
        image=f"{cfg.image}:{cfg.image_tag}",
        service_account=templated(cfg, "service_account", VARIABLES),
        env_configmap=templated(shared, "env_configmap"),
        env_secret=templated(cfg, "env_secret", VARIABLES),
        resources=Resources.of(cfg),
        startup_timeout_seconds=cfg.startup_timeout_seconds,
        scratch="/tmp",
    )


JOBS = {
    "check_files": Job("jobs.ecommerce.batch", ("--date", BATCH_DATE, "--check-only")),
    "run_batch": Job("jobs.ecommerce.batch", ("--date", BATCH_DATE)),
    "validate": Job("jobs.ecommerce.validate", ("--date", BATCH_DATE)),
}


@task
def notify(day: str, run: str) -> str:
    """Log the outcome (the jobs' own summaries are in their task logs). Not ``run_id``: a context key."""
    line = f"ecommerce_daily: {day} computed from s3 and validated against the Python recount (run {run})"
    log.info(line)
    return line


def build_dag(cfg: EcommerceDagSettings, shared: ExportDagSettings, runner: RunnerSettings) -> DAG:
    with DAG(
        dag_id=DAG_ID,
        description="E-commerce day logs in MinIO → PyFlink batch → Postgres, validated by a Python recount",
        schedule=cfg.schedule if pipeline_enabled(cfg.pipelines, "ecommerce") else None,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=cfg.max_active_runs,
        is_paused_upon_creation=False,
        params={
            "date": Param(
                None,
                type=["null", "string"],
                pattern=r"^\d{4}-\d{2}-\d{2}$",
                description="UTC date to (re)compute; empty: the day before the logical date",
            )
        },
        tags=["brook", "ecommerce", "seed:ecommerce-batch-pipeline", f"runner:{runner.runner}"],
        doc_md=__doc__,
    ) as dag:
        *_, validate = check_batch_validate(JOBS, batch_workload(cfg, shared), runner, cfg)
        validate >> notify(BATCH_DATE, "{{ run_id }}")
    return dag


dag = build_dag(load(EcommerceDagSettings), export_dag_settings(), runner_settings())
