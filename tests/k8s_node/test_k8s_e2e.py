"""Brook's chart end to end on the real node of `make cluster` (`make k8s-e2e`, issue 12): `helm install` with its
hooks running for real, the producer and consumer Deployments moving events into Postgres, the in-cluster audit Job,
a `helm upgrade` to a new image tag that rolls the workloads without losing or doubling an event, and the host's
Airflow (PyPI) running `bets_export`, whose KubernetesPodOperator exports the stored events through a pod into the
chart's own MinIO.

The profile is tests/k8s_node/values-node.yaml; its deviations from issue 12 (Kafka and Postgres reached through
kafka/postgres.external, no CNPG operator, no Flink, Airflow from PyPI on the host instead of the chart's Airflow
image) are listed there and in docs/kubernetes.md ("Brook's chart on the node"). S3 is the chart's MinIO (images of
`make images-local-minio` and `make images-local-mc`) on a PersistentVolume this test makes, since the node has no
provisioner. Each run has its own namespace (so its own MinIO), database and topics, so counts are exact and runs do
not see each other's data.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import psycopg2
import pyarrow.parquet as pq
import pytest
import yaml
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic

from tests.k8s_node.conftest import kubectl_json, ok
from tests.k8s_node.host_airflow import launcher_kubeconfig, run_dag
from tests.waiting import wait_for
from tools.cluster import image
from tools.cluster.node import Cluster
from tools.cluster.services import SERVICES, cluster_services
from tools.versions import ROOT, brook_home, helm_sets

pytestmark = pytest.mark.k8s_node

CHART = ROOT / "charts" / "brook"
VALUES = Path(__file__).with_name("values-node.yaml")
APP_ARCHIVE = brook_home() / "images" / "app.oci.tar"  # `make images-local-app` (mk/images-local.mk)
# The chart's MinIO server and bucket-Job images (minio.image, minio.mcImage): `make images-local-minio`, `-mc`.
MINIO_ARCHIVES = {"image": brook_home() / "images" / "minio.oci.tar", "mcImage": brook_home() / "images" / "mc.oci.tar"}
MINIO_UID = 10001  # the chart's pod uid (brook.podSecurity): the owner of the volume's directory
RELEASE = "brook"
MIN_EVENTS = 2000  # events the producer must have written before it is stopped
HOOK_TIMEOUT = "5m"  # helm's --timeout: the migration Job and the rollout, on 2 shared cores


def archive_image_name(archive: Path) -> str:
    """The name the archive's index gives its image (buildah writes it as org.opencontainers.image.ref.name)."""
    with tarfile.open(archive) as tar:
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
    (manifest,) = index["manifests"]
    return manifest["annotations"]["org.opencontainers.image.ref.name"]


# The selector-less Services (each with one EndpointSlice naming the bridge address) the pods dial the services by.
EXTERNAL = {"kafka": "node-kafka", "postgres": "node-postgres"}


def port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def external_service(name: str, address: str, service_port: int) -> list[dict]:
    """A Service without a selector and its EndpointSlice: the cluster's name for a service outside it (here the
    local-mode service on the bridge address); kube-proxy forwards the ClusterIP, CoreDNS answers the name."""
    ports = [{"name": "tcp", "port": service_port, "protocol": "TCP"}]
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
         "spec": {"ports": [{**ports[0], "targetPort": service_port}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": f"{name}-1", "labels": {"kubernetes.io/service-name": name}},
         "addressType": "IPv4", "ports": ports, "endpoints": [{"addresses": [address]}]},
    ]  # fmt: skip


@dataclass
class Release:
    """One run's release and the services' view of it."""

    cluster: Cluster
    namespace: str
    env: dict[str, str]  # the cluster services' BROOK_* settings (as seen from the host and the pods)
    database: str
    topic: str
    bucket: str
    repository: str
    tags: tuple[str, str]  # the imported tag and the second tag the upgrade moves to
    home: Path
    minio_images: dict[str, str]  # minio.image and minio.mcImage: the names in the imported archives

    @property
    def volume(self) -> str:
        """The PersistentVolume made for the chart's claim brook-minio (cluster-scoped: named after the namespace)."""
        return f"{self.namespace}-minio"

    def helm(self, *args: str, timeout: float = 420) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(self.cluster.layout.admin_kubeconfig)}
        for var in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            env[var] = str(self.home / var.lower())
        return subprocess.run(
            [str(brook_home() / "bin" / "helm"), *args, "-n", self.namespace],
            capture_output=True, text=True, timeout=timeout, env=env, check=False,
        )  # fmt: skip

    def values(self, tag: str) -> list[str]:
        """The profile's file and what this run decides: the services by their selector-less Services' names."""
        sets = {
            "kafka.external.bootstrap": f"{EXTERNAL['kafka']}:{port(self.env['BROOK_KAFKA_BOOTSTRAP'])}",
            "postgres.external.host": EXTERNAL["postgres"],
            "postgres.external.port": self.env["BROOK_PG_PORT"],
            "postgres.external.database": self.database,
            "postgres.external.secret": "node-pg",
            "minio.image": self.minio_images["image"],
            "minio.mcImage": self.minio_images["mcImage"],
            "images.app.repository": self.repository,
            "images.app.tag": tag,
            "pipelines.bets.topics.events.name": self.topic,
            "pipelines.bets.topics.dlq.name": f"{self.topic}.dlq",
            "pipelines.bets.buckets.exports.name": self.bucket,
        }
        return ["-f", str(VALUES), *helm_sets(), *(f"--set={key}={value}" for key, value in sets.items())]

    def install_or_upgrade(self, verb: str, tag: str) -> subprocess.CompletedProcess[str]:
        return self.helm(verb, RELEASE, str(CHART), *self.values(tag), "--wait", "--timeout", HOOK_TIMEOUT)

    def s3(self):
        """A client of the chart's MinIO from the host: its Service's ClusterIP (the host routes the Service range to
        the bridge, where kube-proxy translates it), with the root login of the chart's Secret brook-minio."""
        service = kubectl_json(self.cluster, "-n", self.namespace, "service", "brook-minio")
        api = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "api")
        login = kubectl_json(self.cluster, "-n", self.namespace, "secret", "brook-minio")["data"]
        key, secret = (base64.b64decode(login[k]).decode() for k in ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"))
        return boto3.client(
            "s3", endpoint_url=f"http://{service['spec']['clusterIP']}:{api}", region_name="us-east-1",
            aws_access_key_id=key, aws_secret_access_key=secret,
        )  # fmt: skip

    def pg(self, database: str | None = None):
        return psycopg2.connect(
            host=self.env["BROOK_PG_HOST"], port=int(self.env["BROOK_PG_PORT"]), dbname=database or self.database,
            user=self.env["BROOK_PG_USER"], password=self.env["BROOK_PG_PASSWORD"], connect_timeout=5,
        )  # fmt: skip

    def stored(self) -> int:
        with self.pg() as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM bets")
            return cur.fetchone()[0]

    def in_topic(self, topic: str) -> int:
        """Messages in ``topic`` (sum of its partitions' end offsets; a new topic starts at offset 0)."""
        consumer = KafkaConsumer(bootstrap_servers=self.env["BROOK_KAFKA_BOOTSTRAP"], request_timeout_ms=10000)
        try:
            partitions = consumer.partitions_for_topic(topic) or set()
            ends = consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
            return sum(ends.values())
        finally:
            consumer.close()

    def scale(self, component: str, replicas: int) -> None:
        """Scale Deployment brook-<component>; to 0: wait until its pods are gone (the producer flushes on SIGTERM)."""
        deployment = f"deployment/brook-{component}"
        ok(self.cluster.kubectl("scale", "-n", self.namespace, deployment, f"--replicas={replicas}"))
        if replicas == 0:
            wait = ("wait", "-n", self.namespace, "pod", "-l", f"app.kubernetes.io/component={component}")
            ok(self.cluster.kubectl(*wait, "--for=delete", "--timeout=120s", timeout=150))

    def quiesce(self) -> tuple[int, int]:
        """Stop the producer and wait until the consumer stored every event of the topic: (in Kafka, stored)."""
        self.scale("producer", 0)
        produced = self.in_topic(self.topic)
        wait_for(f"consumer storing all {produced} events", lambda: self.stored() >= produced, timeout=300)
        return produced, self.stored()

    def audit(self, name: str, *flags: str) -> str:
        """The in-cluster audit: a Job from the chart's CronJob template brook-audit-bets (as `make k8s-audit`
        makes it), with --without-flink (no Flink here) and ``flags``; returns its log, failing if the Job failed."""
        cronjob = kubectl_json(self.cluster, "-n", self.namespace, "cronjob", "brook-audit-bets")
        spec = cronjob["spec"]["jobTemplate"]["spec"]
        spec["template"]["spec"]["containers"][0]["args"].extend(["--without-flink", *flags])
        job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": spec}
        ok(self.cluster.kubectl("create", "-n", self.namespace, "-f", "-", stdin=json.dumps(job)))

        def finished() -> str:
            job = kubectl_json(self.cluster, "-n", self.namespace, "job", name)
            done = [c["type"] for c in job["status"].get("conditions", []) if c["status"] == "True"]
            return next((c for c in done if c in ("Complete", "Failed")), "")

        verdict = wait_for(f"audit Job {name}", finished, timeout=300, interval=2)
        log = ok(self.cluster.kubectl("logs", "-n", self.namespace, f"job/{name}"))
        assert verdict == "Complete", log
        return log


# Of the cluster services (tools/cluster/services.py) the chart takes Kafka and Postgres; S3 is its own MinIO.
NEEDED = [name for name in SERVICES if name != "minio"]


@pytest.fixture(scope="module")
def services(cluster: Cluster) -> Iterator[dict[str, str]]:
    """Kafka and Postgres on the bridge address (tools/cluster/services.py); stopped at the end if this session
    started them."""
    local = cluster_services()
    status = local.status()
    already = all(status[name] for name in NEEDED)
    env = local.up(NEEDED)
    yield env
    if not already:
        local.down(NEEDED)


def minio_volume(rel: Release, size: str) -> tuple[dict, Path]:
    """A PersistentVolume for the chart's claim brook-minio, and its directory: the node has no provisioner, so the
    test does what one would. hostPath (a directory under $BROOK_HOME/cluster/volumes owned by the pod's uid), bound
    to that one claim by claimRef (kube-controller-manager binds them); Pod Security forbids hostPath volumes in
    pods, not a PersistentVolume a pod reaches through its claim. Retain: nothing here deletes hostPath volumes."""
    path = rel.cluster.layout.base / "volumes" / rel.volume
    volume = {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": rel.volume, "labels": {"brook.io/e2e-namespace": rel.namespace}},
        "spec": {
            "capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
            "claimRef": {"namespace": rel.namespace, "name": "brook-minio"},
            "hostPath": {"path": str(path), "type": "Directory"},
        },
    }  # fmt: skip
    return volume, path


@pytest.fixture(scope="module")
def release(cluster: Cluster, services: dict[str, str], tmp_path_factory) -> Iterator[Release]:
    """The chart installed (hooks and rollout awaited: `helm install --wait`) into a fresh namespace enforcing Pod
    Security `restricted`, with the app image imported from `make images-local-app`'s archive."""
    if not APP_ARCHIVE.exists():
        pytest.fail(f"{APP_ARCHIVE} missing: run `make images-local-app` (docs/kubernetes.md)", pytrace=False)
    for target, archive in (
        ("images-local-minio", MINIO_ARCHIVES["image"]),
        ("images-local-mc", MINIO_ARCHIVES["mcImage"]),
    ):
        if not archive.exists():
            pytest.fail(f"{archive} missing: run `make {target}` (docs/kubernetes.md)", pytrace=False)
    name = archive_image_name(APP_ARCHIVE)
    repository, tag = name.rsplit(":", 1)
    started = time.monotonic()
    image.import_image(APP_ARCHIVE, cluster.layout.socket, timeout=300)
    minio_images = {}
    for key, archive in MINIO_ARCHIVES.items():
        image.import_image(archive, cluster.layout.socket, timeout=300)
        minio_images[key] = archive_image_name(archive)
    print(f"\nimages imported (app, minio, mc): {time.monotonic() - started:.1f}s", flush=True)
    upgraded = f"{tag}-upgraded"
    ctr = ["ctr", "--address", str(cluster.layout.socket), "-n", "k8s.io", "images"]
    subprocess.run([*ctr, "rm", f"{repository}:{upgraded}"], capture_output=True, check=False)
    ok(subprocess.run([*ctr, "tag", name, f"{repository}:{upgraded}"], capture_output=True, text=True, check=False))

    token = secrets.token_hex(3)
    rel = Release(
        cluster=cluster, namespace=f"brook-e2e-{token}", env=services, database=f"e2e_{token}",
        topic=f"bets-e2e-{token}", bucket=f"bets-e2e-{token}", repository=repository, tags=(tag, upgraded),
        home=tmp_path_factory.mktemp("helm"), minio_images=minio_images,
    )  # fmt: skip
    ok(cluster.kubectl("create", "namespace", rel.namespace))
    ok(cluster.kubectl("label", "namespace", rel.namespace, "pod-security.kubernetes.io/enforce=restricted"))
    pg_login = {"username": services["BROOK_PG_USER"], "password": services["BROOK_PG_PASSWORD"]}
    literals = [f"--from-literal={key}={value}" for key, value in pg_login.items()]
    ok(cluster.kubectl("create", "secret", "generic", "node-pg", "-n", rel.namespace, *literals))
    endpoints = {
        "kafka": services["BROOK_KAFKA_BOOTSTRAP"],
        "postgres": f"{services['BROOK_PG_HOST']}:{services['BROOK_PG_PORT']}",
    }
    objects = [obj for key, name in EXTERNAL.items() for obj in external_service(
        name, endpoints[key].rsplit(":", 1)[0], port(endpoints[key]))]  # fmt: skip
    ok(
        cluster.kubectl(
            "apply",
            "-n",
            rel.namespace,
            "-f",
            "-",
            stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}),
        )
    )
    volume, path = minio_volume(rel, yaml.safe_load(VALUES.read_text())["minio"]["storage"]["size"])
    try:
        conn = rel.pg(services["BROOK_PG_DATABASE"])
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{rel.database}"')
        conn.close()
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True, mode=0o700)
        os.chown(path, MINIO_UID, MINIO_UID)
        ok(cluster.kubectl("create", "-f", "-", stdin=json.dumps(volume)))
        # What NOTES asks of a kafka.external user: the topics, with the chart's partitions (values.yaml).
        admin = KafkaAdminClient(bootstrap_servers=services["BROOK_KAFKA_BOOTSTRAP"])
        admin.create_topics([NewTopic(rel.topic, 3, 1), NewTopic(f"{rel.topic}.dlq", 1, 1)])
        admin.close()

        started = time.monotonic()
        install = rel.install_or_upgrade("install", tag)
        print(f"\nhelm install --wait: {time.monotonic() - started:.1f}s", flush=True)
        assert install.returncode == 0, f"{install.stderr}\n{diagnosis(rel)}"
        yield rel
    finally:  # also after a failed install: the volume, database and topics are this run's
        rel.helm("uninstall", RELEASE, "--wait", "--timeout", "2m")
        ok(cluster.kubectl("delete", "namespace", rel.namespace, "--wait", "--timeout", "120s", timeout=150))
        # The namespace took the claim (helm keeps it: resource-policy keep); the Retain volume is Released: delete it.
        ok(cluster.kubectl("delete", "pv", rel.volume, "--wait", "--timeout", "60s", timeout=90))
        shutil.rmtree(path)
        conn = rel.pg(services["BROOK_PG_DATABASE"])
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{rel.database}" WITH (FORCE)')
        conn.close()
        admin = KafkaAdminClient(bootstrap_servers=services["BROOK_KAFKA_BOOTSTRAP"])
        admin.delete_topics([t for t in (rel.topic, f"{rel.topic}.dlq") if t in admin.list_topics()])
        admin.close()


def diagnosis(rel: Release) -> str:
    """What a failed step leaves to read: the namespace's pods and Jobs, and each pod's log tail."""
    lines = [rel.cluster.kubectl("get", "-n", rel.namespace, "pods,jobs", "-o", "wide").stdout]
    for pod in pods(rel):
        name = pod["metadata"]["name"]
        log = rel.cluster.kubectl("logs", "-n", rel.namespace, name, "--all-containers", "--tail", "20")
        lines.append(f"--- {name}: {log.stdout}{log.stderr}")
    return "\n".join(lines)


def pods(rel: Release) -> list[dict]:
    return kubectl_json(rel.cluster, "-n", rel.namespace, "pods")["items"]


def test_install_ran_its_hooks(release: Release) -> None:
    """`helm install --wait` returned only after its post-install hooks completed in pods on the node (helm deletes a
    succeeded hook Job): the release is `deployed`; the migration Job's tables exist in the run's database, which was
    empty before; the bucket Job (mc, `make images-local-mc`) ran to completion (its Job's events) and the chart's
    MinIO, fresh in this namespace, now holds exactly the buckets the chart lists, read from the host."""
    status = json.loads(ok(release.helm("status", RELEASE, "-o", "json")))
    assert status["info"]["status"] == "deployed", status["info"]
    with release.pg() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM schema_migrations")
        assert cur.fetchone()[0] > 0
        cur.execute("SELECT to_regclass('bets') IS NOT NULL")
        assert cur.fetchone()[0] is True
    job = "brook-minio-buckets-1"  # revision 1's
    events = kubectl_json(release.cluster, "-n", release.namespace, "events", "--field-selector",
                          f"involvedObject.kind=Job,involvedObject.name={job}")["items"]  # fmt: skip
    assert "Completed" in {e["reason"] for e in events}, events
    hooks = ok(release.helm("get", "hooks", RELEASE))  # the buckets the chart's Job was rendered to make
    listed = set(re.findall(r"mc mb --ignore-existing brook/(\S+) &&", hooks))
    assert {"flink", release.bucket} <= listed, hooks
    buckets = {b["Name"] for b in release.s3().list_buckets()["Buckets"]}
    assert buckets == listed, buckets


def test_minio_volume_is_the_test_made_volume(release: Release) -> None:
    """The chart's claim brook-minio is bound to the PersistentVolume the test made (hostPath, claimRef), the MinIO
    pod mounts it only through the claim, and a pod with the same hostPath volume is refused by Pod Security
    `restricted` (server-side dry run): the namespace allows the claim, not the hostPath."""
    claim = kubectl_json(release.cluster, "-n", release.namespace, "pvc", "brook-minio")
    assert claim["status"]["phase"] == "Bound" and claim["spec"]["volumeName"] == release.volume, claim
    volume = kubectl_json(release.cluster, "pv", release.volume)
    [pod] = [p for p in pods(release) if p["metadata"]["labels"]["app.kubernetes.io/component"] == "minio"]
    data = next(v for v in pod["spec"]["volumes"] if v["name"] == "data")
    assert data == {"name": "data", "persistentVolumeClaim": {"claimName": "brook-minio"}}
    spec = json.loads(json.dumps(pod["spec"]))
    spec["volumes"] = [v if v["name"] != "data" else {"name": "data", "hostPath": volume["spec"]["hostPath"]}
                       for v in spec["volumes"]]  # fmt: skip
    for key in ("nodeName", "serviceAccountName", "serviceAccount"):
        spec.pop(key, None)
    direct = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hostpath-minio"}, "spec": spec}
    refused = release.cluster.kubectl("create", "-n", release.namespace, "--dry-run=server", "-f", "-",
                                      stdin=json.dumps(direct))  # fmt: skip
    assert refused.returncode != 0 and "violates PodSecurity" in refused.stderr, refused
    assert 'restricted volume type "hostPath"' in refused.stderr, refused.stderr


def test_every_pod_restricted_ready(release: Release) -> None:
    """Every pod of the release (producer, consumer, MinIO) was admitted under Pod Security `restricted` (the
    namespace enforces it), runs its imported image (never pulled: `Never` for the app image, `IfNotPresent` for
    MinIO's), has a read-only root filesystem and becomes Ready (kubelet's probes pass).

    None restarted: the consumer starts before the post-install migration Job and waits for its tables (it used to
    exit and be restarted; and a rebalance during a batch stopped it over a lag metric; both fixed)."""
    labels = kubectl_json(release.cluster, "namespace", release.namespace)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    wait = ("wait", "-n", release.namespace, "pod", "--all", "--for=condition=Ready", "--timeout=180s")
    assert release.cluster.kubectl(*wait, timeout=200).returncode == 0, diagnosis(release)
    running = pods(release)
    app = f"{release.repository}:{release.tags[0]}"
    components = {"producer": app, "consumer": app, "minio": release.minio_images["image"]}
    assert {p["metadata"]["labels"]["app.kubernetes.io/component"] for p in running} == set(components)
    for pod in running:
        for container in pod["spec"]["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, container["name"]
            assert container["image"] == components[pod["metadata"]["labels"]["app.kubernetes.io/component"]]
            # images.pullPolicy is the brook/* images'; MinIO's containers keep the default for a tagged image,
            # IfNotPresent, which finds the imported image (nothing is pullable here: a pull would fail the pod).
            policy = "Never" if container["image"] == app else "IfNotPresent"
            assert container["imagePullPolicy"] == policy, container["name"]
        for status in pod["status"]["containerStatuses"]:
            assert status["ready"] is True, diagnosis(release)
            if status["restartCount"]:  # why it restarted: the previous container's last lines
                name = pod["metadata"]["name"]
                previous = release.cluster.kubectl("logs", "-n", release.namespace, name, "--previous").stdout
                pytest.fail(f"{name} restarted {status['restartCount']}x; before:\n{previous[-3000:]}")


def test_events_reach_postgres_and_audit_passes(release: Release) -> None:
    """The producer Deployment writes to Kafka (the broker on the bridge address), the consumer Deployment stores
    into Postgres; once the producer is stopped every event in the topic is a row, none twice, none dead-lettered;
    the in-cluster audit Job recounts the topic and the table and passes."""
    wait_for(f"{MIN_EVENTS} events stored", lambda: release.stored() >= MIN_EVENTS, timeout=300, interval=2)
    produced, stored = release.quiesce()
    print(f"\nproduced {produced}, stored {stored}", flush=True)
    assert stored == produced
    assert release.in_topic(f"{release.topic}.dlq") == 0
    log = release.audit("audit-install")
    print(log, flush=True)
    assert "AUDIT PASSED" in log
    row = next(line for line in log.splitlines() if line.startswith("stored in Postgres (bets)"))
    assert row.split()[-3:] == [str(stored), str(stored), "ok"], row


def test_upgrade_rolls_without_loss_or_doubles(release: Release) -> None:
    """`helm upgrade` to another image tag while the producer runs again: both Deployments roll to pods of the new
    tag, and after the producer is stopped every event in the topic (before and after the roll) is one row."""
    before = release.in_topic(release.topic)
    release.scale("producer", 1)
    wait_for("producer writing again", lambda: release.in_topic(release.topic) > before + 200, timeout=120)
    started = time.monotonic()
    ok(release.install_or_upgrade("upgrade", release.tags[1]))
    print(f"\nhelm upgrade --wait: {time.monotonic() - started:.1f}s", flush=True)
    workloads = [
        p for p in pods(release)
        if p["metadata"]["labels"]["app.kubernetes.io/component"] in ("producer", "consumer")
        and "deletionTimestamp" not in p["metadata"]
    ]  # fmt: skip
    assert {p["spec"]["containers"][0]["image"] for p in workloads} == {f"{release.repository}:{release.tags[1]}"}
    wait_for("events after the roll", lambda: release.in_topic(release.topic) > before + 1000, timeout=120)
    produced, stored = release.quiesce()
    print(f"produced {produced}, stored {stored}", flush=True)
    assert stored == produced
    log = release.audit("audit-upgrade")
    assert "AUDIT PASSED" in log, log


def test_host_airflow_exports_through_a_pod_of_the_chart(release: Release, tmp_path: Path) -> None:
    """Airflow from PyPI on the host (tests/k8s_node/host_airflow.py) runs the `bets_export` DAG with the kubernetes
    runner through BROOK_AIRFLOW_KUBECONFIG, as the ServiceAccount the chart's Role brook-pod-launcher binds: the
    KubernetesPodOperator starts the exporter pod on the node with the chart's ServiceAccount brook-exporter, its
    env Secret (with the chart's MinIO login), and the Postgres login of postgres.external as the secretKeyRef entries
    of the chart's brook-airflow-env (BROOK_DAG_POD_EXTERNAL_ENV); the Parquet objects in the bucket of the chart's
    MinIO, read from the host, hold exactly the stored bets, and the audit Job, reading them there, then passes with
    every row exported."""
    stored = release.stored()
    assert stored >= MIN_EVENTS  # the earlier tests stored the events and stopped the producer
    airflow_env = kubectl_json(release.cluster, "-n", release.namespace, "configmap", "brook-airflow-env")["data"]
    external = json.loads(airflow_env["BROOK_DAG_POD_EXTERNAL_ENV"])["exporter"]
    assert {e["valueFrom"]["secretKeyRef"]["name"] for e in external} == {"node-pg"}, external
    kubeconfig = launcher_kubeconfig(release.cluster, release.namespace, tmp_path / "launcher.kubeconfig")
    started = time.monotonic()
    run = run_dag(
        release.cluster, release.namespace, "bets_export", time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        home=tmp_path,
        brook_env={
            "BROOK_AIRFLOW_RUNNER": "kubernetes",
            "BROOK_AIRFLOW_KUBECONFIG": str(kubeconfig),
            "BROOK_PIPELINES": airflow_env["BROOK_PIPELINES"],
            "BROOK_DAG_POD_EXTERNAL_ENV": airflow_env["BROOK_DAG_POD_EXTERNAL_ENV"],
        },
        variables={
            "brook_namespace": release.namespace,
            "brook_export_image": release.repository,
            "brook_export_image_tag": release.tags[-1],  # the upgraded release's tag
        },
        selector="app.kubernetes.io/component=exporter",
    )  # fmt: skip
    print(f"\nairflow dags test bets_export: {time.monotonic() - started:.1f}s", flush=True)
    assert run.returncode == 0 and "state=success" in run.output, f"{run.output[-6000:]}\n{diagnosis(release)}"
    # The pod's log streamed into the task log (get_logs): the exporter's own summary line.
    print(next(line for line in run.output.splitlines() if '"brook_summary"' in line), flush=True)
    [pod] = run.pods.values()
    spec = pod["spec"]
    assert spec["serviceAccountName"] == "brook-exporter"
    [main] = spec["containers"]
    assert main["image"] == f"{release.repository}:{release.tags[-1]}"
    assert main["command"] == ["python", "-m", "jobs.bets.exporter"]
    assert main["envFrom"] == [{"configMapRef": {"name": "brook-env"}}, {"secretRef": {"name": "brook-exporter-env"}}]
    assert [e for e in main["env"] if "valueFrom" in e] == external
    assert pod["status"]["phase"] == "Succeeded" or "deletionTimestamp" in pod["metadata"], pod["status"]

    s3 = release.s3()
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=release.bucket, Prefix="raw/")
        for item in page.get("Contents", [])
    ]
    exported: list[str] = []
    for key in keys:
        body = s3.get_object(Bucket=release.bucket, Key=key)["Body"].read()
        exported += [str(v) for v in pq.read_table(io.BytesIO(body), columns=["bet_id"]).column("bet_id").to_pylist()]
    conn = release.pg()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT bet_id::text FROM bets")
            ids = {bet_id for (bet_id,) in cur.fetchall()}
            cur.execute("SELECT count(*) FROM bets_exported")  # the exporter's ledger: rows marked exported
            marked = cur.fetchone()[0]
    finally:
        conn.close()  # the release's teardown drops the database
    print(f"Parquet: {len(keys)} objects, {len(exported)} rows; stored {len(ids)}, marked exported {marked}")
    assert len(exported) == len(ids) == marked == stored
    assert set(exported) == ids
    log = release.audit("audit-export", "--expect-exported")
    assert "AUDIT PASSED" in log, log
    row = next(line for line in log.splitlines() if line.startswith("rows in Parquet"))
    assert row.split()[-3:] == [str(stored), str(stored), "ok"], row
