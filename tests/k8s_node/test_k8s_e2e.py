"""Brook's chart end to end on the real node of `make cluster` (`make k8s-e2e`, issue 12): `helm install` with its
hooks running for real, the producer and consumer Deployments moving events into Postgres, the in-cluster audit Job,
a `helm upgrade` to a new image tag that rolls the workloads without losing or doubling an event, and the host's
Airflow (PyPI) running `bets_export`, whose KubernetesPodOperator exports the stored events through a pod into the
chart's own MinIO.

The profile is tests/k8s_node/values-node.yaml; its deviations from issue 12 (Kafka reached through kafka.external,
no Flink, Airflow from PyPI on the host instead of the chart's Airflow image) are listed there and in
docs/kubernetes.md ("Brook's chart on the node"). Postgres is the chart's CloudNativePG Cluster `brook-pg`, run by the
real operator (`make cnpg-images`, tools/cnpg, installed by the `cnpg` fixture of conftest.py); S3 is the chart's
MinIO (images of `make images-local-minio` and `make images-local-mc`). Both sit on PersistentVolumes this test makes
(tests/k8s_node/provision.py), since the node has no provisioner. Each run has its own namespace (so its own Postgres
and MinIO) and topics, so counts are exact and runs do not see each other's data.
"""

from __future__ import annotations

import base64
import io
import json
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
import yaml
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from tests.k8s_node.conftest import POSTGRES_ARCHIVE, POSTGRES_UID, kubectl_json, ok, pod_rss_mib, seconds_between
from tests.k8s_node.host_airflow import launcher_kubeconfig, run_dag
from tests.k8s_node.provision import (
    HostVolume,
    cnpg_connect,
    cnpg_login,
    external_service,
    helm,
    port,
    stored_bets,
    topic_size,
)
from tests.waiting import wait_for
from tools.cluster import image
from tools.cluster.node import Cluster
from tools.cluster.services import cluster_services
from tools.cnpg import operator
from tools.versions import ROOT, brook_home, helm_sets

pytestmark = pytest.mark.k8s_node

CHART = ROOT / "charts" / "brook"
VALUES = Path(__file__).with_name("values-node.yaml")
APP_ARCHIVE = brook_home() / "images" / "app.oci.tar"  # `make images-local-app` (mk/images-local.mk)
# The chart's MinIO server and bucket-Job images (minio.image, minio.mcImage): `make images-local-minio`, `-mc`.
MINIO_ARCHIVES = {"image": brook_home() / "images" / "minio.oci.tar", "mcImage": brook_home() / "images" / "mc.oci.tar"}
MINIO_UID = 10001  # the chart's pod uid (brook.podSecurity): the owner of the volume's directory
CHART_VALUES = yaml.safe_load((CHART / "values.yaml").read_text())
PG_CLUSTER = CHART_VALUES["postgres"]["cluster"]  # brook-pg; its instance 1 claims <cluster>-1
RELEASE = "brook"
MIN_EVENTS = 2000  # events the producer must have written before it is stopped
HOOK_TIMEOUT = "5m"  # helm's --timeout: the Cluster's bootstrap, the migration Job, the rollout; 2 shared cores


# The selector-less Service (with one EndpointSlice naming the bridge address) the pods dial Kafka by.
KAFKA_SERVICE = "node-kafka"


@dataclass
class Release:
    """One run's release and the services' view of it."""

    cluster: Cluster
    namespace: str
    env: dict[str, str]  # the cluster services' BROOK_* settings (as seen from the host and the pods): Kafka's
    topic: str
    bucket: str
    repository: str
    tags: tuple[str, str]  # the imported tag and the second tag the upgrade moves to
    home: Path
    minio_images: dict[str, str]  # minio.image and minio.mcImage: the names in the imported archives

    @property
    def volumes(self) -> dict[str, HostVolume]:
        """The PersistentVolumes made for the chart's claims: MinIO's brook-minio (minio.storage.size of the
        profile) and brook-pg-1, the claim CNPG makes for instance 1 (postgres.storage.size of the chart)."""
        minio = yaml.safe_load(VALUES.read_text())["minio"]["storage"]["size"]
        postgres = CHART_VALUES["postgres"]["storage"]["size"]
        return {
            "minio": HostVolume(self.cluster, self.namespace, "brook-minio", minio, MINIO_UID),
            "postgres": HostVolume(self.cluster, self.namespace, f"{PG_CLUSTER}-1", postgres, POSTGRES_UID),
        }

    def helm(self, *args: str, timeout: float = 420) -> subprocess.CompletedProcess[str]:
        return helm(self.cluster, self.namespace, self.home, *args, timeout=timeout)

    def values(self, tag: str) -> list[str]:
        """The profile's file and what this run decides: Kafka by its selector-less Service's name, the images."""
        sets = {
            "kafka.external.bootstrap": f"{KAFKA_SERVICE}:{port(self.env['BROOK_KAFKA_BOOTSTRAP'])}",
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

    def pg_login(self) -> tuple[str, str]:
        return cnpg_login(self.cluster, self.namespace, PG_CLUSTER)

    def pg(self):
        return cnpg_connect(self.cluster, self.namespace, PG_CLUSTER, CHART_VALUES["postgres"]["database"])

    def stored(self) -> int:
        return stored_bets(self.pg())

    def in_topic(self, topic: str) -> int:
        return topic_size(self.env["BROOK_KAFKA_BOOTSTRAP"], topic)

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


# Of the cluster services (tools/cluster/services.py) the chart takes only Kafka: Postgres and S3 are its own.
NEEDED = ["kafka"]


@pytest.fixture(scope="module")
def services(cluster: Cluster) -> Iterator[dict[str, str]]:
    """Kafka on the bridge address (tools/cluster/services.py); stopped at the end if this session started it."""
    local = cluster_services()
    status = local.status()
    already = all(status[name] for name in NEEDED)
    env = local.up(NEEDED)
    yield env
    if not already:
        local.down(NEEDED)


@pytest.fixture(scope="module")
def release(cluster: Cluster, cnpg: dict, services: dict[str, str], tmp_path_factory) -> Iterator[Release]:
    """The chart installed (hooks and rollout awaited: `helm install --wait`) into a fresh namespace enforcing Pod
    Security `restricted`, with the app image imported from `make images-local-app`'s archive and the CNPG operator
    running (``cnpg``); its Cluster bootstraps during the install (the migration hook Job retries until it is up)."""
    if not APP_ARCHIVE.exists():
        pytest.fail(f"{APP_ARCHIVE} missing: run `make images-local-app` (docs/kubernetes.md)", pytrace=False)
    for target, archive in (
        ("images-local-minio", MINIO_ARCHIVES["image"]),
        ("images-local-mc", MINIO_ARCHIVES["mcImage"]),
    ):
        if not archive.exists():
            pytest.fail(f"{archive} missing: run `make {target}` (docs/kubernetes.md)", pytrace=False)
    name = operator.archive_image_name(APP_ARCHIVE)
    repository, tag = name.rsplit(":", 1)
    started = time.monotonic()
    image.import_image(APP_ARCHIVE, cluster.layout.socket, timeout=300)
    minio_images = {}
    for key, archive in MINIO_ARCHIVES.items():
        image.import_image(archive, cluster.layout.socket, timeout=300)
        minio_images[key] = operator.archive_image_name(archive)
    print(f"\nimages imported (app, minio, mc): {time.monotonic() - started:.1f}s", flush=True)
    upgraded = f"{tag}-upgraded"
    ctr = ["ctr", "--address", str(cluster.layout.socket), "-n", "k8s.io", "images"]
    subprocess.run([*ctr, "rm", f"{repository}:{upgraded}"], capture_output=True, check=False)
    ok(subprocess.run([*ctr, "tag", name, f"{repository}:{upgraded}"], capture_output=True, text=True, check=False))

    token = secrets.token_hex(3)
    rel = Release(
        cluster=cluster, namespace=f"brook-e2e-{token}", env=services,
        topic=f"bets-e2e-{token}", bucket=f"bets-e2e-{token}", repository=repository, tags=(tag, upgraded),
        home=tmp_path_factory.mktemp("helm"), minio_images=minio_images,
    )  # fmt: skip
    ok(cluster.kubectl("create", "namespace", rel.namespace))
    ok(cluster.kubectl("label", "namespace", rel.namespace, "pod-security.kubernetes.io/enforce=restricted"))
    kafka = external_service(KAFKA_SERVICE, services["BROOK_KAFKA_BOOTSTRAP"])
    body = {"apiVersion": "v1", "kind": "List", "items": kafka}
    ok(cluster.kubectl("apply", "-n", rel.namespace, "-f", "-", stdin=json.dumps(body)))
    volumes = rel.volumes.values()
    try:
        for volume in volumes:
            volume.create()
        # What NOTES asks of a kafka.external user: the topics, with the chart's partitions (values.yaml).
        admin = KafkaAdminClient(bootstrap_servers=services["BROOK_KAFKA_BOOTSTRAP"])
        admin.create_topics([NewTopic(rel.topic, 3, 1), NewTopic(f"{rel.topic}.dlq", 1, 1)])
        admin.close()

        started = time.monotonic()
        install = rel.install_or_upgrade("install", tag)
        print(f"\nhelm install --wait: {time.monotonic() - started:.1f}s", flush=True)
        assert install.returncode == 0, f"{install.stderr}\n{diagnosis(rel)}"
        yield rel
    finally:  # also after a failed install: the volumes and topics are this run's
        rel.helm("uninstall", RELEASE, "--wait", "--timeout", "2m")
        # The Cluster (no finalizer) goes with the namespace, and the claims with it (helm keeps MinIO's:
        # resource-policy keep; CNPG's are the Cluster's); the Retain volumes are then Released: delete them. The
        # operator is removed after this, by the cnpg fixture.
        ok(cluster.kubectl("delete", "namespace", rel.namespace, "--wait", "--timeout", "180s", timeout=210))
        for volume in volumes:
            volume.delete()
        admin = KafkaAdminClient(bootstrap_servers=services["BROOK_KAFKA_BOOTSTRAP"])
        admin.delete_topics([t for t in (rel.topic, f"{rel.topic}.dlq") if t in admin.list_topics()])
        admin.close()


def diagnosis(rel: Release) -> str:
    """What a failed step leaves to read: the namespace's pods, Jobs, claims and CNPG Cluster, each pod's log tail,
    and the operator's."""
    kinds = "pods,jobs,pvc,clusters.postgresql.cnpg.io"
    lines = [rel.cluster.kubectl("get", "-n", rel.namespace, kinds, "-o", "wide").stdout]
    op = rel.cluster.kubectl("logs", "-n", operator.NAMESPACE, f"deployment/{operator.DEPLOYMENT}", "--tail", "20")
    lines.append(f"--- operator: {op.stdout}{op.stderr}")
    for pod in pods(rel):
        name = pod["metadata"]["name"]
        log = rel.cluster.kubectl("logs", "-n", rel.namespace, name, "--all-containers", "--tail", "20")
        lines.append(f"--- {name}: {log.stdout}{log.stderr}")
    return "\n".join(lines)


def pods(rel: Release) -> list[dict]:
    return kubectl_json(rel.cluster, "-n", rel.namespace, "pods")["items"]


def component(pod: dict) -> str:
    """The pod's app.kubernetes.io/component: the chart's name for its workloads; CNPG labels its instances
    `database`."""
    return pod["metadata"]["labels"].get("app.kubernetes.io/component", "")


def test_install_ran_its_hooks(release: Release) -> None:
    """`helm install --wait` returned only after its post-install hooks completed in pods on the node (helm deletes a
    succeeded hook Job): the release is `deployed`; the chart's CNPG Cluster, bootstrapped by the operator during the
    install, is healthy, and the migration Job's tables exist in its database `brook`, owned by the chart's owner
    (read from the host over the `-rw` Service, TLS); the bucket Job (mc, `make images-local-mc`) ran to completion
    (its Job's events) and the chart's MinIO, fresh in this namespace, now holds exactly the buckets the chart
    lists, read from the host."""
    status = json.loads(ok(release.helm("status", RELEASE, "-o", "json")))
    assert status["info"]["status"] == "deployed", status["info"]
    pg = kubectl_json(release.cluster, "-n", release.namespace, "clusters.postgresql.cnpg.io", PG_CLUSTER)
    assert pg["status"]["phase"] == "Cluster in healthy state", diagnosis(release)
    assert pg["status"]["readyInstances"] == 1
    ready = next(c for c in pg["status"]["conditions"] if c["type"] == "Ready")
    took = seconds_between(pg["metadata"]["creationTimestamp"], ready["lastTransitionTime"])
    print(f"\nCluster {PG_CLUSTER} Ready {took}s after it was created", flush=True)
    with release.pg() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM schema_migrations")
        assert cur.fetchone()[0] > 0
        cur.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'bets'")
        assert cur.fetchone() == (CHART_VALUES["postgres"]["owner"],)
        cur.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert cur.fetchone() == (True,)
    job = "brook-minio-buckets-1"  # revision 1's
    events = kubectl_json(release.cluster, "-n", release.namespace, "events", "--field-selector",
                          f"involvedObject.kind=Job,involvedObject.name={job}")["items"]  # fmt: skip
    assert "Completed" in {e["reason"] for e in events}, events
    hooks = ok(release.helm("get", "hooks", RELEASE))  # the buckets the chart's Job was rendered to make
    listed = set(re.findall(r"mc mb --ignore-existing brook/(\S+) &&", hooks))
    assert {"flink", release.bucket} <= listed, hooks
    buckets = {b["Name"] for b in release.s3().list_buckets()["Buckets"]}
    assert buckets == listed, buckets


def test_claims_are_on_the_test_made_volumes(release: Release) -> None:
    """The chart's claim brook-minio and CNPG's claim brook-pg-1 are each bound to the PersistentVolume the test made
    for it (hostPath, claimRef), where Postgres's data directory now is; the MinIO pod mounts its volume only through
    the claim, and a pod with the same hostPath volume is refused by Pod Security `restricted` (server-side dry run):
    the namespace allows the claim, not the hostPath."""
    for made in release.volumes.values():
        claim = kubectl_json(release.cluster, "-n", release.namespace, "pvc", made.claim)
        assert claim["status"]["phase"] == "Bound" and claim["spec"]["volumeName"] == made.name, claim
    assert (release.volumes["postgres"].path / "pgdata" / "PG_VERSION").is_file()
    volume = kubectl_json(release.cluster, "pv", release.volumes["minio"].name)
    [pod] = [p for p in pods(release) if component(p) == "minio"]
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
    """Every pod of the release (producer, consumer, MinIO, and CNPG's Postgres instance) was admitted under Pod
    Security `restricted` (the namespace enforces it), runs its imported image (never pulled: `Never` for the app
    image, `IfNotPresent` for MinIO's and Postgres's), has a read-only root filesystem and becomes Ready (kubelet's
    probes pass). (CNPG's bootstrap Job, initdb, ran there too: it was gone by then in the runs seen; a finished
    pod is never Ready, so the wait skips Succeeded ones.)

    None restarted: the consumer starts before the post-install migration Job and waits for its tables (it used to
    exit and be restarted; and a rebalance during a batch stopped it over a lag metric; both fixed)."""
    labels = kubectl_json(release.cluster, "namespace", release.namespace)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    wait = ("wait", "-n", release.namespace, "pod", "--all", "--field-selector=status.phase!=Succeeded",
            "--for=condition=Ready", "--timeout=180s")  # fmt: skip
    assert release.cluster.kubectl(*wait, timeout=200).returncode == 0, diagnosis(release)
    running = [p for p in pods(release) if p["status"]["phase"] != "Succeeded"]
    app = f"{release.repository}:{release.tags[0]}"
    components = {"producer": app, "consumer": app, "minio": release.minio_images["image"],
                  "database": operator.archive_image_name(POSTGRES_ARCHIVE)}  # fmt: skip
    assert {component(p) for p in running} == set(components)
    for pod in running:
        for container in pod["spec"]["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, container["name"]
            assert container["image"] == components[component(pod)]
            # images.pullPolicy is the brook/* images'; MinIO's and CNPG's containers keep the default for a tagged
            # image, IfNotPresent, which finds the imported image (nothing is pullable here: a pull would fail).
            policy = "Never" if container["image"] == app else "IfNotPresent"
            assert container["imagePullPolicy"] == policy, container["name"]
        for status in pod["status"]["containerStatuses"]:
            assert status["ready"] is True, diagnosis(release)
            if status["restartCount"]:  # why it restarted: the previous container's last lines
                name = pod["metadata"]["name"]
                previous = release.cluster.kubectl("logs", "-n", release.namespace, name, "--previous").stdout
                pytest.fail(f"{name} restarted {status['restartCount']}x; before:\n{previous[-3000:]}")
    rss = {component(p): pod_rss_mib(p["metadata"]["uid"]) for p in running}  # for the docs
    print("\nRSS (MiB): " + ", ".join(f"{name} {mib:.0f}" for name, mib in sorted(rss.items())), flush=True)


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
        if component(p) in ("producer", "consumer")
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
    KubernetesPodOperator starts the exporter pod on the node with the chart's ServiceAccount brook-exporter and its
    env Secret brook-exporter-env, which carries both logins (the chart's MinIO's, and the Postgres owner's with the
    password CNPG bootstrapped the database with): with Postgres and S3 in the chart, the chart's brook-airflow-env
    lists no external login for any DAG pod (BROOK_DAG_POD_EXTERNAL_ENV is {}) and the pod has no secretKeyRef
    entries; the Parquet objects in the bucket of the chart's
    MinIO, read from the host, hold exactly the stored bets, and the audit Job, reading them there, then passes with
    every row exported."""
    stored = release.stored()
    assert stored >= MIN_EVENTS  # the earlier tests stored the events and stopped the producer
    airflow_env = kubectl_json(release.cluster, "-n", release.namespace, "configmap", "brook-airflow-env")["data"]
    assert json.loads(airflow_env["BROOK_DAG_POD_EXTERNAL_ENV"]) == {}, airflow_env  # only Kafka is external: PLAINTEXT
    exporter_env = kubectl_json(release.cluster, "-n", release.namespace, "secret", "brook-exporter-env")["data"]
    pg_login = tuple(base64.b64decode(exporter_env[key]).decode() for key in ("BROOK_PG_USER", "BROOK_PG_PASSWORD"))
    assert pg_login == release.pg_login()
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
    assert [e for e in main.get("env", []) if "valueFrom" in e] == []
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
        conn.close()
    print(f"Parquet: {len(keys)} objects, {len(exported)} rows; stored {len(ids)}, marked exported {marked}")
    assert len(exported) == len(ids) == marked == stored
    assert set(exported) == ids
    log = release.audit("audit-export", "--expect-exported")
    assert "AUDIT PASSED" in log, log
    row = next(line for line in log.splitlines() if line.startswith("rows in Parquet"))
    assert row.split()[-3:] == [str(stored), str(stored), "ok"], row
