"""Airflow DAG ``bets_export``: every 5 minutes, the exporter (``python -m jobs.bets.exporter``) in its own pod.

One KubernetesPodOperator task. The exporter is safe to retry and to overlap (docs/exporter.md), so retries
simply resume; ``max_active_runs=1`` only avoids paying for two pods that would share the work. Succeeded pods are
deleted, failed ones kept for ``kubectl logs``. Names and knobs: jobs/dags/settings.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import DAG
from kubernetes.client import models as k8s

from jobs.dags.settings import ExportDagSettings, export_dag_settings, pod_defaults, templated

DAG_ID = "bets_export"
EXPORTER_CMD = ["python", "-m", "jobs.bets.exporter"]
POD_LABELS = {
    "app.kubernetes.io/name": "brook-exporter",
    "app.kubernetes.io/component": "exporter",
    "app.kubernetes.io/part-of": "brook",
}


def pod_template(cfg: ExportDagSettings) -> dict:
    """The pod fields the operator does not template itself (ServiceAccount, Secret envFrom), as a templated dict."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {},
        "spec": {
            "serviceAccountName": templated(cfg, "service_account"),
            "automountServiceAccountToken": False,  # the exporter never calls the Kubernetes API
            "containers": [
                {
                    "name": KubernetesPodOperator.BASE_CONTAINER_NAME,
                    "envFrom": [
                        {"configMapRef": {"name": templated(cfg, "env_configmap")}},
                        {"secretRef": {"name": templated(cfg, "env_secret")}},
                    ],
                }
            ],
        },
    }


def export_task(cfg: ExportDagSettings) -> KubernetesPodOperator:
    return KubernetesPodOperator(
        task_id="export",
        name="bets-export",
        namespace=templated(cfg, "namespace"),
        image=f"{templated(cfg, 'image')}:{templated(cfg, 'image_tag')}",
        cmds=EXPORTER_CMD,
        arguments=["--max-rows", str(cfg.max_rows)],
        pod_template_dict=pod_template(cfg),
        labels=POD_LABELS,
        container_resources=k8s.V1ResourceRequirements(
            requests={"cpu": cfg.cpu_request, "memory": cfg.memory_request},
            limits={"cpu": cfg.cpu_limit, "memory": cfg.memory_limit},
        ),
        **pod_defaults(),
        startup_timeout_seconds=cfg.startup_timeout_seconds,
        retries=cfg.retries,
        retry_delay=timedelta(seconds=cfg.retry_delay_seconds),
        retry_exponential_backoff=2.0,
        max_retry_delay=timedelta(seconds=cfg.max_retry_delay_seconds),
        execution_timeout=timedelta(minutes=cfg.timeout_minutes),
    )


def build_dag(cfg: ExportDagSettings) -> DAG:
    with DAG(
        dag_id=DAG_ID,
        description="Export unexported bets from Postgres to the bucket as Parquet (raw/YYYY-MM-DD/)",
        schedule=cfg.schedule,
        start_date=datetime(2026, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        tags=["brook", "export"],
        doc_md=__doc__,
    ) as dag:
        export_task(cfg)
    return dag


dag = build_dag(export_dag_settings())
