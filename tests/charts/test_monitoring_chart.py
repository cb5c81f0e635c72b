"""monitoring (templates/monitoring.yaml): PodMonitors for Brook's processes, Strimzi, CloudNativePG and Flink, and
the PrometheusRule of charts/brook/files/alerts/*.yaml. Off by default; on, every profile passes kubeconform
against the Prometheus Operator's CRDs (make backup-schemas obtains PrometheusRule and PodMonitor)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.charts.conftest import PROFILES, ROOT, render, render_text
from tools.validate import validate

pytestmark = pytest.mark.charts
ON = ("monitoring.enabled=true",)
ALERT_FILES = sorted((ROOT / "charts" / "brook" / "files" / "alerts").glob("*.yaml"))


def monitoring(docs: list[dict]) -> list[dict]:
    return [d for d in docs if d["apiVersion"].startswith("monitoring.coreos.com/")]


@pytest.mark.parametrize("profile", PROFILES)
def test_off_by_default(profile: str) -> None:
    assert not [d for d in monitoring(render(profile)) if d["kind"] == "PodMonitor"]


@pytest.mark.parametrize("profile", PROFILES)
def test_monitors_and_rules_pass_kubeconform(profile: str) -> None:
    ok, output = validate(render_text(profile, *ON))
    assert ok, output


def test_monitors_select_each_component() -> None:
    docs = monitoring(render("kind", *ON, "monitoring.labels.release=kube-prometheus-stack"))
    monitors = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "PodMonitor"}
    assert monitors["brook-brook"]["selector"]["matchLabels"]["app.kubernetes.io/part-of"] == "brook"
    assert monitors["brook-brook"]["podMetricsEndpoints"][0]["portNumber"] == 9400
    assert monitors["brook-kafka"]["podMetricsEndpoints"][0]["port"] == "tcp-prometheus"
    assert monitors["brook-pg"]["selector"]["matchLabels"] == {"cnpg.io/cluster": "brook-pg"}
    assert monitors["brook-flink"]["podMetricsEndpoints"][0]["portNumber"] == 9249
    assert {d["metadata"]["labels"]["release"] for d in docs} == {"kube-prometheus-stack"}


def test_rule_groups_are_the_alert_files_verbatim() -> None:
    """One definition: the PrometheusRule carries files/alerts/*.yaml unchanged (promtool tests those files)."""
    rule = [d for d in monitoring(render("kind", *ON)) if d["kind"] == "PrometheusRule"]
    assert len(rule) == 1
    groups = [g for path in ALERT_FILES for g in yaml.safe_load(Path(path).read_text())["groups"]]
    assert rule[0]["spec"]["groups"] == groups


def test_external_services_get_no_in_chart_monitors() -> None:
    docs = render(
        "kind",
        *ON,
        "postgres.external.enabled=true",
        "postgres.external.host=pg.example",
        "postgres.external.secret=pg-login",
    )
    names = {d["metadata"]["name"] for d in monitoring(docs)}
    assert "brook-pg" not in names and "brook-brook" in names


def test_processes_serve_where_the_pod_monitor_scrapes() -> None:
    """brook-env carries BROOK_METRICS_PORT = the PodMonitor's port only when monitoring is on."""
    env = {d["metadata"]["name"]: d for d in render("kind") if d["kind"] == "ConfigMap"}["brook-env"]["data"]
    assert "BROOK_METRICS_PORT" not in env
    docs = render("kind", *ON, "monitoring.port=9555")
    env = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}["brook-env"]["data"]
    brook = next(d for d in docs if d["kind"] == "PodMonitor" and d["metadata"]["name"] == "brook-brook")
    assert env["BROOK_METRICS_PORT"] == "9555" == str(brook["spec"]["podMetricsEndpoints"][0]["portNumber"])


def test_scrapes_pass_the_network_policies() -> None:
    docs = render("kind", *ON, "monitoring.prometheusNamespace=observability")
    policy = [d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"].endswith("metrics-scrapes")]
    assert len(policy) == 1
    rule = policy[0]["spec"]["ingress"][0]
    assert rule["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "observability"}
    assert {p["port"] for p in rule["ports"]} == {9400, 9249, 9404, 9187}


FLINK_REPORTER = "org.apache.flink.metrics.prometheus.PrometheusReporterFactory"


def alert_exprs() -> dict[str, str]:
    groups = [g for p in ALERT_FILES for g in yaml.safe_load(p.read_text())["groups"]]
    return {r["alert"]: r["expr"] for g in groups for r in g["rules"]}


@pytest.mark.parametrize("profile", PROFILES)
def test_flink_deployments_report_where_the_pod_monitor_scrapes(profile: str) -> None:
    """With monitoring on, every FlinkDeployment enables the Prometheus reporter on the PodMonitor's port; off, none."""
    off = [d for d in render(profile) if d["kind"] == "FlinkDeployment"]
    assert off and not [k for d in off for k in d["spec"]["flinkConfiguration"] if k.startswith("metrics.reporter")]
    docs = render(profile, *ON, "monitoring.flinkPort=9250")
    monitor = next(d for d in docs if d["kind"] == "PodMonitor" and d["metadata"]["name"] == "brook-flink")
    port = str(monitor["spec"]["podMetricsEndpoints"][0]["portNumber"])
    flink = [d for d in docs if d["kind"] == "FlinkDeployment"]
    assert len(flink) == len(off)
    for d in flink:
        conf = d["spec"]["flinkConfiguration"]
        assert conf["metrics.reporter.prom.factory.class"] == FLINK_REPORTER, d["metadata"]["name"]
        assert conf["metrics.reporter.prom.port"] == port == "9250", d["metadata"]["name"]


@pytest.mark.parametrize("profile", PROFILES)
def test_strimzi_serves_metrics_only_when_monitoring(profile: str) -> None:
    """metricsConfig points at the rendered ConfigMap's key, and the Kafka Exporter covers exactly Brook's topics."""
    kafka = next(d for d in render(profile) if d["kind"] == "Kafka")
    assert "metricsConfig" not in kafka["spec"]["kafka"] and "kafkaExporter" not in kafka["spec"]
    docs = render(profile, *ON)
    kafka = next(d for d in docs if d["kind"] == "Kafka")
    ref = kafka["spec"]["kafka"]["metricsConfig"]["valueFrom"]["configMapKeyRef"]
    assert kafka["spec"]["kafka"]["metricsConfig"]["type"] == "jmxPrometheusExporter"
    maps = {d["metadata"]["name"]: d["data"] for d in docs if d["kind"] == "ConfigMap"}
    assert yaml.safe_load(maps[ref["name"]][ref["key"]])["rules"]
    topics = {d["spec"]["topicName"] for d in docs if d["kind"] == "KafkaTopic"}
    regex = re.compile(kafka["spec"]["kafkaExporter"]["topicRegex"])
    assert topics and all(regex.fullmatch(t) for t in topics)
    assert not regex.fullmatch("__consumer_offsets") and not regex.fullmatch("bets-dlq")


def test_jmx_rules_name_the_metric_the_alert_uses() -> None:
    """The broker's MBean, in the JMX exporter's match format (domain<key=value, ...><>attribute), renamed by the
    chart's rules as the exporter does (first matching pattern, $n groups, lowercaseOutputName) gives the metric
    BrookKafkaUnderReplicatedPartitions queries. A simulation of the exporter's rename, not a scrape of a broker."""
    docs = render("kind", *ON)
    kafka = next(d for d in docs if d["kind"] == "Kafka")
    ref = kafka["spec"]["kafka"]["metricsConfig"]["valueFrom"]["configMapKeyRef"]
    config = yaml.safe_load(next(d for d in docs if d["metadata"]["name"] == ref["name"])["data"][ref["key"]])
    bean = "kafka.server<type=ReplicaManager, name=UnderReplicatedPartitions><>Value"
    rule = next(r for r in config["rules"] if re.fullmatch(r["pattern"], bean))
    name = re.fullmatch(rule["pattern"], bean).expand(rule["name"].replace("$", "\\"))
    name = name.lower() if config["lowercaseOutputName"] else name
    metric = re.search(r"\(([a-z_]+)\)", alert_exprs()["BrookKafkaUnderReplicatedPartitions"]).group(1)
    assert name == metric == "kafka_server_replicamanager_underreplicatedpartitions"
