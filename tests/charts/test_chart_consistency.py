"""The layers agree: every variable a workload's settings require is set by the chart for that workload; topic,
bucket and table-side names in values equal the jobs' defaults; the DAG's pod names exist in the chart."""

from __future__ import annotations

import dataclasses
import importlib.util
import re

import pytest

from jobs.bets.consumer import ConsumerSettings
from jobs.bets.exporter import ExportSettings
from jobs.bets.producer import ProducerSettings
from jobs.common.settings import KafkaSettings, PostgresSettings, S3Settings
from jobs.flink.settings import FlinkSettings
from tests.charts.conftest import ROOT, render

pytestmark = pytest.mark.charts
TELECOM = ("pipelines.telecom.enabled=true",)

# What each workload loads (its main()); a required field (no default) must be provided by the chart.
WORKLOAD_SETTINGS = {
    "brook-producer": (KafkaSettings, ProducerSettings),
    "brook-consumer": (KafkaSettings, PostgresSettings, ConsumerSettings),
    "brook-migrate": (PostgresSettings,),
    "flink": (KafkaSettings, PostgresSettings, FlinkSettings),
    "exporter": (PostgresSettings, S3Settings, ExportSettings),
}


def required_vars(*groups: type) -> set[str]:
    return {
        f.metadata["env"]
        for group in groups
        for f in dataclasses.fields(group)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }


def provided(objs: list[dict], container: dict) -> set[str]:
    """Variables a container gets: env names plus every key of the ConfigMaps/Secrets in its envFrom."""
    data = {
        (o["kind"], o["metadata"]["name"]): set((o.get("data") or {}) | (o.get("stringData") or {}))
        for o in objs
        if o["kind"] in ("ConfigMap", "Secret")
    }
    names = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            names |= data[("ConfigMap", source["configMapRef"]["name"])]
        if "secretRef" in source:
            names |= data[("Secret", source["secretRef"]["name"])]
    return names


def workload_container(objs: list[dict], name: str) -> dict:
    for obj in objs:
        if obj["metadata"]["name"] == name and obj["kind"] in ("Deployment", "Job"):
            return obj["spec"]["template"]["spec"]["containers"][0]
        if name == "brook-migrate" and obj["kind"] == "Job" and obj["metadata"]["name"].startswith("brook-migrate"):
            return obj["spec"]["template"]["spec"]["containers"][0]
    raise AssertionError(f"{name} not rendered")


@pytest.mark.parametrize("workload", ["brook-producer", "brook-consumer", "brook-migrate"])
def test_deployments_get_every_required_variable(workload: str) -> None:
    objs = render("kind")
    missing = required_vars(*WORKLOAD_SETTINGS[workload]) - provided(objs, workload_container(objs, workload))
    assert not missing, f"{workload} lacks {sorted(missing)}"


def test_flink_jobs_get_every_required_variable() -> None:
    objs = render("kind", *TELECOM)
    flinks = [o for o in objs if o["kind"] == "FlinkDeployment"]
    assert len(flinks) == 5
    for flink in flinks:
        container = flink["spec"]["podTemplate"]["spec"]["containers"][0]
        missing = required_vars(*WORKLOAD_SETTINGS["flink"]) - provided(objs, container)
        assert not missing, f"{flink['metadata']['name']} lacks {sorted(missing)}"
        module = flink["spec"]["job"]["args"][1]
        assert importlib.util.find_spec(module) is not None, f"{module} does not exist"


def test_exporter_secret_and_configmap_cover_the_exporter() -> None:
    objs = render("kind")
    container = {"envFrom": [{"configMapRef": {"name": "brook-env"}}, {"secretRef": {"name": "brook-exporter-env"}}]}
    missing = required_vars(*WORKLOAD_SETTINGS["exporter"]) - provided(objs, container)
    assert not missing, missing


def test_names_in_values_equal_the_job_defaults() -> None:
    objs = render("kind")
    env = next(o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "brook-env")["data"]
    assert env["BROOK_TOPIC_BETS"] == KafkaSettings.__dataclass_fields__["topic_bets"].default
    assert env["BROOK_TOPIC_BETS_DLQ"] == KafkaSettings.__dataclass_fields__["topic_bets_dlq"].default
    assert env["BROOK_TOPIC_TELECOM"] == KafkaSettings.__dataclass_fields__["topic_telecom"].default
    assert env["BROOK_S3_BUCKET"] == S3Settings.__dataclass_fields__["bucket"].default
    assert env["BROOK_PG_DATABASE"] == PostgresSettings.__dataclass_fields__["database"].default
    topics = {o["spec"]["topicName"] for o in objs if o["kind"] == "KafkaTopic"}
    assert topics == {env["BROOK_TOPIC_BETS"], env["BROOK_TOPIC_BETS_DLQ"]}
    acl_topics = {
        acl["resource"]["name"]
        for o in objs
        if o["kind"] == "KafkaUser" and o["metadata"]["name"] != "brook-ui"
        for acl in o["spec"]["authorization"]["acls"]
        if acl["resource"]["type"] == "topic"
    }
    assert acl_topics <= topics | {env["BROOK_TOPIC_TELECOM"]}
    groups = {
        acl["resource"]["name"]
        for o in objs
        if o["kind"] == "KafkaUser"
        for acl in o["spec"]["authorization"]["acls"]
        if acl["resource"]["type"] == "group"
    }
    assert ConsumerSettings.__dataclass_fields__["group"].default in groups
    assert "brook-flink" in groups  # prefix ACL; jobs/flink/skeleton.py names groups brook-flink-<job>


def test_dag_pod_names_exist_in_the_chart() -> None:
    """jobs/dags/settings.py defaults (parsed, not imported: it needs no Airflow, but stays DAG-side) vs chart."""
    text = (ROOT / "jobs" / "dags" / "settings.py").read_text()
    defaults = dict(re.findall(r'setting\(\s*"(\w+)",\s*"([^"]*)"', text))
    objs = render("kind")
    names = {(o["kind"], o["metadata"]["name"]) for o in objs}
    assert ("ServiceAccount", defaults["EXPORT_SERVICE_ACCOUNT"]) in names
    assert ("Secret", defaults["EXPORT_ENV_SECRET"]) in names
    assert ("ConfigMap", defaults["ENV_CONFIGMAP"]) in names
    assert defaults["NAMESPACE"] == "brook"
    deployments = [o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "brook-consumer"]
    app_image = deployments[0]["spec"]["template"]["spec"]["containers"][0]["image"].split(":")[0]
    assert defaults["EXPORT_IMAGE"] == app_image
    # The exporter pods the DAG launches carry the label the NetworkPolicies admit to Postgres and MinIO.
    dag = (ROOT / "jobs" / "dags" / "bets_export.py").read_text()
    assert '"app.kubernetes.io/component": "exporter"' in dag


def test_pod_launcher_role_is_namespaced_and_pods_only() -> None:
    objs = render("kind")
    role = next(o for o in objs if o["kind"] == "Role" and o["metadata"]["name"] == "brook-pod-launcher")
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert resources <= {"pods", "pods/log", "pods/exec", "events"}
    assert not [o for o in objs if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]
