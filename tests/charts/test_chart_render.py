"""charts/brook: lints strictly, renders for both profiles, every object passes kubeconform with the real CRD
schemas, bad values are refused with the key, no default password and none settable from values, every container
non-root with limits, and the topology: one pipelines.<name> block yields every object of a pipeline."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml

from tests.charts.conftest import (
    CHART,
    KUBE_VERSION,
    PROFILES,
    ROOT,
    VERSION_SETS,
    helm,
    render,
    render_text,
    render_values,
    template,
)
from tools import versions
from tools.validate import validate

pytestmark = pytest.mark.charts
TELECOM = ("pipelines.telecom.enabled=true",)
CINEMA = ("pipelines.cinema.enabled=true",)
IOT = ("pipelines.iot.enabled=true",)


@pytest.mark.parametrize("profile", PROFILES)
def test_lint_strict(profile: str) -> None:
    proc = helm(
        "lint",
        "--strict",
        str(CHART),
        "-f",
        str(CHART / PROFILES[profile]),
        "--kube-version",
        KUBE_VERSION,
        *VERSION_SETS,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("sets", [(), TELECOM, CINEMA, IOT], ids=["bets", "bets+telecom", "bets+cinema", "bets+iot"])
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
    assert sorted(found["KafkaUser"]) == ["brook-audit", "brook-consumer", "brook-flink", "brook-producer", "brook-ui"]
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
        ("pipelines.bets.topics.events.partitions=0", "/pipelines/bets/topics/events/partitions"),
        ("pipelines.bets.workloads.consumer.deployment.replicas=two", "/pipelines/bets/workloads/consumer/deployment"),
        ("pipelines.Bets.enabled=true", "'Bets' does not match"),  # pipeline names: jobs.<name> packages
        ("pipelines.bets.kafkaUsers.brook-producer.acls[0].operations[0]=Everything", "/pipelines/bets/kafkaUsers"),
        ("flink.release=1.20.1", "/flink/release"),
        ("flink.flinkVersion=v2_0", "flinkVersion"),  # derived from flink.release, not a value
        ("postgres.instances=0", "/postgres/instances"),
        ("kafaka.cluster=x", "kafaka"),
    ],
)
def test_bad_values_fail_with_the_key(setting: str, message: str) -> None:
    proc = helm("template", "brook", str(CHART), "--kube-version", KUBE_VERSION, *VERSION_SETS, "--set", setting)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


def secrets(objs: list[dict]) -> dict[str, dict[str, str]]:
    return {o["metadata"]["name"]: o.get("stringData", {}) for o in objs if o["kind"] == "Secret"}


def test_no_default_or_fixed_passwords() -> None:
    other_render = "pipelines.bets.workloads.producer.deployment.options.rate=51"
    first, second = secrets(render("kind")), secrets(render("kind", other_render))
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


# --- credentials: generated, one set per render, never from values ---------------------------------------------


def test_credentials_memo_is_not_a_value() -> None:
    """The old render memo `__credentials` was a schema-allowed key: `--set __credentials.pg-password=x` rendered a
    brook-credentials with that one key. The schema now refuses it, and nothing in values reaches the memo."""
    proc = template("kind", "", "__credentials.pg-password=x")
    assert proc.returncode != 0
    assert "__credentials" in proc.stderr, proc.stderr
    schema = (CHART / "values.schema.json").read_text()
    assert "__credentials" not in schema and "brookCredentials" not in schema


def test_values_cannot_override_generated_secrets() -> None:
    """Whatever values say, brook-credentials carries every key, each generated (none equal to a value given)."""
    objs = render("kind", "pipelines.telecom.enabled=true")
    creds = secrets(objs)["brook-credentials"]
    expected = {
        "pg-password",
        "minio-root-user",
        "minio-root-password",
        "pgadmin-password",
        "kafka-ui-password",
        "kafka-brook-ui",
        "kafka-brook-audit",
        "kafka-brook-producer",
        "kafka-brook-consumer",
        "kafka-brook-flink",
        "kafka-brook-telecom",
        "telecom-mask-key",
        "cinema-oltp-password",  # declared pipelines' database and replication passwords, enabled or not
        "cinema-warehouse-password",
        "cinema-replication-password",
        "iot-source-password",
        "iot-replication-password",
        "kafka-brook-iot-connect",
        "kafka-brook-behaviour-gateway",
        "behaviour-gateway-token",
    }
    assert set(creds) == expected
    users = {o["metadata"]["name"] for o in objs if o["kind"] == "KafkaUser"}
    assert {f"kafka-{u}" for u in users} <= set(creds), "a KafkaUser's password key is missing"


def test_disabled_pipelines_keep_their_credentials() -> None:
    """Keys of switched-off pipelines stay in brook-credentials, so switching one off and on keeps its passwords."""
    creds = secrets(render("kind"))["brook-credentials"]
    assert {"kafka-brook-telecom", "telecom-mask-key"} <= set(creds)


def test_one_credential_set_per_render_across_templates() -> None:
    """credentials.yaml, airflow-metadata.yaml and ui.yaml see the same generated values (one memo per render)."""
    s = secrets(render("kind"))
    creds = s["brook-credentials"]
    assert f":{creds['pg-password']}@" in s["brook-airflow-metadata"]["connection"]
    jaas = s["brook-kafka-ui"]["KAFKA_CLUSTERS_0_PROPERTIES_SASL_JAAS_CONFIG"]
    assert f'password="{creds["kafka-brook-ui"]}"' in jaas
    assert s["brook-pgadmin"]["PGADMIN_DEFAULT_PASSWORD"] == creds["pgadmin-password"]


def test_telecom_secret_carries_the_generated_mask_key() -> None:
    s = secrets(render("kind", *TELECOM))
    assert s["brook-telecom-env"]["BROOK_TELECOM_MASK_KEY"] == s["brook-credentials"]["telecom-mask-key"]
    assert s["brook-telecom-env"]["BROOK_KAFKA_USERNAME"] == "brook-telecom"


# --- the topology: one block per pipeline --------------------------------------------------------------------------

TEMPLATES = CHART / "templates"
# A third pipeline, written only as values: everything a pipeline gets must follow from this block.
FRAUD = """
pipelines:
  fraud:
    enabled: true
    topics:
      alerts: {name: fraud_alerts, env: BROOK_TOPIC_FRAUD_ALERTS, partitions: 3, retentionHours: 24}
    buckets:
      reports: {name: fraud-reports, env: BROOK_S3_FRAUD_BUCKET}
    kafkaUsers:
      # The scorer: reads bets, writes alerts.
      brook-fraud-scorer:
        acls:
          - resource: {type: topic, name: bets, patternType: literal}
            operations: [Read, Describe]
          - resource: {type: topic, name: fraud_alerts, patternType: literal}
            operations: [Write, Describe]
      # Its Flink job reads the alerts.
      brook-flink:
        acls:
          - resource: {type: topic, name: fraud_alerts, patternType: literal}
            operations: [Read, Describe]
    workloads:
      fraud-scorer:
        kafkaUser: brook-fraud-scorer
        postgres: true
        generated: {BROOK_FRAUD_SALT: fraud-salt}
        deployment:
          enabled: true
          module: jobs.fraud.scorer
          options: {threshold: 0.9}
          replicas: 2
          env: {BROOK_FRAUD_WINDOW: "60"}
          resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: 500m, memory: 256Mi}}
      fraud-report:
        secret: fraud-scorer
        s3: true
        dagPod: {serviceAccount: brook-fraud-report}
    flinkJobs: [alert_rate]
"""


def by_name(objs: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def peers(objs: list[dict]) -> dict[str, list[str]]:
    """Components admitted to Kafka (Strimzi listener peers), Postgres and MinIO (NetworkPolicies)."""
    kafka = next(o for o in objs if o["kind"] == "Kafka")["spec"]["kafka"]["listeners"][0]
    policies = by_name(objs, "NetworkPolicy")

    def components(policy: str) -> list[str]:
        return policies[policy]["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]["values"]

    return {
        "kafka": kafka["networkPolicyPeers"][0]["podSelector"]["matchExpressions"][0]["values"],
        "postgres": components("brook-postgres-ingress"),
        "minio": components("brook-minio-ingress"),
    }


def test_no_template_names_a_pipeline() -> None:
    for path in sorted(TEMPLATES.iterdir()):
        found = re.findall(r"bets|telecom", path.read_text(), re.IGNORECASE)
        assert not found, f"{path.name} names a pipeline: pipelines belong in values.yaml `pipelines:`"


def test_service_names_and_ports_come_from_helpers() -> None:
    literal = re.compile(r"brook-minio:|kafka-bootstrap:|-rw:|\b(9000|9001|9092|5432|8000|8080|8081)\b")
    for path in sorted(TEMPLATES.iterdir()):
        if path.name != "_helpers.tpl":
            assert not literal.search(path.read_text()), f"{path.name}: use the service/port helpers of _helpers.tpl"
    env = next(o for o in render("kind") if o["metadata"]["name"] == "brook-env")["data"]
    assert env["BROOK_S3_ENDPOINT"] == "http://brook-minio:9000"
    assert env["BROOK_KAFKA_BOOTSTRAP"] == "brook-kafka-bootstrap:9092"
    assert (env["BROOK_PG_HOST"], env["BROOK_PG_PORT"]) == ("brook-pg-rw", "5432")


def test_a_new_pipeline_is_one_values_block() -> None:
    objs = render_values("kind", FRAUD)
    assert by_name(objs, "KafkaTopic")["fraud-alerts"]["spec"]["topicName"] == "fraud_alerts"
    users = by_name(objs, "KafkaUser")
    scorer_acls = users["brook-fraud-scorer"]["spec"]["authorization"]["acls"]
    assert [(a["resource"]["name"], a["operations"]) for a in scorer_acls] == [
        ("bets", ["Read", "Describe"]),
        ("fraud_alerts", ["Write", "Describe"]),
    ]
    s = secrets(objs)
    env = s["brook-fraud-scorer-env"]
    assert env["BROOK_KAFKA_USERNAME"] == "brook-fraud-scorer"
    assert env["BROOK_KAFKA_PASSWORD"] == s["brook-credentials"]["kafka-brook-fraud-scorer"]
    assert env["BROOK_FRAUD_SALT"] == s["brook-credentials"]["fraud-salt"]
    assert {"BROOK_PG_PASSWORD", "BROOK_S3_SECRET_KEY"} <= set(env), "a shared Secret holds what both workloads need"
    deployment = by_name(objs, "Deployment")["brook-fraud-scorer"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert deployment["spec"]["replicas"] == 2
    assert container["args"] == ["-m", "jobs.fraud.scorer", "--threshold", "0.9"]
    assert container["env"] == [{"name": "BROOK_FRAUD_WINDOW", "value": "60"}]
    assert {"secretRef": {"name": "brook-fraud-scorer-env"}} in container["envFrom"]
    flink = by_name(objs, "FlinkDeployment")["brook-fraud-alert-rate"]
    assert flink["spec"]["job"]["args"] == ["-pym", "jobs.fraud.flink.alert_rate"]
    assert "brook-fraud-report" in by_name(objs, "ServiceAccount")
    p = peers(objs)
    assert "fraud-scorer" in p["kafka"] and "fraud-scorer" in p["postgres"] and "fraud-report" in p["minio"]
    config = by_name(objs, "ConfigMap")["brook-env"]["data"]
    assert (config["BROOK_TOPIC_FRAUD_ALERTS"], config["BROOK_S3_FRAUD_BUCKET"]) == ("fraud_alerts", "fraud-reports")
    job = next(o for o in objs if o["kind"] == "Job" and o["metadata"]["name"].startswith("brook-minio-buckets"))
    assert "brook/fraud-reports" in job["spec"]["template"]["spec"]["containers"][0]["args"][0]


def test_a_new_pipeline_passes_kubeconform() -> None:
    proc = template("prod", FRAUD)
    assert proc.returncode == 0, proc.stderr
    ok, output = validate(proc.stdout)
    assert ok, output


def test_a_user_named_by_several_pipelines_gets_the_union_of_their_acls() -> None:
    def flink_acls(objs: list[dict]) -> set[tuple[str, str, str]]:
        acls = by_name(objs, "KafkaUser")["brook-flink"]["spec"]["authorization"]["acls"]
        return {(a["resource"]["type"], a["resource"]["name"], a["resource"]["patternType"]) for a in acls}

    group = ("group", "brook-flink", "prefix")
    assert flink_acls(render("kind")) == {group, ("topic", "bets", "literal")}
    both = flink_acls(render("kind", *TELECOM))
    assert both == {group, ("topic", "bets", "literal"), ("topic", "telecom_events", "literal")}


def test_acls_are_written_in_values_with_a_comment_per_user() -> None:
    """Reviewable: every KafkaUser block in values.yaml is preceded by a comment line saying what it is for."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    values = yaml.safe_load("\n".join(lines))
    users = set(values["kafka"]["users"]) | {
        name for p in values["pipelines"].values() for name in p.get("kafkaUsers", {})
    }
    for name in users:
        for i, line in enumerate(lines):
            if line.strip() == f"{name}:" and lines[i + 1].strip() == "acls:":
                assert lines[i - 1].strip().startswith("#"), f"values.yaml: KafkaUser {name} has no comment on intent"


def test_network_policy_peers_follow_the_topology() -> None:
    p = peers(render("kind"))
    assert p["kafka"] == ["audit", "consumer", "flink", "kafka-ui", "producer"]
    assert p["postgres"] == ["audit", "consumer", "exporter", "flink", "migrate", "pgadmin"]
    assert p["minio"] == ["audit", "exporter", "flink", "minio-setup"]
    on = peers(render("kind", *TELECOM))
    assert "telecom-generator" in on["kafka"] and {"telecom-generator", "telecom-batch"} <= set(on["postgres"])
    assert "telecom-batch" not in on["kafka"], "the batch reads Postgres only"
    off = peers(render("prod"))
    assert "kafka-ui" not in off["kafka"] and "pgadmin" not in off["postgres"], "UIs off: no peers for them"


def test_workload_deployments_follow_their_blocks() -> None:
    found = by_name(render("kind"), "Deployment")
    producer = found["brook-producer"]["spec"]["template"]["spec"]["containers"][0]
    assert producer["args"] == ["-m", "jobs.bets.producer", "--rate", "50"]  # values-kind.yaml
    consumer = found["brook-consumer"]["spec"]["template"]["spec"]["containers"][0]
    assert consumer["env"] == [{"name": "BROOK_CONSUMER_WORKERS", "value": "1"}]
    prod = by_name(render("prod"), "Deployment")
    assert "brook-producer" not in prod and prod["brook-consumer"]["spec"]["replicas"] == 3


def test_dag_pod_service_accounts_follow_the_topology() -> None:
    assert "brook-telecom-batch" not in by_name(render("kind"), "ServiceAccount")
    accounts = by_name(render("kind", *TELECOM), "ServiceAccount")
    assert accounts["brook-telecom-batch"]["metadata"]["labels"]["app.kubernetes.io/component"] == "telecom-batch"
    assert accounts["brook-exporter"]["automountServiceAccountToken"] is False


def test_a_component_in_two_pipelines_is_refused() -> None:
    twice = "pipelines: {telecom: {workloads: {consumer: {postgres: true}}}}"
    proc = template("kind", twice, "pipelines.telecom.enabled=true")
    assert proc.returncode != 0 and "already has a workload consumer" in proc.stderr, proc.stderr


def test_migration_job_runs_the_common_migrate_module() -> None:
    job = next(o for o in render("kind") if o["kind"] == "Job" and o["metadata"]["name"].startswith("brook-migrate"))
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["python", "-m", "jobs.common.migrate"]


# --- versions: from versions.env only --------------------------------------------------------------------------------


def test_kafka_and_flink_versions_have_no_chart_default() -> None:
    """kafka.version and flink.release come only from versions.env (skaffold, make and helm_sets() pass them): a
    render without them fails naming both, instead of deploying a stale default (4.1.1, which Strimzi 1.2.0 refuses)."""
    proc = helm("template", "brook", str(CHART), "--kube-version", KUBE_VERSION, "-f", str(CHART / "values-kind.yaml"))
    assert proc.returncode != 0
    assert "'version'" in proc.stderr and "'release'" in proc.stderr, proc.stderr
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert "version" not in values["kafka"] and "release" not in values["flink"]
    assert "flinkVersion" not in values["flink"], "flinkVersion is derived from flink.release"


def test_flink_version_is_derived_from_the_release() -> None:
    objs = render("kind", "flink.release=2.0.7")
    for flink in by_name(objs, "FlinkDeployment").values():
        assert flink["spec"]["flinkVersion"] == "v2_0"
        assert flink["spec"]["job"]["jarURI"] == "local:///opt/flink/opt/flink-python-2.0.7.jar"


def test_kafka_version_is_one_the_pinned_strimzi_runs() -> None:
    """Strimzi reconciles only the Kafka versions its kafka-versions.yaml marks supported. No operator runs here, so
    the proof is a committed copy of that fact (operators/strimzi-kafka-versions.yaml, with its source tag/commit)."""
    fact = yaml.safe_load((ROOT / "operators" / "strimzi-kafka-versions.yaml").read_text())
    assert fact["strimzi"] == versions.get("STRIMZI_APP_VERSION"), "the fact table is for another Strimzi: update it"
    assert fact["source"].endswith(f"/blob/{fact['strimzi']}/kafka-versions.yaml")
    supported = [str(v) for v in fact["supported"]]
    assert versions.get("KAFKA_VERSION") in supported, f"KAFKA_VERSION is not one of Strimzi's {supported}"
    kafka = next(o for o in render("prod") if o["kind"] == "Kafka")
    assert kafka["spec"]["kafka"]["version"] in supported
    assert "4.1.1" not in supported, "the former chart default must stay refused by the fact table"


# --- issue 11: the chart's runtime blockers and security holes ------------------------------------------------------

AIRFLOW_VALUES = CHART / "airflow-values.yaml"


def airflow_values() -> dict:
    return yaml.safe_load(AIRFLOW_VALUES.read_text())


def selects(selector: dict, labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions) against a pod's labels."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and labels.get(key) in values):
            return False
        if (op == "Exists" and key not in labels) or (op == "DoesNotExist" and key in labels):
            return False
    return True


def admitted(objs: list[dict], source: dict[str, str], target: dict[str, str], port: int) -> bool:
    """Whether the chart's NetworkPolicies let a pod labelled ``source`` reach TCP ``port`` of a pod labelled
    ``target`` in the same namespace (Kubernetes semantics: isolated by any policy selecting it, then allowed by any
    ingress rule of those policies whose peers and ports match)."""
    policies = [
        p for p in objs if p["kind"] == "NetworkPolicy" and "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
    ]
    applying = [p for p in policies if selects(p["spec"]["podSelector"], target)]
    if not applying:
        return True
    for policy in applying:
        for rule in policy["spec"].get("ingress") or []:
            ports = rule.get("ports")
            if ports and not any(p.get("port") == port for p in ports):
                continue
            peers = rule.get("from")
            if not peers or any(
                "podSelector" in peer and "namespaceSelector" not in peer and selects(peer["podSelector"], source)
                for peer in peers
            ):
                return True
    return False


def airflow_pod(component: str) -> dict[str, str]:
    """The labels the official Airflow chart gives its pods (chart/templates/*: tier, component, release)."""
    return {"tier": "airflow", "component": component, "release": "airflow"}


def test_airflow_migrations_are_not_helm_hooks_under_wait() -> None:
    """skaffold installs the Airflow release with wait: true; its migration Job as a Helm hook would only start after
    --wait saw pods that wait for that migration. The Airflow chart's docs (chart/docs/index.rst, "Installing the Helm
    Chart with Argo CD, Flux, Rancher or Terraform": applies to --wait too) ask for these four values."""
    releases = yaml.safe_load((ROOT / "skaffold.yaml").read_text())["manifests"]["helm"]["releases"]
    assert next(r for r in releases if r["name"] == "airflow")["wait"] is True, (
        "the reason for these values: helm --wait"
    )
    values = airflow_values()
    for job in ("migrateDatabaseJob", "createUserJob"):
        assert values.get(job, {}).get("useHelmHooks") is False, f"{job}.useHelmHooks must be false under --wait"
        assert values[job].get("applyCustomEnv") is False, f"{job}.applyCustomEnv (the chart's docs pair it)"


def test_dags_are_not_paused_at_creation() -> None:
    """Airflow's core.dags_are_paused_at_creation defaults to True: the exports would never run by themselves."""
    core = airflow_values().get("config", {}).get("core", {})
    assert str(core.get("dags_are_paused_at_creation")).lower() == "false"


@pytest.mark.parametrize("profile", PROFILES)
def test_airflow_task_traffic_reaches_the_execution_api(profile: str) -> None:
    """Airflow 3 tasks talk to the api-server's Execution API (no direct metadata-database access), and the
    api-server reads task logs from the scheduler/triggerer log servers. The default-deny policy covers Airflow's
    pods too, so the chart must admit exactly the Airflow release's own pods on those ports."""
    objs = render(profile)
    api, scheduler, triggerer = airflow_pod("api-server"), airflow_pod("scheduler"), airflow_pod("triggerer")
    for source in (scheduler, triggerer, airflow_pod("dag-processor"), airflow_pod("worker")):
        assert admitted(objs, source, api, 8080), f"{source['component']} → api-server Execution API"
    assert admitted(objs, api, scheduler, 8793) and admitted(objs, api, triggerer, 8794), "task logs"
    brook_pod = {"app.kubernetes.io/component": "producer"}
    assert not admitted(objs, brook_pod, api, 8080), "Brook's workloads have no business with Airflow's API"
    other = {**airflow_pod("scheduler"), "release": "other"}
    assert not admitted(objs, other, api, 8080), "another Airflow release is not admitted"
    assert not admitted(objs, scheduler, {"app.kubernetes.io/component": "consumer"}, 8080)


def test_pod_launcher_role_binds_this_namespaces_airflow() -> None:
    """A release installed in another namespace binds its pod-launcher Role to that namespace's Airflow
    ServiceAccounts, never to brook's (the former default airflow.namespace: brook granted it across namespaces)."""
    for namespace in ("brook", "analytics"):
        objs = render("kind", namespace=namespace)
        binding = by_name(objs, "RoleBinding")["brook-pod-launcher"]
        assert {s["namespace"] for s in binding["subjects"]} == {namespace}, binding["subjects"]
    explicit = render("kind", "airflow.namespace=airflow-ns", namespace="analytics")
    assert {s["namespace"] for s in by_name(explicit, "RoleBinding")["brook-pod-launcher"]["subjects"]} == {
        "airflow-ns"
    }


def test_dag_pipelines_and_their_service_accounts_come_together() -> None:
    """The Airflow image carries every pipeline's DAG; the chart tells the Airflow release which pipelines are enabled
    (ConfigMap brook-airflow-env, BROOK_PIPELINES, read through airflow-values.yaml's extraEnvFrom), and every
    enabled pipeline's DAG pods have their ServiceAccount and Secret, a disabled one's have neither."""
    assert "brook-airflow-env" in airflow_values().get("extraEnvFrom", ""), "Airflow does not read BROOK_PIPELINES"
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for sets, enabled in (((), {"bets"}), (("pipelines.telecom.enabled=true",), {"bets", "telecom"})):
        objs = render("kind", *sets)
        listed = by_name(objs, "ConfigMap")["brook-airflow-env"]["data"]["BROOK_PIPELINES"]
        assert set(listed.split(",")) == enabled
        accounts, envs = set(by_name(objs, "ServiceAccount")), set(secrets(objs))
        for pname, pipeline in values["pipelines"].items():
            for wname, workload in pipeline["workloads"].items():
                if "dagPod" in workload:
                    present = workload["dagPod"]["serviceAccount"] in accounts
                    assert present == (pname in enabled), f"{pname}: DAG pod ServiceAccount vs BROOK_PIPELINES"
                    assert (f"brook-{workload.get('secret', wname)}-env" in envs) == (pname in enabled)


def test_telecom_dag_checks_its_pipeline_is_enabled() -> None:
    """The chart's side: the DAG reads the variable the chart sets (its behaviour: tests/integration/
    test_telecom_dag.py::test_without_the_telecom_pipeline_the_dag_schedules_nothing)."""
    text = (ROOT / "jobs" / "dags" / "telecom_daily.py").read_text()
    assert re.search(r'setting\(\s*"PIPELINES"', text), "telecom_daily must read BROOK_PIPELINES"


def test_audit_is_a_restricted_job_with_its_own_read_only_user() -> None:
    """The audit: CronJob templates brook-audit-<pipeline> (suspended; `make k8s-audit` creates the Job), component
    `audit` (a peer of Kafka, Postgres and MinIO), KafkaUser brook-audit with Read/Describe on exactly the topics it
    audits (no Write, no group, no cluster), restricted securityContext; NOTES no longer suggests a bare `kubectl
    run` with the Flink user's Secret."""
    objs = render("kind", *TELECOM)
    cronjobs = by_name(objs, "CronJob")
    for pipeline in ("bets", "telecom"):
        cron = cronjobs[f"brook-audit-{pipeline}"]
        assert cron["spec"]["suspend"] is True
        pod = cron["spec"]["jobTemplate"]["spec"]["template"]
        assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "audit"
        container = pod["spec"]["containers"][0]
        assert [*container["command"], *container["args"]] == ["python", "-m", f"jobs.{pipeline}.audit"]
        assert container["args"], "make k8s-audit appends ARGS to an existing args list (JSON patch add /args/-)"
        assert {"secretRef": {"name": "brook-audit-env"}} in container["envFrom"]
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
    acls = by_name(objs, "KafkaUser")["brook-audit"]["spec"]["authorization"]["acls"]
    assert {a["resource"]["type"] for a in acls} == {"topic"}
    assert {op for a in acls for op in a["operations"]} <= {"Read", "Describe"}
    assert {a["resource"]["name"] for a in acls} == {"bets", "bets.dlq", "telecom_events"}
    env = secrets(objs)["brook-audit-env"]
    assert env["BROOK_KAFKA_USERNAME"] == "brook-audit" and {"BROOK_PG_PASSWORD", "BROOK_S3_SECRET_KEY"} <= set(env)
    p = peers(objs)
    assert "audit" in p["kafka"] and "audit" in p["postgres"] and "audit" in p["minio"]
    notes = (TEMPLATES / "NOTES.txt").read_text()
    assert " run " not in notes and "brook-flink-env" not in notes and "make k8s-audit" in notes


def test_bets_only_audit_user_reads_only_bets_topics() -> None:
    acls = by_name(render("kind"), "KafkaUser")["brook-audit"]["spec"]["authorization"]["acls"]
    assert {a["resource"]["name"] for a in acls} == {"bets", "bets.dlq"}
    assert "brook-audit-telecom" not in by_name(render("kind"), "CronJob")


def make_dry_run(*args: str) -> str:
    proc = subprocess.run(
        ["make", "-n", "-s", *args], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def merge_patch(target: dict, patch: dict) -> dict:
    """RFC 7386 JSON merge patch (kubectl patch --type merge)."""
    out = dict(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_patch(out[key], value)
        else:
            out[key] = value
    return out


@pytest.mark.parametrize(("verb", "state"), [("flink-suspend", "suspended"), ("flink-resume", "running")])
def test_flink_stop_and_start_by_job_state(verb: str, state: str) -> None:
    """`make flink-suspend/-resume JOB=...` patch job.state, the operator's way (Flink Kubernetes Operator docs, "Job
    management"): with upgradeMode savepoint a suspend is a cancel-with-savepoint and a resume restores from it. The
    patch, applied to the FlinkDeployment the chart renders, must give that state with a savepoint upgrade mode."""
    name = "brook-bets-top-games"
    out = make_dry_run(verb, f"JOB={name}")
    found = re.search(r"patch flinkdeployment (\S+) --type merge -p '([^']+)'", out)
    assert found, out
    assert found.group(1) == name
    flink = by_name(render("kind"), "FlinkDeployment")[name]
    patched = merge_patch(flink, json.loads(found.group(2)))
    assert patched["spec"]["job"]["state"] == state
    assert patched["spec"]["job"]["upgradeMode"] in ("savepoint", "last-state"), "a suspend must keep the state"
    assert patched["spec"]["flinkConfiguration"]["execution.checkpointing.savepoint-dir"].startswith("s3://")
    assert "JOB=" in make_dry_run(verb).replace("$(", ""), "without JOB the verb says what to give"


def test_suspended_jobs_stay_suspended_across_upgrades() -> None:
    """A helm upgrade renders job.state from values: flink.suspended keeps a suspended job suspended."""
    flinks = by_name(render("kind", "flink.suspended={brook-bets-avg-bet}"), "FlinkDeployment")
    states = {name: f["spec"]["job"]["state"] for name, f in flinks.items()}
    assert states.pop("brook-bets-avg-bet") == "suspended" and set(states.values()) == {"running"}
    docs = (ROOT / "docs" / "kubernetes.md").read_text()
    assert "make flink-suspend" in docs and "kubectl delete -f k8s/flink" not in docs


def pod_templates(obj: dict) -> list[dict]:
    spec = obj.get("spec", {})
    if obj["kind"] in ("Deployment", "Job"):
        return [spec["template"]]
    if obj["kind"] == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]]
    if obj["kind"] == "FlinkDeployment":
        return [spec["podTemplate"]]
    return []


@pytest.mark.parametrize("profile", PROFILES)
def test_kafka_is_scram_over_tls_trusted_through_the_cluster_ca(profile: str) -> None:
    """The SCRAM listener has TLS; every Kafka client pod (the listener's peers) mounts the Strimzi cluster CA
    (Secret <cluster>-cluster-ca-cert, key ca.crt: Strimzi docs, "Configuring internal clients to trust the cluster
    CA") where BROOK_KAFKA_CA_FILE points, and speaks SASL_SSL."""
    objs = render(profile, *TELECOM)
    kafka = next(o for o in objs if o["kind"] == "Kafka")
    listener = kafka["spec"]["kafka"]["listeners"][0]
    assert listener["tls"] is True and listener["authentication"]["type"] == "scram-sha-512"
    env = by_name(objs, "ConfigMap")["brook-env"]["data"]
    assert env["BROOK_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    ca_file = env["BROOK_KAFKA_CA_FILE"]
    ca_secret = f"{kafka['metadata']['name']}-cluster-ca-cert"
    kafka_peers = set(peers(objs)["kafka"])
    clients = 0
    for obj in objs:
        for pod_tpl in pod_templates(obj):
            component = pod_tpl["metadata"]["labels"]["app.kubernetes.io/component"]
            if component not in kafka_peers:
                continue
            clients += 1
            where = f"{obj['kind']}/{obj['metadata']['name']}"
            volumes = {v["name"]: v for v in pod_tpl["spec"].get("volumes", [])}
            ca = [name for name, v in volumes.items() if v.get("secret", {}).get("secretName") == ca_secret]
            assert ca, f"{where} does not mount {ca_secret}"
            mounts = pod_tpl["spec"]["containers"][0].get("volumeMounts", [])
            dirs = {m["mountPath"] for m in mounts if m["name"] in ca}
            assert dirs == {ca_file.rsplit("/", 1)[0]}, f"{where}: CA not where BROOK_KAFKA_CA_FILE points"
            items = volumes[ca[0]]["secret"].get("items") or [{"key": "ca.crt", "path": "ca.crt"}]
            assert {i["path"] for i in items if i["key"] == "ca.crt"} == {ca_file.rsplit("/", 1)[1]}
    assert clients >= 8, "producer, consumer, generator, Flink jobs, audits, their one-shot templates, Kafka UI"
    if profile == "kind":
        ui = by_name(objs, "Deployment")["brook-kafka-ui"]["spec"]["template"]["spec"]["containers"][0]
        ui_env = {e["name"]: e.get("value") for e in ui["env"]}
        assert ui_env["KAFKA_CLUSTERS_0_PROPERTIES_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert ui_env["KAFKA_CLUSTERS_0_PROPERTIES_SSL_TRUSTSTORE_LOCATION"] == ca_file


def test_minio_claim_survives_a_profile_switch() -> None:
    """A bound claim's size cannot change where its StorageClass forbids expansion (kind's local-path), so the kind →
    prod upgrade failed on the MinIO PVC. An existing claim is now rendered as it is (lookup of brook-minio) and kept
    on uninstall; `helm template` has no cluster, so this checks the template's guard and the documented step. The
    k8s_api tests' kind → prod upgrade is the proof against a real API server."""
    text = (TEMPLATES / "minio.yaml").read_text()
    assert 'lookup "v1" "PersistentVolumeClaim" .Release.Namespace "brook-minio"' in text
    assert "$claim.spec.resources.requests.storage" in text
    for profile in PROFILES:
        pvc = by_name(render(profile), "PersistentVolumeClaim")["brook-minio"]
        assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert "Changing profile" in (ROOT / "docs" / "kubernetes.md").read_text()


def test_one_shot_templates_exist_for_every_deployment_block() -> None:
    """`make k8s-smoke` produces a counted batch with brook-producer-once, also where the Deployment is off (prod)."""
    for profile in PROFILES:
        cron = by_name(render(profile), "CronJob")["brook-producer-once"]
        job = cron["spec"]["jobTemplate"]["spec"]
        assert cron["spec"]["suspend"] is True and job["backoffLimit"] == 0
        assert job["template"]["spec"]["containers"][0]["args"][:2] == ["-m", "jobs.bets.producer"]


@pytest.mark.upstream
def test_airflow_chart_takes_the_values_brook_relies_on() -> None:
    """With the official Airflow chart's source (make upstream-charts; unobtainable where Brook's CI runs, so
    deselected there): no migration Job is a Helm hook, airflow.cfg has DAGs unpaused at creation, every Airflow
    container reads brook-airflow-env, and the api-server's pods carry the labels brook-airflow-ingress selects."""
    chart = versions.brook_home() / "charts" / "airflow"
    if not (chart / "Chart.yaml").is_file():
        pytest.fail(f"the official Airflow chart is not at {chart}: run `make upstream-charts`")
    args = ["template", "airflow", str(chart), "-n", "brook", "--kube-version", KUBE_VERSION, "-f", str(AIRFLOW_VALUES)]
    proc = helm(*args)
    assert proc.returncode == 0, proc.stderr
    objs = [o for o in yaml.safe_load_all(proc.stdout) if isinstance(o, dict)]
    jobs = [o for o in objs if o["kind"] == "Job"]
    assert jobs and all("helm.sh/hook" not in (o["metadata"].get("annotations") or {}) for o in jobs)
    cfg = "".join(
        v for o in objs if o["kind"] == "ConfigMap" for k, v in (o.get("data") or {}).items() if k == "airflow.cfg"
    )
    assert re.search(r"^dags_are_paused_at_creation = False$", cfg, re.M), "airflow.cfg"
    workloads = [o for o in objs if o["kind"] in ("Deployment", "StatefulSet")]
    assert workloads
    for obj in workloads:
        for container in obj["spec"]["template"]["spec"]["containers"]:
            if container["name"] in ("scheduler", "api-server", "dag-processor", "triggerer"):
                sources = container.get("envFrom") or []
                assert {"configMapRef": {"name": "brook-airflow-env"}} in sources, obj["metadata"]["name"]
    policy = by_name(render("kind"), "NetworkPolicy")["brook-airflow-ingress"]["spec"]["podSelector"]
    api = [o for o in workloads if o["spec"]["template"]["metadata"]["labels"].get("component") == "api-server"]
    assert api and selects(policy, api[0]["spec"]["template"]["metadata"]["labels"])


def test_a_workload_whose_kafka_user_has_no_acl_row_fails_the_render() -> None:
    """A new workload without its ACL row fails here, at render time, not as an authorisation error in a cluster."""
    orphan = (
        "pipelines: {bets: {workloads: {scorer: {kafkaUser: brook-scorer, "
        "deployment: {enabled: true, module: jobs.bets.producer, replicas: 1, "
        "resources: {requests: {cpu: 10m, memory: 64Mi}, limits: {cpu: 100m, memory: 128Mi}}}}}}}"
    )
    proc = template("kind", orphan)
    assert proc.returncode != 0 and "kafkaUser brook-scorer has no ACLs" in proc.stderr, proc.stderr
    with_row = orphan.replace(
        "workloads:",
        "kafkaUsers: {brook-scorer: {acls: [{resource: {type: topic, name: bets, patternType: literal}, "
        "operations: [Read]}]}}, workloads:",
    )
    assert template("kind", with_row).returncode == 0
