"""The real CloudNativePG operator on the node of `make cluster` (`make cnpg-test`, issue 12) managing the Postgres
of Brook's chart: the operator built from its Go module and installed from the module's own config (tools/cnpg),
`helm install` of the chart with the in-chart `Cluster brook-pg` (postgres.external off), the Cluster healthy with
its primary Ready under Pod Security `restricted`, the chart's migration hook Job run against it, and the producer
and consumer Deployments moving events through Kafka into CNPG's Postgres, read back over the `-rw` Service.

Profile: tests/k8s_node/values-cnpg.yaml (Kafka and S3 local mode's services on the bridge address; `make k8s-e2e`
runs the same operator and Cluster with the chart's MinIO). Storage: the node has no provisioner, so the test makes a
hostPath PersistentVolume bound in advance (claimRef) to the claim CNPG makes for instance 1
(tests/k8s_node/provision.py); the pod itself mounts only the claim, which `restricted` allows.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import yaml
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from tests.k8s_node.conftest import (
    OPERATOR_ARCHIVE,
    POSTGRES_ARCHIVE,
    POSTGRES_UID,
    kubectl_json,
    ok,
    pod_rss_mib,
    seconds_between,
)
from tests.k8s_node.provision import HostVolume, cnpg_connect, external_service, helm, port, stored_bets, topic_size
from tests.waiting import wait_for
from tools.cluster import image
from tools.cluster.node import Cluster
from tools.cluster.services import SERVICES, cluster_services
from tools.cnpg import operator
from tools.versions import ROOT, brook_home, helm_sets

pytestmark = pytest.mark.k8s_node

CHART = ROOT / "charts" / "brook"
VALUES = Path(__file__).with_name("values-cnpg.yaml")
APP_ARCHIVE = brook_home() / "images" / "app.oci.tar"  # `make images-local-app`
NAMESPACE = "brook-cnpg"
RELEASE = "brook"
PG_CLUSTER = "brook-pg"  # values.yaml postgres.cluster
MIN_EVENTS = 1000


@dataclass
class Release:
    cluster: Cluster
    env: dict[str, str]
    topic: str
    bucket: str
    image: str
    volume: HostVolume
    install_seconds: float

    def pg(self):
        return cnpg_connect(self.cluster, NAMESPACE, PG_CLUSTER, "brook")

    def stored(self) -> int:
        return stored_bets(self.pg())

    def in_topic(self) -> int:
        return topic_size(self.env["BROOK_KAFKA_BOOTSTRAP"], self.topic)


def diagnosis(cluster: Cluster) -> str:
    """What a failed step leaves to read: the namespace's pods, the Cluster's status, the operator's log tail."""
    lines = [cluster.kubectl("get", "-n", NAMESPACE, "pods,jobs,pvc,clusters.postgresql.cnpg.io", "-o", "wide").stdout]
    lines.append(cluster.kubectl("get", "-n", NAMESPACE, "events", "--sort-by=.lastTimestamp").stdout[-3000:])
    for pod in kubectl_json(cluster, "-n", NAMESPACE, "pods")["items"]:
        name = pod["metadata"]["name"]
        log = cluster.kubectl("logs", "-n", NAMESPACE, name, "--all-containers", "--tail", "15")
        lines.append(f"--- {name}: {log.stdout}{log.stderr}")
    op = cluster.kubectl("logs", "-n", operator.NAMESPACE, f"deployment/{operator.DEPLOYMENT}", "--tail", "30")
    lines.append(f"--- operator: {op.stdout}{op.stderr}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def release(cluster: Cluster, cnpg: dict, tmp_path_factory) -> Iterator[Release]:
    """The chart installed into namespace brook-cnpg (Pod Security `restricted` enforced) with its CNPG Cluster;
    `helm install --wait` returns after the post-install migration Job succeeded against it."""
    if not APP_ARCHIVE.exists():
        pytest.fail(f"{APP_ARCHIVE} missing: run `make images-local-app` (docs/kubernetes.md)", pytrace=False)
    app = operator.archive_image_name(APP_ARCHIVE)
    image.import_image(APP_ARCHIVE, cluster.layout.socket, timeout=300)
    local = cluster_services()
    before = local.status()  # stop at the end only what this fixture started (others may use the rest)
    env = local.up()
    token = secrets.token_hex(3)
    topic, bucket = f"bets-cnpg-{token}", f"bets-cnpg-{token}"
    size = yaml.safe_load((CHART / "values.yaml").read_text())["postgres"]["storage"]["size"]
    volume = HostVolume(cluster, NAMESPACE, f"{PG_CLUSTER}-1", size, POSTGRES_UID)
    home = tmp_path_factory.mktemp("helm")

    ok(cluster.kubectl("create", "namespace", NAMESPACE))
    ok(cluster.kubectl("label", "namespace", NAMESPACE, "pod-security.kubernetes.io/enforce=restricted"))
    volume.create()
    s3_login = [f"--from-literal=AWS_ACCESS_KEY_ID={env['BROOK_S3_ACCESS_KEY']}",
                f"--from-literal=AWS_SECRET_ACCESS_KEY={env['BROOK_S3_SECRET_KEY']}"]  # fmt: skip
    ok(cluster.kubectl("create", "secret", "generic", "node-s3", "-n", NAMESPACE, *s3_login))
    kafka, s3 = env["BROOK_KAFKA_BOOTSTRAP"], env["BROOK_S3_ENDPOINT"].removeprefix("http://")
    objects = [*external_service("node-kafka", kafka), *external_service("node-minio", s3)]
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    ok(cluster.kubectl("apply", "-n", NAMESPACE, "-f", "-", stdin=body))
    s3_client = boto3.client(
        "s3", endpoint_url=env["BROOK_S3_ENDPOINT"], region_name=env["BROOK_S3_REGION"],
        aws_access_key_id=env["BROOK_S3_ACCESS_KEY"], aws_secret_access_key=env["BROOK_S3_SECRET_KEY"],
    )  # fmt: skip
    s3_client.create_bucket(Bucket=bucket)
    admin = KafkaAdminClient(bootstrap_servers=kafka)
    admin.create_topics([NewTopic(topic, 3, 1), NewTopic(f"{topic}.dlq", 1, 1)])
    admin.close()

    repository, tag = app.rsplit(":", 1)
    sets = {
        "kafka.external.bootstrap": f"node-kafka:{port(kafka)}",
        "s3.external.endpoint": f"http://node-minio:{port(s3)}",
        "s3.external.secret": "node-s3",
        "images.app.repository": repository,
        "images.app.tag": tag,
        "pipelines.bets.topics.events.name": topic,
        "pipelines.bets.topics.dlq.name": f"{topic}.dlq",
        "pipelines.bets.buckets.exports.name": bucket,
    }
    values = ["-f", str(VALUES), *helm_sets(), *(f"--set={key}={value}" for key, value in sets.items())]
    started = time.monotonic()
    install = helm(
        cluster, NAMESPACE, home, "install", RELEASE, str(CHART), *values, "--wait", "--timeout", "10m", timeout=900
    )
    took = time.monotonic() - started
    print(f"\nhelm install --wait (Cluster bootstrap + migration hook): {took:.1f}s", flush=True)
    rel = Release(cluster, env, topic, bucket, app, volume, took)
    try:
        assert install.returncode == 0, f"{install.stderr}\n{diagnosis(cluster)}"
        yield rel
    finally:
        helm(cluster, NAMESPACE, home, "uninstall", RELEASE, "--wait", "--timeout", "3m")
        # The Cluster (no finalizer) goes with the namespace; its claim then frees the volume.
        ok(cluster.kubectl("delete", "namespace", NAMESPACE, "--wait", "--timeout", "180s", timeout=210))
        volume.delete()
        admin = KafkaAdminClient(bootstrap_servers=kafka)
        admin.delete_topics([t for t in (topic, f"{topic}.dlq") if t in admin.list_topics()])
        admin.close()
        s3_client.delete_bucket(Bucket=bucket)
        local.down([name for name in SERVICES if not before.get(name)])


def test_operator_runs_restricted_with_webhooks(cluster: Cluster, cnpg: dict) -> None:
    """The operator's Deployment (the module's config/default) runs the image built here in a namespace enforcing
    `restricted`, Ready (its probes are the webhook server's /readyz), and the API server on the host reaches its
    webhooks: a server-side dry run of a bare Cluster comes back defaulted with the Postgres image of its ConfigMap."""
    ns = kubectl_json(cluster, "namespace", operator.NAMESPACE)["metadata"]["labels"]
    assert ns["pod-security.kubernetes.io/enforce"] == "restricted"
    [pod] = kubectl_json(cluster, "-n", operator.NAMESPACE, "pods", "-l", "app.kubernetes.io/name=cloudnative-pg")[
        "items"
    ]
    [status] = pod["status"]["containerStatuses"]
    assert status["ready"] is True, pod["status"]
    assert status["image"] == operator.archive_image_name(OPERATOR_ARCHIVE)
    probe = {
        "apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
        "metadata": {"name": "webhook-probe", "namespace": "default"},
        "spec": {"instances": 1, "storage": {"size": "1Gi"}},
    }  # fmt: skip
    created = json.loads(ok(cluster.kubectl("create", "--dry-run=server", "-o", "json", "-f", "-",
                                            stdin=json.dumps(probe))))  # fmt: skip
    assert created["spec"]["imageName"] == operator.archive_image_name(POSTGRES_ARCHIVE)
    # The validating webhook refuses what CNPG's Go code refuses (the CRD schema knows nothing of majors): a Postgres
    # major it does not support, read off the image's tag.
    probe["spec"]["imageName"] = "localhost/brook/postgresql:12"
    refused = cluster.kubectl("create", "--dry-run=server", "-f", "-", stdin=json.dumps(probe))
    assert refused.returncode != 0, refused.stdout
    assert "Unsupported PostgreSQL version. Versions 13 or newer are supported" in refused.stderr, refused.stderr


def test_cluster_healthy_primary_restricted(release: Release) -> None:
    """The chart's Cluster `brook-pg` reached CNPG's healthy phase with its one instance the primary: a pod admitted
    under `restricted`, Ready, running the Debian Postgres image as uid 26, its data on the volume the test bound."""
    cluster = release.cluster
    pg = kubectl_json(cluster, "-n", NAMESPACE, "clusters.postgresql.cnpg.io", PG_CLUSTER)
    print(f"\nCluster phase: {pg['status'].get('phase')}, primary {pg['status'].get('currentPrimary')}")
    assert pg["status"]["phase"] == "Cluster in healthy state", diagnosis(cluster)
    assert pg["status"]["readyInstances"] == 1
    primary = kubectl_json(cluster, "-n", NAMESPACE, "pod", pg["status"]["currentPrimary"])
    assert primary["metadata"]["labels"]["cnpg.io/instanceRole"] == "primary"
    [postgres] = primary["status"]["containerStatuses"]
    assert postgres["ready"] is True
    assert postgres["image"] == operator.archive_image_name(POSTGRES_ARCHIVE)
    assert primary["spec"]["securityContext"]["runAsUser"] == POSTGRES_UID
    [init] = primary["spec"]["initContainers"]  # the bootstrap container: the operator's image
    assert init["image"] == operator.archive_image_name(OPERATOR_ARCHIVE)
    claim = kubectl_json(cluster, "-n", NAMESPACE, "pvc", f"{PG_CLUSTER}-1")
    assert claim["status"]["phase"] == "Bound" and claim["spec"]["volumeName"] == release.volume.name
    assert (release.volume.path / "pgdata" / "PG_VERSION").read_text().strip() == "15"
    labels = kubectl_json(cluster, "namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    ready = next(c for c in pg["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True", ready
    op = kubectl_json(cluster, "-n", operator.NAMESPACE, "pods", "-l", "app.kubernetes.io/name=cloudnative-pg")
    print(
        f"Cluster Ready {seconds_between(pg['metadata']['creationTimestamp'], ready['lastTransitionTime'])}s after"
        f" it was created; RSS: primary pod {pod_rss_mib(primary['metadata']['uid']):.0f} MiB,"
        f" operator pod {pod_rss_mib(op['items'][0]['metadata']['uid']):.0f} MiB",
        flush=True,
    )


def test_migration_hook_ran_against_cnpg(release: Release) -> None:
    """`helm install --wait` returned after its post-install migration Job completed against CNPG's Postgres (helm
    deletes a succeeded hook Job): the release is deployed and the migrations' tables exist in database brook,
    owned by the chart's owner (the bootstrap's initdb made both)."""
    assert "STATUS: deployed" in helm_status(release)
    with release.pg() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM schema_migrations")
        assert cur.fetchone()[0] > 0
        cur.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'bets'")
        assert cur.fetchone() == ("brook",)
        cur.execute("SHOW server_version")
        print(f"\nserver_version {cur.fetchone()[0]}")


def helm_status(release: Release) -> str:
    env = {**os.environ, "KUBECONFIG": str(release.cluster.layout.admin_kubeconfig)}
    return ok(subprocess.run([str(brook_home() / "bin" / "helm"), "status", RELEASE, "-n", NAMESPACE],
                             capture_output=True, text=True, env=env, check=False))  # fmt: skip


def test_consumer_stores_events_in_cnpg(release: Release) -> None:
    """The producer Deployment writes events to Kafka and the consumer Deployment stores them into CNPG's Postgres
    (through the `-rw` Service, as BROOK_PG_HOST names it): once the producer is stopped, every event in the topic
    is one row read back over the same Service, none dead-lettered."""
    cluster = release.cluster
    wait = ("wait", "-n", NAMESPACE, "pod", "-l", "app.kubernetes.io/component in (producer,consumer)",
            "--for=condition=Ready", "--timeout=180s")  # fmt: skip
    assert cluster.kubectl(*wait, timeout=200).returncode == 0, diagnosis(cluster)
    env = kubectl_json(cluster, "-n", NAMESPACE, "configmap", "brook-env")["data"]
    assert env["BROOK_PG_HOST"] == f"{PG_CLUSTER}-rw"
    wait_for(f"{MIN_EVENTS} events stored", lambda: release.stored() >= MIN_EVENTS, timeout=300, interval=2)
    ok(cluster.kubectl("scale", "-n", NAMESPACE, "deployment/brook-producer", "--replicas=0"))
    gone = ("wait", "-n", NAMESPACE, "pod", "-l", "app.kubernetes.io/component=producer", "--for=delete",
            "--timeout=120s")  # fmt: skip
    ok(cluster.kubectl(*gone, timeout=150))
    produced = release.in_topic()
    wait_for(f"consumer storing all {produced} events", lambda: release.stored() >= produced, timeout=300)
    stored = release.stored()
    print(f"\nproduced {produced}, stored in CNPG's Postgres {stored}", flush=True)
    assert stored == produced
    with release.pg() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(DISTINCT bet_id) FROM bets")
        assert cur.fetchone()[0] == stored
