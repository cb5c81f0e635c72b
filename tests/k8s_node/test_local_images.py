"""Brook's images built without a registry (`make images-local`: Debian base by debootstrap, buildah builds, OCI
archives) run without a node: each archive loads back (what `ctr images import` reads), the app image runs as user
10001 on a read-only root filesystem, its byte code is current (no .pyc is stale, so nothing is recompiled at every
start), and its producer writes real events into the local Kafka over the host network; the Airflow image parses
Brook's DAG folder with no import error; the Flink job image's Python layer (its official bases are unobtainable)
runs a bounded Flink job on PyFlink's mini-cluster; the MinIO and mc images run the chart's bucket Job. podman runs
the containers (runc, cgroupfs: this host's hybrid cgroups rule out crun and systemd). docs/kubernetes.md ("Images
without a registry") lists what is not shown.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psycopg2
import pytest
from kafka import KafkaConsumer, TopicPartition

from jobs.bets.topics import BetsTopics
from jobs.common.settings import KafkaSettings, PostgresSettings, to_env
from jobs.flink.settings import FUNCTIONS_JAR
from tests.conftest import unique_topic
from tests.waiting import wait_for
from tools.versions import ROOT, brook_home

pytestmark = pytest.mark.k8s_node

ARCHIVES = brook_home() / "images"
APP = "localhost/brook/app:local"
AIRFLOW = "localhost/brook/airflow:local"
# The pod-like container: no writes to the image (a pod's readOnlyRootFilesystem; podman gives /tmp a tmpfs, as the
# pods' emptyDir), the image's own user, the host's loopback services.
PODMAN_RUN = [
    "podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs", "run", "--rm", "--network", "host",
    "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
]  # fmt: skip

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    """`make images-local` (seconds when nothing changed), then each archive loaded back into podman's storage."""
    return made_and_loaded(["images-local"], ("app", "airflow"))


def made_and_loaded(targets: list[str], names: tuple[str, ...]) -> dict[str, str]:
    """``make -s <targets>`` (seconds when the archives are current), then each archive ``<name>.oci.tar`` loaded
    back into podman's storage: name → the image reference podman reports."""
    if os.geteuid() != 0 or not shutil.which("make"):
        pytest.fail("the local image tests need root and make (debootstrap, buildah): run `make images-test` as root")
    build = subprocess.run(["make", "-s", *targets], cwd=ROOT, capture_output=True, text=True, timeout=3600)
    assert build.returncode == 0, f"make {' '.join(targets)} failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}"
    loaded = {}
    for name in names:
        archive = ARCHIVES / f"{name}.oci.tar"
        proc = subprocess.run(["podman", "load", "-q", "-i", str(archive)], capture_output=True, text=True)
        assert proc.returncode == 0, f"{archive} does not load: {proc.stderr}"
        loaded[name] = proc.stdout.strip().removeprefix("Loaded image: ")
    return loaded


@pytest.fixture(scope="session")
def run(images: dict[str, str]) -> Run:
    def _run(
        image: str, *argv: str, env: dict[str, str] | None = None, read_only: bool = True, volumes: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        flags = ["--read-only"] if read_only else []
        for volume in volumes:
            flags += ["--volume", volume]
        for key, value in (env or {}).items():
            flags += ["--env", f"{key}={value}"]
        return subprocess.run([*PODMAN_RUN, *flags, image, *argv], capture_output=True, text=True, timeout=600)

    return _run


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.args}\nstdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}"
    return proc.stdout


def test_archives_import_into_containerd_under_their_names(images: dict[str, str], tmp_path: Path) -> None:
    """`ctr -n k8s.io images import` of each archive, into a containerd of this test's own (own root, state and
    socket; no CRI plugin), names the image as built: the archive's ref annotation is the full name, so the node
    needs no --base-name and the chart's image reference is localhost/brook/<image>:local."""
    assert APP in images["app"] and AIRFLOW in images["airflow"], images
    sock = tmp_path / "containerd.sock"
    config = tmp_path / "config.toml"
    config.write_text('version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n')
    log = (tmp_path / "containerd.log").open("w")
    daemon = subprocess.Popen(
        ["containerd", "--config", str(config), "--root", str(tmp_path / "root"), "--state", str(tmp_path / "state"),
         "--address", str(sock)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        ctr = ["ctr", "--address", str(sock), "-n", "k8s.io"]
        for _ in range(100):
            if subprocess.run([*ctr, "version"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        for name in ("app", "airflow"):
            archive = str(ARCHIVES / f"{name}.oci.tar")
            ok(subprocess.run([*ctr, "images", "import", archive], capture_output=True, text=True))
        listed = ok(subprocess.run([*ctr, "images", "ls", "-q"], capture_output=True, text=True)).split()
        assert {APP, AIRFLOW} <= set(listed), listed
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


PROBE = """
import json, os, tempfile
try:
    open("/opt/brook/probe", "w")
    root = "writable"
except OSError as err:
    root = type(err).__name__ + ": " + err.strerror
with tempfile.NamedTemporaryFile(dir="/tmp") as f:
    tmp = f.name
print(json.dumps({"uid": os.getuid(), "gid": os.getgid(), "root": root, "tmp": tmp}))
"""


def test_app_image_runs_as_10001_on_a_read_only_root(run: Run) -> None:
    """The chart's pods (runAsNonRoot, readOnlyRootFilesystem, /tmp an emptyDir) need the image's own user to be
    10001 and nothing to write outside /tmp."""
    facts = json.loads(ok(run(APP, "python", "-c", PROBE)))
    assert (facts["uid"], facts["gid"]) == (10001, 0)
    assert facts["root"].startswith("OSError: Read-only file system"), facts


def test_app_image_byte_code_is_current(run: Run) -> None:
    """buildah rounds file times on COPY --from: a .pyc checked by time would be stale and recompiled (in memory,
    the root being read-only) at every start. Brook's code (checked-hash) and the venv's packages must load from
    their .pyc."""
    proc = run(APP, "python", "-v", "-c", "import jobs.bets.producer, kafka, psycopg2, boto3")
    ok(proc)
    stale = [line for line in proc.stderr.splitlines() if "bytecode is stale" in line or "could not create" in line]
    assert not stale, stale[:10]
    assert "# code object from '/opt/brook/jobs/bets/__pycache__/producer.cpython-311.pyc'" in proc.stderr


def test_app_image_producer_writes_events_to_local_kafka(
    run: Run, kafka_settings: KafkaSettings, request: pytest.FixtureRequest
) -> None:
    """The image's producer (`python -m jobs.bets.producer`) against the local Kafka: every event lands."""
    topic = unique_topic(request, "bets-image")
    env = to_env(kafka_settings, BetsTopics(bets=topic, dlq=f"{topic}.dlq"))
    ok(run(APP, "python", "-m", "jobs.bets.producer", "--count", "40", "--rate", "0", "--seed", "7", env=env))
    consumer = KafkaConsumer(**kafka_settings.client_options())
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        assert partitions, f"the producer did not create {topic}"
        assert sum(consumer.end_offsets(partitions).values()) == 40
    finally:
        consumer.close()


DAGBAG = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder="/opt/airflow/dags")
print(json.dumps({"errors": {p: str(e) for p, e in bag.import_errors.items()}, "dags": sorted(bag.dag_ids)}))
"""


def test_airflow_image_parses_brooks_dags(run: Run) -> None:
    """The Airflow image over the Debian base: user 50000, Airflow at images/airflow/Dockerfile's version, and every
    DAG of jobs/dags imports (jobs.* on PYTHONPATH, the cncf-kubernetes provider installed)."""
    assert ok(run(AIRFLOW, "id", "-u")).strip() == "50000"
    version = next(
        line.split("=", 1)[1]
        for line in (ROOT / "images/airflow/Dockerfile").read_text().splitlines()
        if line.startswith("ARG AIRFLOW_VERSION=")
    )
    assert ok(run(AIRFLOW, "airflow", "version", read_only=False)).strip().endswith(version)
    no_examples = {"AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    out = json.loads(ok(run(AIRFLOW, "python", "-c", DAGBAG, env=no_examples, read_only=False)).splitlines()[-1])
    assert out["errors"] == {}
    assert "bets_export" in out["dags"], out["dags"]


FLINK_PYTHON = "localhost/brook/flink-python:local"
FLINK_JARS = brook_home() / "jars" / "flink"
FLINK_FUNCTIONS = brook_home() / "jars" / "brook-flink"  # make flink-jars: Brook's functions, built against PyFlink


@pytest.fixture(scope="session")
def flink_python(images: dict[str, str]) -> str:
    """`make images-flink-python`: the Flink job image's Python layer over Debian (its official bases being
    unobtainable), with a JRE and PyFlink's embedded runtime standing in for /opt/flink."""
    build = subprocess.run(
        ["make", "-s", "images-flink-python"], cwd=ROOT, capture_output=True, text=True, timeout=3600
    )
    assert build.returncode == 0, f"make images-flink-python failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}"
    return FLINK_PYTHON


def test_flink_job_python_layer_runs_a_bounded_job(
    run: Run,
    flink_python: str,
    kafka_settings: KafkaSettings,
    bets_topics: BetsTopics,
    pg_schema: PostgresSettings,
) -> None:
    """The app image's producer writes 30 events; the Flink layer's `python -m jobs.bets.flink.top_games` (bounded,
    earliest offset) counts them into Postgres on PyFlink's mini-cluster, user 9999, read-only root, with the
    connector jars of images/flink-job/jars.sha256 and Brook's functions jar (`make flink-jars`' copies, mounted: the
    image's Maven and functions stages are not built here)."""
    listed = dict(line.split()[::-1] for line in (ROOT / "images/flink-job/jars.sha256").read_text().splitlines())
    for jar, digest in listed.items():
        assert hashlib.sha256((FLINK_JARS / jar).read_bytes()).hexdigest() == digest, f"{jar}: run `make flink-jars`"
    ok(run(APP, "python", "-m", "jobs.bets.producer", "--count", "30", "--rate", "0", "--seed", "3",
           env=to_env(kafka_settings, bets_topics)))  # fmt: skip
    env = {
        **to_env(kafka_settings, bets_topics, pg_schema),
        "BROOK_FLINK_BOUNDED": "true",
        "BROOK_FLINK_STARTUP_MODE": "earliest-offset",
        "BROOK_FLINK_CHECKPOINT_DIR": "file:///tmp/checkpoints",
        "BROOK_FLINK_JARS": ":".join([*(f"/opt/flink-jars/{jar}" for jar in sorted(listed)),
                                      f"/opt/brook-flink/{FUNCTIONS_JAR}"]),
    }  # fmt: skip
    proc = run(flink_python, "python", "-m", "jobs.bets.flink.top_games", env=env,
               volumes=(f"{FLINK_JARS}:/opt/flink-jars:ro", f"{FLINK_FUNCTIONS}:/opt/brook-flink:ro"))  # fmt: skip
    ok(proc)
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT COALESCE(SUM(bets), 0) FROM top_games")
        (counted,) = cur.fetchone()
    assert counted == 30, (counted, proc.stdout[-2000:], proc.stderr[-2000:])


@pytest.fixture(scope="session")
def minio_images() -> dict[str, str]:
    """`make images-local-minio images-local-mc` (the chart's MinIO and bucket-Job images, seconds when current), each
    archive loaded back into podman's storage."""
    return made_and_loaded(["images-local-minio", "images-local-mc"], ("minio", "mc"))


def test_minio_and_mc_images_run_the_bucket_job_as_the_chart_does(minio_images: dict[str, str], tmp_path: Path) -> None:
    """The MinIO image serves as uid 10001 on a read-only root (its only writes: the data directory and /tmp), and
    the mc image runs the chart's bucket-Job command (templates/minio.yaml: /bin/sh -ec, MC_CONFIG_DIR=/tmp/mc) as
    10001 on a read-only root: twice, the second time finding the bucket there (--ignore-existing)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    os.chown(data, 10001, 10001)
    login = {"MINIO_ROOT_USER": f"t{secrets.token_hex(4)}", "MINIO_ROOT_PASSWORD": secrets.token_hex(12)}
    name = f"brook-minio-test-{secrets.token_hex(3)}"
    flags = [f"--env={key}={value}" for key, value in login.items()]
    server = [*PODMAN_RUN, "--detach", "--name", name, "--read-only", "--volume", f"{data}:/data", *flags]
    ok(subprocess.run([*server, minio_images["minio"], "server", "/data", "--address", f"127.0.0.1:{port}",
                       "--console-address", "127.0.0.1:0"], capture_output=True, text=True, timeout=120))  # fmt: skip
    try:

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/minio/health/ready", timeout=2) as resp:
                    return resp.status == 200
            except OSError:
                return False

        wait_for("the MinIO image's server ready", ready, timeout=60, interval=1)
        job = (
            f'mc alias set brook http://127.0.0.1:{port} "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" && '
            "mc mb --ignore-existing brook/flink && echo buckets ready"
        )
        env = {**login, "MC_CONFIG_DIR": "/tmp/mc"}
        for _ in range(2):
            out = subprocess.run(
                [*PODMAN_RUN, "--read-only", *(f"--env={k}={v}" for k, v in env.items()), "--entrypoint", "/bin/sh",
                 minio_images["mc"], "-ec", job], capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert "buckets ready" in ok(out), out.stdout
        assert (data / "flink").is_dir()  # the bucket, on the server's data directory
        assert {p.stat().st_uid for p in data.rglob("*")} == {10001}  # every file the server wrote is 10001's
        ident = ok(subprocess.run(["podman", "exec", name, "id", "-u"], capture_output=True, text=True, timeout=30))
        assert ident.strip() == "10001"
    finally:
        subprocess.run(["podman", "rm", "-f", name], capture_output=True, timeout=60, check=False)
