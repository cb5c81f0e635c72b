"""charts/brook: lints strictly, renders for both profiles, every object passes kubeconform with the real CRD
schemas, bad values are refused with the key, no default password, every container non-root with limits."""

from __future__ import annotations

import re
import sys

import pytest

from tests.charts.conftest import CHART, PROFILES, ROOT, helm, render, render_text

sys.path.insert(0, str(ROOT / "dev"))
from validate import validate

pytestmark = pytest.mark.charts
TELECOM = ("pipelines.telecom.enabled=true",)


@pytest.mark.parametrize("profile", PROFILES)
def test_lint_strict(profile: str) -> None:
    proc = helm("lint", "--strict", str(CHART), "-f", str(CHART / PROFILES[profile]), "--kube-version", "1.37.0")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("sets", [(), TELECOM], ids=["bets", "bets+telecom"])
def test_every_object_passes_kubeconform(profile: str, sets: tuple[str, ...]) -> None:
    ok, output = validate(render_text(profile, *sets))
    assert ok, output


def kinds(objs: list[dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for obj in objs:
        out.setdefault(obj["kind"], []).append(obj["metadata"]["name"])
    return out


def test_kind_profile_has_every_component() -> None:
    found = kinds(render("kind"))
    assert found["Kafka"] == ["brook"] and len(found["KafkaNodePool"]) == 1
    assert sorted(found["KafkaTopic"]) == ["bets", "bets-dlq"]
    assert sorted(found["KafkaUser"]) == ["brook-consumer", "brook-flink", "brook-producer", "brook-ui"]
    assert found["Cluster"] == ["brook-pg"]
    assert sorted(found["FlinkDeployment"]) == [
        "brook-bets-active-users",
        "brook-bets-avg-bet",
        "brook-bets-bet-status",
        "brook-bets-top-games",
    ]
    assert {"brook-producer", "brook-consumer", "brook-minio", "brook-kafka-ui", "brook-pgadmin"} <= set(
        found["Deployment"]
    )
    assert "brook-default-deny-ingress" in found["NetworkPolicy"]


def test_telecom_switch() -> None:
    on = kinds(render("kind", *TELECOM))
    assert "telecom-events" in on["KafkaTopic"] and "brook-telecom" in on["KafkaUser"]
    assert "brook-telecom-metrics" in on["FlinkDeployment"] and "brook-telecom-generator" in on["Deployment"]
    off = kinds(render("kind"))
    assert "telecom-events" not in off["KafkaTopic"] and "brook-telecom-metrics" not in off["FlinkDeployment"]


def test_prod_profile_is_highly_available() -> None:
    objs = render("prod")
    pools = {o["metadata"]["name"]: o["spec"] for o in objs if o["kind"] == "KafkaNodePool"}
    assert {name: spec["replicas"] for name, spec in pools.items()} == {"controllers": 3, "brokers": 3}
    cluster = next(o for o in objs if o["kind"] == "Cluster")
    assert cluster["spec"]["instances"] == 3
    for flink in (o for o in objs if o["kind"] == "FlinkDeployment"):
        assert flink["spec"]["jobManager"]["replicas"] == 2
        assert flink["spec"]["flinkConfiguration"]["high-availability.type"] == "kubernetes"
    assert not [o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] in ("brook-kafka-ui",)]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("kafka.topics.bets.partitions=1", "/kafka/topics/bets/partitions"),
        ("consumer.replicas=two", "/consumer/replicas"),
        ("flink.flinkVersion=v1_20", "/flink/flinkVersion"),
        ("postgres.instances=0", "/postgres/instances"),
        ("kafaka.cluster=x", "kafaka"),
    ],
)
def test_bad_values_fail_with_the_key(setting: str, message: str) -> None:
    proc = helm("template", "brook", str(CHART), "--kube-version", "1.37.0", "--set", setting)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


def secrets(objs: list[dict]) -> dict[str, dict[str, str]]:
    return {o["metadata"]["name"]: o.get("stringData", {}) for o in objs if o["kind"] == "Secret"}


def test_no_default_or_fixed_passwords() -> None:
    first, second = secrets(render("kind")), secrets(render("kind", "producer.rate=51"))
    creds = first["brook-credentials"]
    assert len(creds) >= 9
    for key, value in creds.items():
        assert value.lower() not in {"admin", "password", "changeme", "brook", "minio123", "minioadmin"}, key
        assert len(value) >= 12 and re.fullmatch(r"[A-Za-z0-9-]+", value), key
        assert value != second["brook-credentials"][key], f"{key} is not generated"
    generated_keep = [
        o for o in render("kind") if o["kind"] == "Secret" and o["metadata"]["name"] == "brook-credentials"
    ]
    assert generated_keep[0]["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    text = render_text("kind")
    assert "admin/admin" not in text and "minioadmin" not in text


def test_workload_secrets_carry_the_generated_credentials() -> None:
    objs = render("kind")
    s = secrets(objs)
    creds = s["brook-credentials"]
    assert s["brook-consumer-env"]["BROOK_KAFKA_PASSWORD"] == creds["kafka-brook-consumer"]
    assert s["brook-consumer-env"]["BROOK_PG_PASSWORD"] == creds["pg-password"]
    assert s["brook-pg-app-credentials"]["password"] == creds["pg-password"]
    assert s["brook-exporter-env"]["BROOK_S3_SECRET_KEY"] == s["brook-minio"]["MINIO_ROOT_PASSWORD"]
    assert "BROOK_KAFKA_PASSWORD" not in s["brook-exporter-env"], "the exporter has no business with Kafka"
    users = {o["metadata"]["name"]: o for o in objs if o["kind"] == "KafkaUser"}
    ref = users["brook-consumer"]["spec"]["authentication"]["password"]["valueFrom"]["secretKeyRef"]
    assert (ref["name"], ref["key"]) == ("brook-credentials", "kafka-brook-consumer")


def containers(obj: dict) -> tuple[dict, list[dict]]:
    spec = obj.get("spec", {})
    if obj["kind"] in ("Deployment", "Job", "StatefulSet"):
        pod = spec["template"]["spec"]
    elif obj["kind"] == "FlinkDeployment":
        pod = spec["podTemplate"]["spec"]
    else:
        return {}, []
    return pod, pod["containers"]


@pytest.mark.parametrize("profile", PROFILES)
def test_every_pod_is_non_root_and_bounded(profile: str) -> None:
    checked = 0
    for obj in render(profile, *TELECOM):
        pod, ctrs = containers(obj)
        for container in ctrs:
            checked += 1
            where = f"{obj['kind']}/{obj['metadata']['name']}/{container['name']}"
            assert pod["securityContext"]["runAsNonRoot"] is True, where
            assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, where
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], where
            if obj["kind"] != "FlinkDeployment":  # the operator sizes Flink pods from spec.*Manager.resource
                assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
                assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where
    assert checked >= 8


def test_servers_have_probes() -> None:
    for obj in render("kind"):
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] in (
            "brook-minio",
            "brook-kafka-ui",
            "brook-pgadmin",
        ):
            container = obj["spec"]["template"]["spec"]["containers"][0]
            assert "readinessProbe" in container and "livenessProbe" in container, obj["metadata"]["name"]
