"""Knobs of the ``bets_export`` DAG, and the Kubernetes names the chart must match (one place for both).

The names of the exporter pod's world (image, tag, namespace, ServiceAccount, env ConfigMap and Secret) are
resolved when the task runs, from Airflow Variables (:data:`VARIABLES`; set in the UI/metadata DB or as
``AIRFLOW_VAR_<NAME>`` environment variables), falling back to the ``BROOK_*`` variable of the process that
parsed the DAG, then to the defaults below. They are Jinja templates, so parsing the DAG never reads the metadata
database. The other knobs are plain ``BROOK_*`` settings read at parse time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jobs.common.settings import load, setting


@dataclass(frozen=True, kw_only=True)
class ExportDagSettings:
    image: str = setting("EXPORT_IMAGE", "brook/app", help="Exporter image repository (without tag).")
    image_tag: str = setting("EXPORT_IMAGE_TAG", "latest", help="Exporter image tag (the chart sets the release's).")
    namespace: str = setting("NAMESPACE", "brook", help="Namespace the exporter pod runs in.")
    service_account: str = setting(
        "EXPORT_SERVICE_ACCOUNT", "brook-exporter", help="ServiceAccount of the exporter pod."
    )
    env_configmap: str = setting("ENV_CONFIGMAP", "brook-env", help="ConfigMap of shared BROOK_* variables (envFrom).")
    env_secret: str = setting(
        "EXPORT_ENV_SECRET", "brook-exporter-env", help="Secret with the exporter's BROOK_PG_*/BROOK_S3_* (envFrom)."
    )
    schedule: str = setting("EXPORT_SCHEDULE", "*/5 * * * *", help="Cron schedule of bets_export.")
    max_rows: int = setting(
        "EXPORT_RUN_MAX_ROWS",
        5_000_000,
        help="--max-rows of each run (0: no limit); keeps a catch-up run well inside the execution timeout.",
    )
    retries: int = setting("EXPORT_RETRIES", 3, help="Task retries; a retry resumes where the failed run stopped.")
    retry_delay_seconds: int = setting("EXPORT_RETRY_DELAY_SECONDS", 30, help="First retry delay (then doubled).")
    max_retry_delay_seconds: int = setting("EXPORT_MAX_RETRY_DELAY_SECONDS", 300, help="Cap on the retry delay.")
    timeout_minutes: int = setting("EXPORT_TIMEOUT_MINUTES", 20, help="Execution timeout of one export task.")
    startup_timeout_seconds: int = setting(
        "EXPORT_STARTUP_TIMEOUT_SECONDS", 300, help="How long the pod may stay Pending (image pull on kind)."
    )
    cpu_request: str = setting("EXPORT_CPU_REQUEST", "250m", help="Exporter container CPU request.")
    cpu_limit: str = setting("EXPORT_CPU_LIMIT", "1", help="Exporter container CPU limit.")
    memory_request: str = setting("EXPORT_MEMORY_REQUEST", "256Mi", help="Exporter container memory request.")
    memory_limit: str = setting(
        "EXPORT_MEMORY_LIMIT",
        "512Mi",
        help="Exporter container memory limit (~310 MB peak with the default 2 workers and 100k-row ranges).",
    )


# Airflow Variable that overrides each templated field at run time.
VARIABLES = {
    "image": "brook_export_image",
    "image_tag": "brook_export_image_tag",
    "namespace": "brook_namespace",
    "service_account": "brook_export_service_account",
    "env_configmap": "brook_env_configmap",
    "env_secret": "brook_export_env_secret",
}

# Airflow Variable (JSON object) of BROOK_* values the local runner lays over the worker's, read when a task runs:
# another schema or bucket without restarting Airflow (jobs/dags/runners.py reads it; `make demo` sets it through
# jobs.local.airflow, which imports this name from here because runners.py needs Airflow to import).
LOCAL_ENV_VARIABLE = "brook_local_env"

DEFAULTS = ExportDagSettings()  # what the chart's names must equal (tests/charts consistency)


def export_dag_settings() -> ExportDagSettings:
    """The settings of the process parsing the DAG (BROOK_* environment, else the defaults)."""
    return load(ExportDagSettings)


def templated(settings: object, field: str, variables: Mapping[str, str] = VARIABLES) -> str:
    """A Jinja expression: the field's Airflow Variable (named in ``variables``: the shared ones by default, a
    pipeline DAG passes its own) at run time, else the parse-time setting."""
    return f"{{{{ var.value.get({variables[field]!r}, {getattr(settings, field)!r}) }}}}"


def pod_defaults(kubeconfig: str = "") -> dict[str, Any]:
    """KubernetesPodOperator arguments every Brook task pod shares: Pod Security "restricted" (non-root,
    RuntimeDefault seccomp, no privilege escalation, read-only root, no capabilities), logs streamed to Airflow, pod
    deleted only after success (a failed one stays for debugging). The API server: in-cluster (the chart's Airflow,
    with its own ServiceAccount) unless ``kubeconfig`` names a kubeconfig file (``BROOK_AIRFLOW_KUBECONFIG``: an
    Airflow outside the cluster, e.g. on the host of `make cluster`'s node)."""
    from kubernetes.client import models as k8s

    cluster: dict[str, Any] = {"in_cluster": False, "config_file": kubeconfig} if kubeconfig else {"in_cluster": True}

    return {
        "security_context": k8s.V1PodSecurityContext(
            run_as_non_root=True, seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault")
        ),
        "container_security_context": k8s.V1SecurityContext(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
        ),
        **cluster,
        "get_logs": True,
        "on_finish_action": "delete_succeeded_pod",
    }
