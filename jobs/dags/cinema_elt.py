"""Airflow DAG ``cinema_elt`` (seed 004's ``cinema_elt``): generate → wait for replication lag zero → ``dbt build``
→ notify, once a day (docs/cinema.md).

Every step is one :class:`jobs.dags.runners.Job` run by the runner of ``BROOK_AIRFLOW_RUNNER``: in Kubernetes a pod
per task (generator and lag check in the app image, dbt in the dbt image ``images/dbt``), locally ``python -m`` in
the app venv. The tasks share the env Secret ``brook-cinema-env`` (locally: the worker's environment or the
``brook_local_env`` Variable), which names both databases apart (``BROOK_CINEMA_OLTP_PG_*``,
``BROOK_CINEMA_WAREHOUSE_PG_*``: jobs/cinema/databases.py); each task's ``env`` maps the one it needs onto
``BROOK_PG_*``: the generator writes the OLTP, dbt reads the warehouse, the lag check reads both. Each has its own
component (the NetworkPolicies admit the generator to the OLTP only, dbt to the warehouse only) and ServiceAccount.

A run generates one simulated day (the logical date, ``BROOK_CINEMA_VIEWERS`` new viewers, seed = the date), so a
rerun of the same date stores nothing twice (the loader skips known event ids). The lag check is retried while
the warehouse catches up; ``dbt build`` fails the run when a dbt test fails. Created unpaused; scheduled only when
``BROOK_PIPELINES`` is empty or lists ``cinema`` (else its ServiceAccounts and Secret do not exist).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, task

from jobs.cinema.databases import OLTP, WAREHOUSE, pg_env_from
from jobs.common.settings import load, setting
from jobs.dags.runners import Job, Resources, RunnerSettings, Workload, job_task, runner_settings
from jobs.dags.settings import ExportDagSettings, export_dag_settings, templated

DAG_ID = "cinema_elt"
SEED_NAME = "cinema_elt"  # seed 004 (docs/airflow.md)
DAY = "{{ ds }}"
log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class CinemaDagSettings:
    env_secret: str = setting(
        "CINEMA_ENV_SECRET",
        "brook-cinema-env",
        help="Secret with BROOK_CINEMA_OLTP_PG_* and BROOK_CINEMA_WAREHOUSE_PG_* (envFrom of every cinema pod).",
    )
    service_account_prefix: str = setting(
        "CINEMA_SERVICE_ACCOUNT_PREFIX",
        "brook-cinema",
        help="ServiceAccounts of the cinema pods: <prefix>-generator, <prefix>-lag, <prefix>-dbt.",
    )
    dbt_image: str = setting("CINEMA_DBT_IMAGE", "brook/dbt", help="Image of the dbt build pod (images/dbt).")
    dbt_image_tag: str = setting(
        "CINEMA_DBT_IMAGE_TAG", "latest", help="Tag of the dbt image (skaffold sets the one it built)."
    )
    schedule: str = setting("CINEMA_SCHEDULE", "0 1 * * *", help="Cron schedule of cinema_elt (UTC).")
    pipelines: str = setting(
        "PIPELINES",
        "",
        help="Comma-separated pipelines the deployment runs (the chart's brook-airflow-env); empty: all. Without "
        "cinema the DAG is kept for manual runs but schedules none (its ServiceAccounts and Secret do not exist).",
    )
    viewers: int = setting("CINEMA_VIEWERS", 40, help="New viewers the generator simulates per run (one day).")
    lag_timeout_seconds: int = setting(
        "CINEMA_LAG_TIMEOUT_SECONDS", 300, help="How long one lag check waits for lag zero before failing."
    )
    lag_retries: int = setting("CINEMA_LAG_RETRIES", 3, help="Retries of the lag check (the warehouse catching up).")
    retries: int = setting("CINEMA_RETRIES", 2, help="Retries of the generator and dbt build (transient failures).")
    timeout_minutes: int = setting("CINEMA_TIMEOUT_MINUTES", 30, help="Execution timeout of each pod task.")
    startup_timeout_seconds: int = setting(
        "CINEMA_STARTUP_TIMEOUT_SECONDS", 300, help="How long a pod may stay Pending (image pull on kind)."
    )

    def enabled(self) -> bool:
        return not self.pipelines.strip() or "cinema" in {p.strip() for p in self.pipelines.split(",")}


def jobs(cfg: CinemaDagSettings) -> dict[str, Job]:
    """Per step: the module and arguments and the database settings it needs (one definition for both runners)."""
    return {
        "generate": Job(
            "jobs.cinema.generator",
            ("--viewers", str(cfg.viewers), "--days", "1", "--start", DAY, "--seed", "{{ ds | replace('-', '') }}"),
            env=pg_env_from(OLTP),
        ),
        "wait_for_replication": Job("jobs.cinema.lag_check", ("--timeout", str(cfg.lag_timeout_seconds))),
        "dbt_build": Job("jobs.cinema.marts", env=pg_env_from(WAREHOUSE)),
    }


@dataclass(frozen=True, kw_only=True)
class Step:
    """Where a step runs in Kubernetes: its component (chart: pipelines.cinema.workloads.<component>), image, size."""

    component: str
    image: str  # "app" (brook/app) or "dbt" (brook/dbt)
    resources: Resources
    scratch: str = ""  # a writable emptyDir (dbt writes target/ and logs/ into a temp folder per run)


STEPS = {
    "generate": Step(
        component="cinema-generator",
        image="app",
        resources=Resources(cpu_request="100m", cpu_limit="1", memory_request="128Mi", memory_limit="512Mi"),
    ),
    "wait_for_replication": Step(
        component="cinema-lag",
        image="app",
        resources=Resources(cpu_request="50m", cpu_limit="250m", memory_request="64Mi", memory_limit="128Mi"),
    ),
    "dbt_build": Step(
        component="cinema-dbt",
        image="dbt",
        resources=Resources(cpu_request="250m", cpu_limit="1", memory_request="256Mi", memory_limit="1Gi"),
        scratch="/tmp",
    ),
}


def workload(step: str, cfg: CinemaDagSettings, shared: ExportDagSettings) -> Workload:
    """The chart's ``pipelines.cinema.workloads.<component>`` DAG pod of one step."""
    spec = STEPS[step]
    app = f"{templated(shared, 'image')}:{templated(shared, 'image_tag')}"
    return Workload(
        app=f"brook-{spec.component}",
        component=spec.component,
        pod_name="cinema",
        namespace=templated(shared, "namespace"),
        image=app if spec.image == "app" else f"{cfg.dbt_image}:{cfg.dbt_image_tag}",
        service_account=f"{cfg.service_account_prefix}-{spec.component.removeprefix('cinema-')}",
        env_configmap=templated(shared, "env_configmap"),
        env_secret=cfg.env_secret,
        resources=spec.resources,
        startup_timeout_seconds=cfg.startup_timeout_seconds,
        scratch=spec.scratch,
    )


@task
def notify(day: str) -> str:
    """Log the outcome: reached only when the day was generated, replicated and every dbt model and test passed."""
    line = f"cinema_elt: {day} generated, replicated, and its marts built and tested"
    log.info(line)
    return line


def build_dag(cfg: CinemaDagSettings, shared: ExportDagSettings, runner: RunnerSettings) -> DAG:
    with DAG(
        dag_id=DAG_ID,
        description="Cinema ELT: generator → OLTP → logical replication → dbt marts in the warehouse",
        schedule=cfg.schedule if cfg.enabled() else None,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,
        tags=["brook", "cinema", f"seed:{SEED_NAME}", f"runner:{runner.runner}"],
        doc_md=__doc__,
    ) as dag:
        timeout = {"execution_timeout": timedelta(minutes=cfg.timeout_minutes)}
        backoff = {"retries": cfg.retries, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": 2.0}
        lag_retry = {"retries": cfg.lag_retries, "retry_delay": timedelta(minutes=1)}
        tasks = {
            step: job_task(
                step, job, workload(step, cfg, shared), runner, **timeout,
                **(lag_retry if step == "wait_for_replication" else backoff),
            )
            for step, job in jobs(cfg).items()
        }  # fmt: skip
        tasks["generate"] >> tasks["wait_for_replication"] >> tasks["dbt_build"] >> notify(DAY)
    return dag


dag = build_dag(load(CinemaDagSettings), export_dag_settings(), runner_settings())
