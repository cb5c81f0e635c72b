"""Fixtures of the k8s_node tests: the real one-node cluster of `make cluster` (tools/cluster/node.py).

A cluster already up (`make cluster`) is reused and left running; otherwise the session brings one up and removes it
at the end (`make cluster-down`'s code), so a failed run leaves only its logs in $BROOK_HOME/cluster/logs. The
CloudNativePG operator (`cnpg`, per test module) serves test_cnpg.py and test_k8s_e2e.py alike, so each runs alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tools.cluster.config import Layout
from tools.cluster.node import Cluster, ClusterError
from tools.cnpg import operator
from tools.versions import brook_home

# The CloudNativePG operator's image and the Postgres image its Clusters run: `make cnpg-images` (mk/cnpg.mk).
OPERATOR_ARCHIVE = brook_home() / "images" / "cnpg-operator.oci.tar"
POSTGRES_ARCHIVE = brook_home() / "images" / "cnpg-postgresql.oci.tar"
POSTGRES_UID = 26  # CNPG's default postgresUID: the owner of an instance's volume folder


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    if os.geteuid() != 0:
        pytest.fail("the k8s_node tests need root (containerd, runc, cgroups): run `make cluster-test` as root")
    go = os.environ.get("GO") or shutil.which("go") or "/usr/local/go/bin/go"
    node = Cluster(layout=Layout.default(), bin=brook_home() / "bin", go=go)
    running = node.running()
    already = bool(running) and all(running.values())
    if not already:
        try:
            node.up()
        except ClusterError as err:
            node.down()
            pytest.fail(f"make cluster failed: {err}", pytrace=False)
    yield node
    if not already:
        left = node.down()
        assert not left, f"cluster down left: {left}"


@pytest.fixture(scope="module")
def cnpg(cluster: Cluster) -> Iterator[dict]:
    """The real CloudNativePG operator installed on the node (tools/cnpg: images imported, config/default applied,
    Deployment available, webhooks answering; the seconds of each step), for one test module; removed at its end
    with its CRDs and the API relay, after the module's release fixture removed its namespace and volumes."""
    took = operator.install(cluster, OPERATOR_ARCHIVE, POSTGRES_ARCHIVE)
    print("\ncnpg install: " + ", ".join(f"{step} {secs:.1f}s" for step, secs in took.items()), flush=True)
    yield took
    operator.uninstall(cluster)


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.args}\nstdout: {proc.stdout[-4000:]}\nstderr: {proc.stderr[-4000:]}"
    return proc.stdout


def kubectl_json(node: Cluster, *args: str) -> dict:
    return json.loads(ok(node.kubectl("get", *args, "-o", "json")))


def seconds_between(start: str, end: str) -> int:
    """Seconds between two API timestamps (RFC 3339, whole seconds)."""
    return int((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())


def pod_rss_mib(uid: str) -> float:
    """Resident memory of a pod's processes (those whose cgroup names the pod's uid), in MiB: for the docs."""
    marker = "pod" + uid
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker not in (proc / "cgroup").read_text():
                continue
            status = (proc / "status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total / 1024
