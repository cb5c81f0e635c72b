"""Airflow from PyPI on the host driving the real node (`make k8s-e2e`'s Airflow step, issue 12).

The chart's Airflow image cannot run here (its official base is not obtainable; docs/kubernetes.md), so the pinned
Airflow of `make python` (.brook/venv/airflow) runs a DAG with ``airflow dags test`` in a private AIRFLOW_HOME
(SQLite metadata), the kubernetes runner, and ``BROOK_AIRFLOW_KUBECONFIG`` naming a kubeconfig whose user is the
ServiceAccount the chart's Role ``brook-pod-launcher`` grants pods to (``airflow-worker``): what a host Airflow may
do in the release's namespace is exactly what the chart gives the in-cluster one, not cluster-admin.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.k8s_node.conftest import ok
from tools.cluster.node import Cluster
from tools.versions import ROOT, brook_home

AIRFLOW_BIN = brook_home() / "venv" / "airflow" / "bin"
DAGS = ROOT / "jobs" / "dags"
LAUNCHER = "airflow-worker"  # one of the chart's airflow.podLauncherServiceAccounts (values.yaml)


def launcher_kubeconfig(cluster: Cluster, namespace: str, path: Path, hours: int = 1) -> Path:
    """A kubeconfig for ServiceAccount ``LAUNCHER`` of ``namespace`` (created here; the chart binds its Role to
    the name, not the object), with a token from the TokenRequest API and the admin kubeconfig's server and CA."""
    ok(cluster.kubectl("create", "serviceaccount", LAUNCHER, "-n", namespace))
    token = ok(cluster.kubectl("create", "token", LAUNCHER, "-n", namespace, f"--duration={hours}h")).strip()
    admin = json.loads(ok(cluster.kubectl("config", "view", "--raw", "--minify", "-o", "json")))
    [server] = admin["clusters"]
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "launcher",
        "clusters": [{"name": "node", "cluster": server["cluster"]}],
        "users": [{"name": LAUNCHER, "user": {"token": token}}],
        "contexts": [{"name": "launcher", "context": {"cluster": "node", "user": LAUNCHER, "namespace": namespace}}],
    }  # fmt: skip
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return path


@dataclass
class DagRun:
    """What ``airflow dags test`` printed and the pods seen in the namespace while it ran (the succeeded pod is
    deleted by the operator's ``on_finish_action``, so it is watched, not looked up afterwards)."""

    returncode: int
    output: str
    pods: dict[str, dict] = field(default_factory=dict)  # name → last seen object


def run_dag(
    cluster: Cluster,
    namespace: str,
    dag_id: str,
    logical_date: str,
    home: Path,
    brook_env: Mapping[str, str],
    variables: Mapping[str, str],
    selector: str,
    timeout: float = 900,
) -> DagRun:
    """``airflow db migrate`` then ``airflow dags test <dag_id> <logical_date>`` with only ``brook_env`` (BROOK_*)
    and ``variables`` (Airflow Variables as AIRFLOW_VAR_*) from this test, while polling the pods matching
    ``selector`` every second."""
    env = {
        "PATH": f"{AIRFLOW_BIN}:{os.environ['PATH']}",
        "HOME": str(home),
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        **brook_env,
        **{f"AIRFLOW_VAR_{name.upper()}": value for name, value in variables.items()},
    }
    airflow = str(AIRFLOW_BIN / "airflow")
    if not os.access(airflow, os.X_OK):
        raise FileNotFoundError(f"{airflow} missing: run `make python` (the Airflow venv; `make k8s-e2e` does)")
    migrate = subprocess.run(
        [airflow, "db", "migrate"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    ok(migrate)
    run = DagRun(returncode=-1, output="")
    done = threading.Event()

    def watch() -> None:
        while not done.wait(1.0):
            listed = cluster.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json")
            if listed.returncode == 0:
                for pod in json.loads(listed.stdout)["items"]:
                    run.pods[pod["metadata"]["name"]] = pod

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        proc = subprocess.run(
            [airflow, "dags", "test", dag_id, logical_date],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
    finally:
        done.set()
        watcher.join(timeout=30)
    run.returncode, run.output = proc.returncode, proc.stdout + proc.stderr
    return run
