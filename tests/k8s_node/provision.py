"""What a real cluster's admin or provisioner would give the node tests of `make cluster` (test_k8s_e2e.py,
test_cnpg.py): names for services outside the cluster, and volumes for claims. One definition, used by both tests.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.k8s_node.conftest import ok
from tools.cluster.node import Cluster


def port(endpoint: str) -> int:
    """The port of ``host:port``."""
    return int(endpoint.rsplit(":", 1)[1])


def external_service(name: str, endpoint: str) -> list[dict]:
    """A Service without a selector and its EndpointSlice: the cluster's name for a service outside it (here a
    local-mode service on the bridge address, ``endpoint`` = address:port); kube-proxy forwards the ClusterIP,
    CoreDNS answers the name."""
    address, service_port = endpoint.rsplit(":", 1)[0], port(endpoint)
    ports = [{"name": "tcp", "port": service_port, "protocol": "TCP"}]
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
         "spec": {"ports": [{**ports[0], "targetPort": service_port}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": f"{name}-1", "labels": {"kubernetes.io/service-name": name}},
         "addressType": "IPv4", "ports": ports, "endpoints": [{"addresses": [address]}]},
    ]  # fmt: skip


@dataclass(frozen=True)
class HostVolume:
    """A PersistentVolume for one claim the chart (or an operator it drives) makes: the node has no provisioner, so
    the test does what one would. hostPath on a folder under $BROOK_HOME/cluster/volumes owned by the pod's uid
    (kubelet applies no fsGroup to hostPath), bound in advance to that one claim by claimRef (kube-controller-manager
    binds them). Pod Security `restricted` forbids hostPath volumes in pods, not a PersistentVolume a pod reaches
    through its claim. Retain and class "": nothing here deletes hostPath volumes, so ``delete`` does."""

    cluster: Cluster
    namespace: str
    claim: str
    size: str  # at least the claim's request
    uid: int  # the owner of the folder: the uid the pod runs as

    @property
    def name(self) -> str:
        """Cluster-scoped, so named after the namespace and the claim."""
        return f"{self.namespace}-{self.claim}"

    @property
    def path(self) -> Path:
        return self.cluster.layout.base / "volumes" / self.name

    def manifest(self) -> dict:
        return {
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": self.name, "labels": {"brook.io/test-namespace": self.namespace}},
            "spec": {
                "capacity": {"storage": self.size}, "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                "claimRef": {"namespace": self.namespace, "name": self.claim},
                "hostPath": {"path": str(self.path), "type": "Directory"},
            },
        }  # fmt: skip

    def create(self) -> None:
        """A fresh folder (mode 0700, owned by ``uid``) and the PersistentVolume on it."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True, mode=0o700)
        os.chown(self.path, self.uid, self.uid)
        ok(self.cluster.kubectl("create", "-f", "-", stdin=json.dumps(self.manifest())))

    def delete(self) -> None:
        """The volume (Released once its claim is gone with the namespace) and its folder; also after a failed
        ``create``."""
        gone = ("delete", "pv", self.name, "--ignore-not-found", "--wait", "--timeout", "60s")
        ok(self.cluster.kubectl(*gone, timeout=90))
        shutil.rmtree(self.path, ignore_errors=True)
