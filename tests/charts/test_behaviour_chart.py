"""The chart's ``pipelines.behaviour`` and ``pipelines.ecommerce`` blocks, and the served-workload support they use
(``deployment.serve``: templates/workloads.yaml, networkpolicies.yaml): values in, objects out. The gateway is the
pipeline's entrance: a Deployment listening on the port the chart tells it, probed on its health paths, behind a
Service that selects exactly its pods, open to any client on that port and on nothing else. Its token is generated
once and shared only with the emulator, whose Secret holds nothing more. The e-commerce batch gets its bucket and
its DAG pods' ServiceAccount and nothing of Kafka."""

from __future__ import annotations

import pytest

from tests.charts.conftest import render
from tests.charts.rendered import cnpg, component, one
from tests.charts.test_chart_render import admitted, secrets

pytestmark = pytest.mark.charts

ON = ("pipelines.behaviour.enabled=true", "pipelines.ecommerce.enabled=true")
GATEWAY = "brook-behaviour-gateway"


@pytest.fixture(scope="module")
def objs() -> list[dict]:
    return render("kind", *ON)


def container(objs: list[dict], kind: str, name: str) -> dict:
    obj = one(objs, kind, name)
    spec = obj["spec"]["jobTemplate"]["spec"] if kind == "CronJob" else obj["spec"]
    return spec["template"]["spec"]["containers"][0]


def test_off_by_default_nothing_of_either_renders() -> None:
    names = [o["metadata"]["name"] for o in render("kind")]
    assert not [n for n in names if "behaviour" in n or ("ecommerce" in n and n != "brook-minio-buckets")]


def test_the_gateway_listens_where_it_is_probed_and_served(objs: list[dict]) -> None:
    gateway = container(objs, "Deployment", GATEWAY)
    env = {e["name"]: e["value"] for e in gateway["env"]}
    [port] = gateway["ports"]
    assert env["BROOK_BEHAVIOUR_GATEWAY_PORT"] == str(port["containerPort"]) == "8765"
    assert env["BROOK_BEHAVIOUR_GATEWAY_HOST"] == "0.0.0.0"
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert gateway["securityContext"]["readOnlyRootFilesystem"] is True
    service = one(objs, "Service", GATEWAY)
    [service_port] = service["spec"]["ports"]
    assert (service_port["port"], service_port["targetPort"]) == (8765, "http")
    pod_labels = one(objs, "Deployment", GATEWAY)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()


def test_a_server_has_no_one_shot_run_but_the_emulator_does(objs: list[dict]) -> None:
    names = {o["metadata"]["name"] for o in objs if o["kind"] == "CronJob"}
    assert f"{GATEWAY}-once" not in names
    emulator = container(objs, "CronJob", "brook-behaviour-emulator-once")
    assert emulator["args"] == ["-m", "jobs.behaviour.emulator", "--url", "ws://brook-behaviour-gateway:8765/events"]


def test_any_client_reaches_the_gateway_port_and_nothing_else(objs: list[dict]) -> None:
    stranger = {"app": "someone-else"}
    target = one(objs, "Deployment", GATEWAY)["spec"]["template"]["metadata"]["labels"]
    assert admitted(objs, stranger, target, 8765)
    assert not admitted(objs, stranger, target, 8080)
    assert not admitted(objs, component("behaviour-emulator"), cnpg("brook-pg"), 5432)  # the emulator: a client only
    assert admitted(objs, component("behaviour-gateway"), cnpg("brook-pg"), 5432)  # the live page's reads


def test_the_token_is_generated_once_and_shared_only_with_the_emulator(objs: list[dict]) -> None:
    all_secrets = secrets(objs)
    token = all_secrets["brook-credentials"]["behaviour-gateway-token"]
    assert len(token) >= 32
    assert all_secrets["brook-behaviour-gateway-env"]["BROOK_BEHAVIOUR_GATEWAY_TOKEN"] == token
    assert all_secrets["brook-behaviour-emulator-env"] == {"BROOK_BEHAVIOUR_GATEWAY_TOKEN": token}
    holders = {name for name, data in all_secrets.items() if token in data.values()}
    assert holders == {"brook-credentials", "brook-behaviour-gateway-env", "brook-behaviour-emulator-env"}


def test_the_gateway_may_write_its_topics_and_nothing_more(objs: list[dict]) -> None:
    acls = {
        (a["resource"]["type"], a["resource"].get("name"), op)
        for a in one(objs, "KafkaUser", GATEWAY)["spec"]["authorization"]["acls"]
        for op in a["operations"]
    }
    assert acls == {
        ("topic", "behaviour_events", "Write"),
        ("topic", "behaviour_events", "Describe"),
        ("topic", "behaviour_events.dlq", "Write"),
        ("topic", "behaviour_events.dlq", "Describe"),
        ("cluster", None, "IdempotentWrite"),
    }


def test_the_sessions_job_is_a_flink_deployment(objs: list[dict]) -> None:
    job = one(objs, "FlinkDeployment", "brook-behaviour-sessions")
    assert "jobs.behaviour.flink.sessions" in job["spec"]["job"]["args"]


def test_the_ecommerce_batch_gets_its_bucket_and_no_kafka(objs: list[dict]) -> None:
    env = one(objs, "ConfigMap", "brook-env")["data"]
    assert env["BROOK_ECOMMERCE_BUCKET"] == "brook-ecommerce"
    [buckets] = [o for o in objs if o["kind"] == "Job" and o["metadata"]["name"].startswith("brook-minio-buckets")]
    assert "brook-ecommerce" in str(buckets["spec"]["template"]["spec"])
    batch = secrets(objs)["brook-ecommerce-env"]
    assert {"BROOK_S3_ACCESS_KEY", "BROOK_PG_PASSWORD"} <= set(batch)
    assert not [k for k in batch if k.startswith("BROOK_KAFKA")]
    assert one(objs, "ServiceAccount", "brook-ecommerce-batch")["automountServiceAccountToken"] is False
