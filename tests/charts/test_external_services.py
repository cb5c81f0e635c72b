"""Bring your own Kafka, Postgres and S3 (``kafka.external``, ``postgres.external``, ``s3.external``): values in,
objects out. With a block on, nothing of that in-chart service renders (nor its NetworkPolicy), brook-env carries
the connection settings from values, every workload still gets every variable its settings require, and each login
comes from the user's existing Secret by ``secretKeyRef``, per KafkaUser for Kafka, never copied into a Secret of the
chart. A combination the chart cannot serve fails at render, naming the key."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.charts.conftest import render_values, template
from tests.charts.rendered import one
from tests.charts.test_chart_consistency import WORKLOAD_SETTINGS, provided, required_vars, workload_container
from tests.charts.test_chart_render import secrets

pytestmark = pytest.mark.charts

KAFKA_USERS = {
    "brook-producer": {"secret": "byo-kafka-producer"},
    "brook-consumer": {"secret": "byo-kafka-consumer", "usernameKey": "user", "passwordKey": "pass"},
    "brook-flink": {"secret": "byo-kafka-flink"},
    "brook-audit": {"secret": "byo-kafka-audit"},
    "brook-telecom": {"secret": "byo-kafka-telecom"},
}
KAFKA = {
    "enabled": True,
    "bootstrap": "kafka-1.example.net:9096,kafka-2.example.net:9096",
    "securityProtocol": "SASL_SSL",
    "saslMechanism": "SCRAM-SHA-256",
    "ca": {"secret": "byo-kafka-ca", "key": "ca.pem"},
    "users": KAFKA_USERS,
}
POSTGRES = {
    "enabled": True,
    "host": "pg.example.net",
    "port": 6432,
    "database": "brookdb",
    "sslmode": "verify-full",
    "secret": "byo-pg",
    "usernameKey": "user",
    "passwordKey": "pass",
}
S3 = {
    "enabled": True,
    "endpoint": "https://s3.eu-west-1.amazonaws.com",
    "region": "eu-west-1",
    "pathStyle": False,
    "secret": "byo-s3",
}
# values-kind.yaml turns Kafka UI on; with kafka.external it is refused (test_bad_combinations_fail_naming_the_key).
NO_KAFKA_UI = {"ui": {"kafkaUi": {"enabled": False}}}
TELECOM = {"pipelines": {"telecom": {"enabled": True}}}


def values(*blocks: dict) -> str:
    """A values file (YAML text) merging ``blocks`` one level deep (each top-level key once per block)."""
    merged: dict = {}
    for block in blocks:
        for key, value in block.items():
            merged.setdefault(key, {}).update(value)
    return yaml.safe_dump(merged)


ALL = values({"kafka": {"external": KAFKA}}, {"postgres": {"external": POSTGRES}}, {"s3": {"external": S3}})
ALL_ON = values(
    {"kafka": {"external": KAFKA}}, {"postgres": {"external": POSTGRES}}, {"s3": {"external": S3}}, NO_KAFKA_UI, TELECOM
)


@pytest.fixture(scope="module")
def objs() -> list[dict]:
    return render_values("kind", ALL_ON)


def names(objs: list[dict]) -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in objs}


def pod_specs(objs: list[dict]) -> dict[str, dict]:
    """Every pod spec the chart renders, by ``<kind>/<name>``."""
    out = {}
    for o in objs:
        spec = o.get("spec") or {}
        if o["kind"] in ("Deployment", "Job"):
            out[f"{o['kind']}/{o['metadata']['name']}"] = spec["template"]["spec"]
        elif o["kind"] == "CronJob":
            out[f"CronJob/{o['metadata']['name']}"] = spec["jobTemplate"]["spec"]["template"]["spec"]
        elif o["kind"] == "FlinkDeployment":
            out[f"FlinkDeployment/{o['metadata']['name']}"] = spec["podTemplate"]["spec"]
    return out


def env_refs(container: dict) -> dict[str, tuple[str, str]]:
    """Variable → (Secret, key) of a container's ``valueFrom.secretKeyRef`` entries."""
    return {
        e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in container.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }


# --- nothing of the replaced service renders -------------------------------------------------------------------------


def test_kafka_external_renders_nothing_of_strimzi() -> None:
    objs = render_values("kind", values({"kafka": {"external": KAFKA}}, NO_KAFKA_UI))
    assert not [n for n in names(objs) if n[0] in ("Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser")]
    volumes = [v for spec in pod_specs(objs).values() for v in spec.get("volumes", [])]
    assert "brook-cluster-ca-cert" not in str(volumes)
    assert {v["secret"]["secretName"] for v in volumes if v["name"] == "kafka-ca"} == {"byo-kafka-ca"}
    # The other services stay in-chart.
    assert {("Cluster", "brook-pg"), ("Deployment", "brook-minio")} <= names(objs)


def test_postgres_external_renders_nothing_of_cnpg_for_brooks_database() -> None:
    objs = render_values("kind", values({"postgres": {"external": POSTGRES}}))
    gone = {
        ("Cluster", "brook-pg"),
        ("Secret", "brook-pg-app-credentials"),
        ("Database", "brook-pg-airflow"),
        ("Secret", "brook-airflow-metadata"),
        ("NetworkPolicy", "brook-postgres-ingress"),
    }
    assert not gone & names(objs)
    assert not [o for o in objs if o["kind"] in ("Cluster", "Database")]
    assert [n for n in names(objs) if n[0] == "Job" and n[1].startswith("brook-migrate-")], "the migration still runs"
    assert ("Kafka", "brook") in names(objs)


def test_s3_external_renders_nothing_of_minio() -> None:
    objs = render_values("kind", values({"s3": {"external": S3}}))
    assert not [n for n in names(objs) if "minio" in n[1]]
    assert "brook-minio" not in yaml.safe_dump(objs)  # no Secret reference to MinIO's root login is left either
    assert ("Cluster", "brook-pg") in names(objs)


# --- every workload still gets what its settings require -------------------------------------------------------------


@pytest.mark.parametrize(
    "workload", ["brook-producer", "brook-consumer", "brook-migrate", "brook-audit-bets", "brook-audit-telecom"]
)
def test_workloads_get_every_required_variable(objs: list[dict], workload: str) -> None:
    missing = required_vars(*WORKLOAD_SETTINGS[workload]) - provided(objs, workload_container(objs, workload))
    assert not missing, f"{workload} lacks {sorted(missing)}"


def test_flink_jobs_get_every_required_variable_and_s3_keys(objs: list[dict]) -> None:
    flinks = [o for o in objs if o["kind"] == "FlinkDeployment"]
    assert len(flinks) == 5
    for flink in flinks:
        container = flink["spec"]["podTemplate"]["spec"]["containers"][0]
        missing = required_vars(*WORKLOAD_SETTINGS["flink"]) - provided(objs, container)
        assert not missing, f"{flink['metadata']['name']} lacks {sorted(missing)}"
        refs = env_refs(container)
        assert refs["AWS_ACCESS_KEY_ID"] == ("byo-s3", "AWS_ACCESS_KEY_ID")
        assert refs["AWS_SECRET_ACCESS_KEY"] == ("byo-s3", "AWS_SECRET_ACCESS_KEY")
        conf = flink["spec"]["flinkConfiguration"]
        assert conf["s3.endpoint"] == S3["endpoint"] and conf["s3.endpoint.region"] == "eu-west-1"
        assert conf["s3.path.style.access"] == "false"


def test_brook_env_carries_the_connection_settings(objs: list[dict]) -> None:
    env = one(objs, "ConfigMap", "brook-env")["data"]
    assert env["BROOK_KAFKA_BOOTSTRAP"] == KAFKA["bootstrap"]
    assert env["BROOK_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["BROOK_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-256"
    assert env["BROOK_KAFKA_CA_FILE"] == "/etc/brook/kafka-ca/ca.crt"
    pg = {k: env[f"BROOK_PG_{k.upper()}"] for k in ("host", "port", "database", "sslmode")}
    assert pg == {"host": "pg.example.net", "port": "6432", "database": "brookdb", "sslmode": "verify-full"}
    assert (env["BROOK_S3_ENDPOINT"], env["BROOK_S3_REGION"]) == (S3["endpoint"], "eu-west-1")


# --- the logins come from the user's Secrets, never copied -----------------------------------------------------------


def test_each_workload_logs_in_to_kafka_as_its_own_user(objs: list[dict]) -> None:
    """Least privilege as in-chart: each container's Kafka login is its KafkaUser's Secret (keys as configured)."""
    expected = {
        "brook-producer": ("byo-kafka-producer", "username", "password"),
        "brook-consumer": ("byo-kafka-consumer", "user", "pass"),
        "brook-audit-bets": ("byo-kafka-audit", "username", "password"),
        "brook-telecom-generator": ("byo-kafka-telecom", "username", "password"),
    }
    for workload, (secret, user_key, password_key) in expected.items():
        refs = env_refs(workload_container(objs, workload))
        assert refs["BROOK_KAFKA_USERNAME"] == (secret, user_key), workload
        assert refs["BROOK_KAFKA_PASSWORD"] == (secret, password_key), workload
    for flink in (o for o in objs if o["kind"] == "FlinkDeployment"):
        refs = env_refs(flink["spec"]["podTemplate"]["spec"]["containers"][0])
        assert refs["BROOK_KAFKA_PASSWORD"] == ("byo-kafka-flink", "password")


def test_postgres_and_s3_logins_come_from_their_secrets(objs: list[dict]) -> None:
    for name, spec in pod_specs(objs).items():
        container = spec["containers"][0]
        refs = env_refs(container)
        needs = provided(objs, container)
        if "BROOK_PG_HOST" in needs and "BROOK_PG_PASSWORD" in needs:
            assert refs["BROOK_PG_USER"] == ("byo-pg", "user"), name
            assert refs["BROOK_PG_PASSWORD"] == ("byo-pg", "pass"), name
        if "BROOK_S3_SECRET_KEY" in needs:
            assert refs["BROOK_S3_ACCESS_KEY"] == ("byo-s3", "AWS_ACCESS_KEY_ID"), name
            assert refs["BROOK_S3_SECRET_KEY"] == ("byo-s3", "AWS_SECRET_ACCESS_KEY"), name
    assert "BROOK_PG_PASSWORD" in env_refs(workload_container(objs, "brook-migrate"))


def test_no_chart_secret_holds_an_external_login(objs: list[dict]) -> None:
    """The workloads' env Secrets keep only what the chart generates (e.g. telecom's mask key); the user's Secrets are
    not rendered by the chart at all (DAG pods get theirs by secretKeyRef too: the test below)."""
    chart_secrets = secrets(objs)
    assert not {"byo-pg", "byo-s3", "byo-kafka-ca", *(u["secret"] for u in KAFKA_USERS.values())} & set(chart_secrets)
    logins = ("BROOK_KAFKA_USERNAME", "BROOK_KAFKA_PASSWORD", "BROOK_PG_USER", "BROOK_PG_PASSWORD")
    logins += ("BROOK_S3_ACCESS_KEY", "BROOK_S3_SECRET_KEY")
    for name, data in chart_secrets.items():
        assert not set(data or {}) & set(logins), name
    assert chart_secrets["brook-telecom-env"] == {
        "BROOK_TELECOM_MASK_KEY": chart_secrets["brook-credentials"]["telecom-mask-key"]
    }


def test_kafka_without_sasl_or_ca_needs_no_secret() -> None:
    """securityProtocol SSL with the system trust store: no users, no login variables, no CA volume or variable."""
    plain = dict(KAFKA, securityProtocol="SSL", ca={"secret": "", "key": "ca.crt"}, users={})
    objs = render_values("kind", values({"kafka": {"external": plain}}, NO_KAFKA_UI))
    env = one(objs, "ConfigMap", "brook-env")["data"]
    assert env["BROOK_KAFKA_SECURITY_PROTOCOL"] == "SSL" and "BROOK_KAFKA_CA_FILE" not in env
    for name, spec in pod_specs(objs).items():
        assert not [v for v in spec.get("volumes", []) if v["name"] == "kafka-ca"], name
        assert not [k for k in env_refs(spec["containers"][0]) if k.startswith("BROOK_KAFKA")], name
    missing = required_vars(*WORKLOAD_SETTINGS["brook-producer"]) - provided(
        objs, workload_container(objs, "brook-producer")
    )
    assert not missing


# --- what the chart cannot serve fails at render, naming the key -----------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (values({"kafka": {"external": {"enabled": True}}}), "/kafka/external/bootstrap"),
        (values({"postgres": {"external": dict(POSTGRES, secret="")}}), "/postgres/external/secret"),
        (values({"postgres": {"external": {"enabled": True, "secret": "x"}}}), "/postgres/external/host"),
        (values({"s3": {"external": {"enabled": True, "secret": "x"}}}), "/s3/external/endpoint"),
        (values({"s3": {"external": dict(S3, secret="")}}), "/s3/external/secret"),
        (
            values(
                {
                    "kafka": {
                        "external": dict(KAFKA, users={k: v for k, v in KAFKA_USERS.items() if k != "brook-consumer"})
                    }
                },
                NO_KAFKA_UI,
            ),
            "kafka.external.users.brook-consumer is required",
        ),
        (values({"kafka": {"external": KAFKA}}), "set ui.kafkaUi.enabled=false"),
        (
            values({"kafka": {"external": dict(KAFKA, saslMechanism="PLAIN")}}, NO_KAFKA_UI),
            "kafka.external.saslMechanism=PLAIN",
        ),
        (
            values({"kafka": {"external": KAFKA}}, NO_KAFKA_UI, {"pipelines": {"iot": {"enabled": True}}}),
            "pipelines.iot.connect",
        ),
        (
            values({"postgres": {"external": POSTGRES, "backup": {"enabled": True}}}),
            "set postgres.backup.enabled=false",
        ),
        (
            values({"s3": {"external": S3}, "postgres": {"backup": {"enabled": True}}}),
            "set postgres.backup.enabled=false",
        ),
    ],
)
def test_bad_combinations_fail_naming_the_key(extra: str, message: str) -> None:
    proc = template("kind", extra)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr


def test_all_three_render_together() -> None:
    """The three blocks at once, without Kafka UI (the k8s_api profile `external` installs this)."""
    objs = render_values("kind", values(yaml.safe_load(ALL), NO_KAFKA_UI))
    assert not [o for o in objs if o["kind"] in ("Kafka", "Cluster") or "minio" in o["metadata"]["name"]]


def test_dag_pods_get_their_logins_from_the_users_secrets(objs: list[dict]) -> None:
    """A DAG pod (KubernetesPodOperator) reads its env Secret, which holds no external login: brook-airflow-env tells
    jobs/dags/runners.py, per component, the secretKeyRef entries to add (tests/integration/test_telecom_dag.py
    proves the pods carry them). Each component gets exactly its Secret's needs, as a Deployment would."""
    external = json.loads(one(objs, "ConfigMap", "brook-airflow-env")["data"]["BROOK_DAG_POD_EXTERNAL_ENV"])
    refs = {component: env_refs({"env": entries}) for component, entries in external.items()}
    pg = {"BROOK_PG_USER": ("byo-pg", "user"), "BROOK_PG_PASSWORD": ("byo-pg", "pass")}
    s3 = {
        "BROOK_S3_ACCESS_KEY": ("byo-s3", "AWS_ACCESS_KEY_ID"),
        "BROOK_S3_SECRET_KEY": ("byo-s3", "AWS_SECRET_ACCESS_KEY"),
    }
    assert refs["exporter"] == pg | s3
    # telecom-batch shares Secret brook-telecom-env with the generator, so it logs in as the generator does
    generator = env_refs(workload_container(objs, "brook-telecom-generator"))
    assert refs["telecom-batch"] == {k: v for k, v in generator.items() if k in refs["telecom-batch"]}
    assert pg.items() <= refs["telecom-batch"].items()


def test_without_external_services_dag_pods_get_no_extra_env(rendered) -> None:
    data = one(rendered("kind"), "ConfigMap", "brook-airflow-env")["data"]
    assert json.loads(data["BROOK_DAG_POD_EXTERNAL_ENV"]) == {}
