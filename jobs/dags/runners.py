"""How a Brook DAG task runs: the DAG says *what* (a :class:`Job` of a :class:`Workload`), :func:`job_task` *how*.

One definition per task, two runners, chosen by ``BROOK_AIRFLOW_RUNNER`` in the environment of the process that
parses the DAG (the dag processor, and the worker that re-parses it to run a task):

- ``kubernetes`` (default; the Airflow image in the chart): a KubernetesPodOperator running the job in the app
  image, with the workload's ServiceAccount, labels (the chart's NetworkPolicies select on the component), env
  ConfigMap and Secret, resources and the hardened :func:`jobs.dags.settings.pod_defaults`;
- ``local`` (``make airflow``): a :class:`LocalJobOperator` running the same ``python -m <module> <args>`` with
  ``BROOK_AIRFLOW_PYTHON`` (the app venv's interpreter) and the worker's ``BROOK_*`` variables, i.e. the local
  services' endpoints and credentials that ``jobs.local.airflow`` gave the Airflow processes, under the Airflow
  Variable ``brook_local_env`` if set (a JSON object of ``BROOK_*`` values, e.g. another schema and bucket).

A :class:`Job` may set a few variables of its own (``env``), for a task whose settings differ from its workload's,
e.g. the cinema DAG, whose generator writes the OLTP database while dbt reads the warehouse. A value may name
another variable as ``$(NAME)``, expanded from the task's environment: in a pod by the kubelet (the container's
``env`` after its ``envFrom``: Kubernetes' dependent variables), locally by :func:`expand` with the same rule. A
name the environment lacks stays as written in a pod (the chart's tests check it defines every one); the local
runner fails the task naming it instead (:func:`unresolved`). So one task definition maps, say, ``BROOK_PG_HOST``
to ``$(BROOK_CINEMA_OLTP_PG_HOST)`` and means the same thing in both modes, with no value written in the DAG.

Both runners get the same ``cmds`` + ``arguments`` and ``env`` (tests/integration/test_airflow_runners.py renders
every task of every DAG in both modes and compares them). Nothing here imports the Kubernetes provider unless the
kubernetes runner is chosen, so the local dag processor parses without loading the Kubernetes client.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, Variable
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from jobs.common.settings import ConfigError, load, setting
from jobs.dags.settings import LOCAL_ENV_VARIABLE, pod_defaults

if TYPE_CHECKING:
    from airflow.sdk import Context

KUBERNETES, LOCAL = "kubernetes", "local"
CONFIG_ERROR_EXIT = 2  # jobs.common.cli: bad configuration, which no retry fixes
SUMMARY_KEY = "brook_summary"  # jobs.common.cli.SUMMARY_KEY: a job's last machine-readable line
# What a local job inherits besides BROOK_*: enough to find programs, a home, a locale and a temp dir.
PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
TAIL_LINES = 30
REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")  # Kubernetes' $(NAME) in an env value


@dataclass(frozen=True, kw_only=True)
class RunnerSettings:
    runner: str = setting(
        "AIRFLOW_RUNNER",
        KUBERNETES,
        help="How DAG tasks run: kubernetes (a pod per task) or local (a subprocess on the Airflow worker).",
        choices=(KUBERNETES, LOCAL),
    )
    python: str = setting(
        "AIRFLOW_PYTHON", "python", help="Interpreter of the local runner (make airflow: the app venv's python)."
    )
    dag_pod_external_env: str = setting(
        "DAG_POD_EXTERNAL_ENV",
        "{}",
        help="JSON object: per DAG-pod component, the env entries (valueFrom.secretKeyRef) carrying the logins of "
        "kafka/postgres/s3.external that stay in the user's Secrets (the chart's brook-airflow-env sets it).",
    )

    kubeconfig: str = setting(
        "AIRFLOW_KUBECONFIG",
        "",
        help="Kubeconfig file of the cluster the kubernetes runner starts pods in; empty: in-cluster (the chart's "
        "Airflow, by its ServiceAccount). Set it for an Airflow outside the cluster (docs/kubernetes.md).",
    )

    def __post_init__(self) -> None:
        self.external_env("")  # a malformed value fails when the DAG is parsed, naming the variable
        if self.runner == KUBERNETES and self.kubeconfig and not os.path.isfile(self.kubeconfig):
            raise ConfigError(
                f"BROOK_AIRFLOW_KUBECONFIG={self.kubeconfig!r} is not a file: name the cluster's kubeconfig "
                "(e.g. make cluster's admin kubeconfig), or leave it empty for an Airflow inside the cluster"
            )

    def external_env(self, component: str) -> list[dict[str, Any]]:
        """The extra env entries of ``component``'s pods (none unless the chart uses an external service)."""
        fix = "it must be a JSON object of component → list of env entries; the chart's brook-airflow-env sets it"
        try:
            value = json.loads(self.dag_pod_external_env)
        except ValueError as err:
            raise ConfigError(f"BROOK_DAG_POD_EXTERNAL_ENV is not JSON ({err}): {fix}") from None
        if not isinstance(value, dict) or not all(
            isinstance(entries, list) and all(isinstance(e, dict) and "name" in e for e in entries)
            for entries in value.values()
        ):
            raise ConfigError(f"BROOK_DAG_POD_EXTERNAL_ENV={self.dag_pod_external_env!r}: {fix}")
        return value.get(component, [])


@dataclass(frozen=True, kw_only=True)
class Resources:
    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str

    @classmethod
    def of(cls, cfg: object) -> Resources:
        """The four fields of a DAG's settings object that has them (``<NAME>_CPU_REQUEST`` and so on)."""
        return cls(**{f: getattr(cfg, f) for f in ("cpu_request", "cpu_limit", "memory_request", "memory_limit")})


@dataclass(frozen=True, kw_only=True)
class Workload:
    """Who runs a job in Kubernetes: the chart's ``pipelines.<name>.workloads.<component>.dagPod``.

    Names may be Jinja templates (resolved when the task runs, from Airflow Variables; jobs/dags/settings.py).
    The local runner ignores all of it but nothing else: a laptop has no ServiceAccounts or NetworkPolicies.
    """

    app: str  # app.kubernetes.io/name
    component: str  # app.kubernetes.io/component: what the chart's NetworkPolicies admit to Postgres/MinIO
    pod_name: str  # pod name prefix; the task id is appended
    namespace: str
    image: str
    service_account: str
    env_configmap: str
    env_secret: str
    resources: Resources
    startup_timeout_seconds: int
    scratch: str = ""  # mount path of an emptyDir for a job that writes files (the root filesystem is read-only)

    def labels(self) -> dict[str, str]:
        return {
            "app.kubernetes.io/name": self.app,
            "app.kubernetes.io/component": self.component,
            "app.kubernetes.io/part-of": "brook",
        }


@dataclass(frozen=True)
class Job:
    """What a task runs: ``python -m <module> <args>`` (args may be Jinja templates, e.g. the batch date), with
    ``env`` laid over its workload's environment (values may reference other variables as ``$(NAME)``)."""

    module: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def cmds(self) -> list[str]:
        return ["python", "-m", self.module]


def pipeline_enabled(pipelines: str, name: str) -> bool:
    """Whether ``BROOK_PIPELINES`` (comma-separated; empty: all) includes ``name``. A DAG of a pipeline the
    deployment leaves out is kept for manual runs but schedules none (its ServiceAccount and Secret do not exist)."""
    return not pipelines.strip() or name in {p.strip() for p in pipelines.split(",")}


def runner_settings() -> RunnerSettings:
    """The runner of the process parsing the DAG (``BROOK_AIRFLOW_*``, else kubernetes)."""
    return load(RunnerSettings)


def job_task(task_id: str, job: Job, workload: Workload, runner: RunnerSettings, **task_kwargs: Any) -> BaseOperator:
    """The task that runs ``job``: a pod in Kubernetes, a subprocess locally; retries etc. go to either as given."""
    if runner.runner == LOCAL:
        return LocalJobOperator(
            task_id=task_id,
            cmds=job.cmds,
            arguments=list(job.args),
            python=runner.python,
            env=dict(job.env),
            **task_kwargs,
        )
    return pod_task(
        task_id,
        job,
        workload,
        external_env=runner.external_env(workload.component),
        kubeconfig=runner.kubeconfig,
        **task_kwargs,
    )


def check_batch_validate(
    jobs: Mapping[str, Job], workload: Workload, runner: RunnerSettings, cfg: Any
) -> tuple[BaseOperator, BaseOperator, BaseOperator]:
    """The daily-batch shape (telecom_daily, ecommerce_daily): ``jobs`` holds three steps in order, a check that
    behaves like a sensor (``cfg.check_retries`` tries, ``cfg.check_retry_minutes`` apart), the batch and its
    validation (``cfg.retries`` with exponential backoff); each under ``cfg.timeout_minutes``. Returned chained."""
    from datetime import timedelta

    (check_id, check_job), (batch_id, batch_job), (validate_id, validate_job) = jobs.items()
    timeout = {"execution_timeout": timedelta(minutes=cfg.timeout_minutes)}
    sensor_like = {"retries": cfg.check_retries, "retry_delay": timedelta(minutes=cfg.check_retry_minutes)}
    backoff = {"retries": cfg.retries, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": 2.0}
    check = job_task(check_id, check_job, workload, runner, **timeout, **sensor_like)
    batch = job_task(batch_id, batch_job, workload, runner, **timeout, **backoff)
    validate = job_task(validate_id, validate_job, workload, runner, **timeout, **backoff)
    check >> batch >> validate
    return check, batch, validate


def pod_task(
    task_id: str,
    job: Job,
    workload: Workload,
    external_env: Sequence[Mapping[str, Any]] = (),
    kubeconfig: str = "",
    **task_kwargs: Any,
) -> BaseOperator:
    """A KubernetesPodOperator: the app image, non-root and read-only, env from the workload's ConfigMap/Secret,
    plus ``external_env`` (:meth:`RunnerSettings.external_env`: logins read from the user's own Secrets); started
    through ``kubeconfig`` if given, else in-cluster (:func:`jobs.dags.settings.pod_defaults`)."""
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from kubernetes.client import models as k8s

    res = workload.resources
    scratch = (
        {
            "volumes": [k8s.V1Volume(name="scratch", empty_dir=k8s.V1EmptyDirVolumeSource(size_limit="1Gi"))],
            "volume_mounts": [k8s.V1VolumeMount(name="scratch", mount_path=workload.scratch)],
        }
        if workload.scratch
        else {}
    )
    return KubernetesPodOperator(
        task_id=task_id,
        name=f"{workload.pod_name}-{task_id.replace('_', '-')}",
        namespace=workload.namespace,
        image=workload.image,
        cmds=job.cmds,
        arguments=list(job.args),
        env_vars=[k8s.V1EnvVar(name=name, value=value) for name, value in job.env.items()] or None,
        pod_template_dict={
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {},
            "spec": {
                "serviceAccountName": workload.service_account,
                "automountServiceAccountToken": False,  # Brook's jobs never call the Kubernetes API
                "containers": [
                    {
                        "name": KubernetesPodOperator.BASE_CONTAINER_NAME,
                        "envFrom": [
                            {"configMapRef": {"name": workload.env_configmap}},
                            {"secretRef": {"name": workload.env_secret}},
                        ],
                        **({"env": [dict(entry) for entry in external_env]} if external_env else {}),
                    }
                ],
            },
        },
        labels=workload.labels(),
        container_resources=k8s.V1ResourceRequirements(
            requests={"cpu": res.cpu_request, "memory": res.memory_request},
            limits={"cpu": res.cpu_limit, "memory": res.memory_limit},
        ),
        **pod_defaults(kubeconfig),
        startup_timeout_seconds=workload.startup_timeout_seconds,
        **scratch,
        **task_kwargs,
    )


def job_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """What a local job sees: the worker's ``BROOK_*`` (like a pod's envFrom) and a few basics, nothing of Airflow's."""
    return {k: v for k, v in environ.items() if k.startswith("BROOK_") or k in PASSTHROUGH}


def expand(env: Mapping[str, str], base: Mapping[str, str]) -> dict[str, str]:
    """``env`` with each ``$(NAME)`` replaced by ``base[NAME]``, as the kubelet does; an unknown name stays as is."""
    return {name: REFERENCE.sub(lambda ref: base.get(ref.group(1), ref.group(0)), value) for name, value in env.items()}


def unresolved(env: Mapping[str, str]) -> list[str]:
    """The ``$(NAME)`` references left in ``env`` after :func:`expand`: names its environment does not set."""
    return sorted({name for value in env.values() for name in REFERENCE.findall(value)})


def local_overrides(value: object) -> dict[str, str]:
    """The ``brook_local_env`` Variable as environment; a value that is not an object of BROOK_* keys is refused."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(str(key).startswith("BROOK_") for key in value):
        raise AirflowFailException(f"Airflow Variable {LOCAL_ENV_VARIABLE} must be a JSON object of BROOK_* values")
    return {str(key): str(item) for key, item in value.items()}


def last_summary(lines: Iterable[str]) -> dict[str, Any] | None:
    """The job's last ``{"brook_summary": ...}`` line (jobs.common.cli), if it printed one."""
    found = None
    for line in lines:
        if line.startswith("{") and SUMMARY_KEY in line:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                found = value
    return found


class LocalJobOperator(BaseOperator):
    """Run a Brook job as a subprocess of the Airflow worker, its output streamed into the task log.

    Exit 0: success, the job's summary line becomes the task's XCom. Exit 2 (bad configuration): the task fails
    without retries, since waiting cannot fix a setting. Any other exit: the task fails and is retried like a pod
    would be. Either failure carries the tail of the job's stderr in its message, so the UI's task log shows why.
    """

    template_fields: Sequence[str] = ("cmds", "arguments", "env")
    ui_color = "#e8f1f8"

    def __init__(
        self, *, cmds: list[str], arguments: list[str], python: str, env: dict[str, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.cmds, self.arguments, self.python, self.env = cmds, arguments, python, dict(env or {})
        self._proc: subprocess.Popen[str] | None = None

    def argv(self) -> list[str]:
        """``cmds`` + ``arguments`` with ``python`` replaced by the configured interpreter."""
        head = [self.python if part == "python" else part for part in self.cmds[:1]] + list(self.cmds[1:])
        return head + [str(arg) for arg in self.arguments]

    def execute(self, context: Context) -> dict[str, Any] | None:
        argv = self.argv()
        overrides = local_overrides(Variable.get(LOCAL_ENV_VARIABLE, default=None, deserialize_json=True))
        if overrides:
            self.log.info("Variable %s sets %s", LOCAL_ENV_VARIABLE, ", ".join(sorted(overrides)))
        base = {**job_environment(os.environ), **overrides}
        own = expand(self.env, base)
        if missing := unresolved(own):
            # A pod would get the reference as a literal value and fail later and vaguely; here the cause is known.
            raise AirflowFailException(
                f"task {self.task_id} maps its environment from {', '.join(missing)}, which the Airflow worker's "
                f"environment and the Airflow Variable {LOCAL_ENV_VARIABLE} do not set: set them in either"
            )
        if own:
            self.log.info("task environment sets %s", ", ".join(sorted(own)))
        self.log.info("running %s", shlex.join(argv))
        stdout: deque[str] = deque(maxlen=TAIL_LINES)
        stderr: deque[str] = deque(maxlen=TAIL_LINES)
        self._proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**base, **own},
        )
        try:
            errors = threading.Thread(target=self._pump, args=(self._proc.stderr, stderr, "stderr"), daemon=True)
            errors.start()
            self._pump(self._proc.stdout, stdout, "stdout")
            code = self._proc.wait()
            errors.join()
        finally:
            self._kill()  # a timeout or a kill of this task must not leave the job running
        return self._outcome(argv, code, stdout, stderr)

    def _pump(self, stream: Any, tail: deque[str], name: str) -> None:
        """Copy one output stream of the job into the task log, keeping its last lines for the failure message."""
        for raw in stream:
            line = raw.rstrip("\n")
            tail.append(line)
            if name == "stderr":
                self.log.warning("[%s] %s", name, line)
            else:
                self.log.info("[%s] %s", name, line)

    def _outcome(self, argv: list[str], code: int, stdout: deque[str], stderr: deque[str]) -> dict[str, Any] | None:
        if code == 0:
            summary = last_summary(stdout)
            self.log.info("%s done: %s", argv[2] if len(argv) > 2 else argv[0], summary)
            return summary
        message = f"{shlex.join(argv)} exited with code {code}; its stderr ends with:\n" + "\n".join(stderr)
        if code == CONFIG_ERROR_EXIT:
            raise AirflowFailException(message + "\n(configuration error: not retried)")
        raise AirflowException(message)

    def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def on_kill(self) -> None:
        self._kill()
