"""Fixtures of the k8s_node tests: the real one-node cluster of `make cluster` (tools/cluster/node.py).

A cluster already up (`make cluster`) is reused and left running; otherwise the session brings one up and removes it
at the end (`make cluster-down`'s code), so a failed run leaves only its logs in $BROOK_HOME/cluster/logs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tools.cluster.config import Layout
from tools.cluster.node import Cluster, ClusterError
from tools.versions import brook_home


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


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.args}\nstdout: {proc.stdout[-4000:]}\nstderr: {proc.stderr[-4000:]}"
    return proc.stdout


def kubectl_json(node: Cluster, *args: str) -> dict:
    return json.loads(ok(node.kubectl("get", *args, "-o", "json")))
