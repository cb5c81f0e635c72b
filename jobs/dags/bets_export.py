"""Airflow DAG ``bets_export`` (seed name: ``bets_exporter``): every 5 minutes, ``python -m jobs.bets.exporter``.

One task. Its runner follows ``BROOK_AIRFLOW_RUNNER`` (jobs/dags/runners.py): in Kubernetes a pod of the app image
with the exporter's ServiceAccount and env Secret; under ``make airflow`` a subprocess in the app venv with the
local services' env. Which schema and bucket: ``BROOK_PG_SCHEMA``/``BROOK_S3_BUCKET`` of that env. The exporter is
safe to retry and to overlap (docs/exporter.md), so retries simply resume; ``max_active_runs=1`` only avoids paying
for two runs that would share the work. Succeeded pods are deleted, failed ones kept for ``kubectl logs``. Created
unpaused: a schedule nobody has to switch on. Names and knobs: jobs/dags/settings.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG

from jobs.dags.runners import Job, Resources, RunnerSettings, Workload, job_task, runner_settings
from jobs.dags.settings import ExportDagSettings, export_dag_settings, templated

DAG_ID = "bets_export"
SEED_NAME = "bets_exporter"  # what the design card's seeds call it (docs/airflow.md)


def exporter_job(cfg: ExportDagSettings) -> Job:
    return Job("jobs.bets.exporter", ("--max-rows", str(cfg.max_rows)))


def exporter_workload(cfg: ExportDagSettings) -> Workload:
    """The chart's exporter DAG pod: its labels, ServiceAccount, env Secret and resources."""
    return Workload(
        app="brook-exporter",
        component="exporter",
        pod_name="bets",
        namespace=templated(cfg, "namespace"),
        image=f"{templated(cfg, 'image')}:{templated(cfg, 'image_tag')}",
        service_account=templated(cfg, "service_account"),
        env_configmap=templated(cfg, "env_configmap"),
        env_secret=templated(cfg, "env_secret"),
        resources=Resources.of(cfg),
        startup_timeout_seconds=cfg.startup_timeout_seconds,
    )


def build_dag(cfg: ExportDagSettings, runner: RunnerSettings) -> DAG:
    with DAG(
        dag_id=DAG_ID,
        description="Export unexported bets from Postgres to the bucket as Parquet (raw/YYYY-MM-DD/)",
        schedule=cfg.schedule,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,
        tags=["brook", "export", f"seed:{SEED_NAME}", f"runner:{runner.runner}"],
        doc_md=__doc__,
    ) as dag:
        job_task(
            "export",
            exporter_job(cfg),
            exporter_workload(cfg),
            runner,
            retries=cfg.retries,
            retry_delay=timedelta(seconds=cfg.retry_delay_seconds),
            retry_exponential_backoff=2.0,
            max_retry_delay=timedelta(seconds=cfg.max_retry_delay_seconds),
            execution_timeout=timedelta(minutes=cfg.timeout_minutes),
        )
    return dag


dag = build_dag(export_dag_settings(), runner_settings())
