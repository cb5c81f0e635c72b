"""What the node tests of `make cluster` (test_k8s_e2e.py, test_cnpg.py) both need: names for services outside the
cluster and volumes for claims (what a real cluster's admin or provisioner would give), helm in a namespace, the
CNPG Cluster's login and connection from the host, and a topic's size. One definition, used by both tests.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from kafka import KafkaConsumer, TopicPartition

from tests.k8s_node.conftest import kubectl_json, ok
from tools.cluster.node import Cluster
from tools.versions import brook_home


def helm(
    cluster: Cluster, namespace: str, home: Path, *args: str, timeout: float = 420
) -> subprocess.CompletedProcess[str]:
    """``helm <args> -n <namespace>`` against the cluster as its admin, with helm's cache and config under ``home``."""
    env = {**os.environ, "KUBECONFIG": str(cluster.layout.admin_kubeconfig)}
    for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        env[var] = str(home / var.lower())
    return subprocess.run(
        [str(brook_home() / "bin" / "helm"), *args, "-n", namespace],
        capture_output=True, text=True, timeout=timeout, env=env, check=False,
    )  # fmt: skip


def cnpg_login(cluster: Cluster, namespace: str, pg_cluster: str) -> tuple[str, str]:
    """The chart's owner and its generated password: the Secret CNPG bootstrapped the database with."""
    secret = kubectl_json(cluster, "-n", namespace, "secret", f"{pg_cluster}-app-credentials")["data"]
    return base64.b64decode(secret["username"]).decode(), base64.b64decode(secret["password"]).decode()


def cnpg_connect(cluster: Cluster, namespace: str, pg_cluster: str, database: str):
    """A connection as the chart's owner to the ClusterIP of the Cluster's `-rw` Service (the host reaches it through
    kube-proxy's rules), TLS with the operator's certificate."""
    service = kubectl_json(cluster, "-n", namespace, "service", f"{pg_cluster}-rw")
    user, password = cnpg_login(cluster, namespace, pg_cluster)
    return psycopg2.connect(
        host=service["spec"]["clusterIP"], port=5432, dbname=database, sslmode="require", user=user,
        password=password, connect_timeout=5,
    )  # fmt: skip


def stored_bets(conn) -> int:
    """Rows in ``bets`` (the connection is closed)."""
    with conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM bets")
        count = cur.fetchone()[0]
    conn.close()
    return count


def topic_size(bootstrap: str, topic: str) -> int:
    """Messages in ``topic`` (sum of its partitions' end offsets; a new topic starts at offset 0)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        return sum(consumer.end_offsets([TopicPartition(topic, p) for p in partitions]).values())
    finally:
        consumer.close()


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
