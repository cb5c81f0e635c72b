"""The chart's ``pipelines.iot`` block (templates/kafka-connect.yaml, pipeline-databases.yaml, kafka.yaml,
networkpolicies.yaml, flink.yaml): values in, objects out. A logical CNPG Cluster with the Debezium role, the
Publication of exactly ``iot_readings``, a KafkaConnect managing its KafkaConnector whose config is
files/iot-connector.json plus where it runs, KafkaUsers with exactly the intended ACLs, the window job's
FlinkDeployment, and NetworkPolicies admitting only the Connect worker and the simulator to the source database
(evaluated with test_chart_render's :func:`admitted`)."""

from __future__ import annotations

import json

import pytest

from jobs.iot import connector
from jobs.iot.topics import TABLE, IotTopics
from tests.charts.conftest import render
from tests.charts.rendered import cnpg, component, one
from tests.charts.test_chart_render import admitted

pytestmark = pytest.mark.charts

ON = ("pipelines.iot.enabled=true",)
SOURCE = "brook-iot-source"
CONNECT = "brook-iot-connect"


def acls(user: dict) -> set[tuple]:
    """A KafkaUser's ACLs as (type, name, patternType, operation) rows."""
    return {
        (a["resource"]["type"], a["resource"].get("name"), a["resource"].get("patternType"), op)
        for a in user["spec"]["authorization"]["acls"]
        for op in a["operations"]
    }


@pytest.fixture(scope="module")
def objs() -> list[dict]:
    return render("kind", *ON)


def test_off_by_default_nothing_of_iot_renders() -> None:
    names = [o["metadata"]["name"] for o in render("kind")]
    assert not [n for n in names if "iot" in n]


def test_the_source_is_logical_and_owns_the_debezium_role(objs: list[dict]) -> None:
    cluster = one(objs, "Cluster", SOURCE)
    assert cluster["spec"]["postgresql"]["parameters"]["wal_level"] == "logical"
    [role] = cluster["spec"]["managed"]["roles"]
    assert role["name"] == connector.ROLE
    assert (role["login"], role["replication"], role["superuser"], role["createdb"]) == (True, True, False, False)
    assert "externalClusters" not in cluster["spec"]  # no subscriber: Debezium is the decoding client
    assert not [o for o in objs if o["kind"] == "Subscription" and "iot" in o["metadata"]["name"]]
    login = one(objs, "Secret", role["passwordSecret"]["name"])
    assert login["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    creds = one(objs, "Secret", "brook-credentials")["stringData"]
    assert (
        creds["iot-replication-password"] == login["stringData"]["password"]
        and len(creds["iot-replication-password"]) >= 32
    )
    schema = one(objs, "Job", f"{SOURCE}-schema-1")["spec"]["template"]["spec"]["containers"][0]
    assert schema["command"] == ["python", "-m", "jobs.iot.schema"]
    assert schema["args"] == ["--replication-role", connector.ROLE]


def test_the_publication_names_exactly_the_captured_table(objs: list[dict]) -> None:
    [pub] = [o for o in objs if o["kind"] == "Publication" and o["spec"]["cluster"]["name"] == SOURCE]
    assert (pub["spec"]["dbname"], pub["spec"]["name"]) == ("iot", connector.publication())
    assert [item["table"] for item in pub["spec"]["target"]["objects"]] == [{"schema": "public", "name": TABLE}]


def test_the_connect_worker_manages_its_connector_as_a_resource(objs: list[dict]) -> None:
    connect = one(objs, "KafkaConnect", CONNECT)
    assert connect["metadata"]["annotations"]["strimzi.io/use-connector-resources"] == "true"
    spec = connect["spec"]
    assert spec["authentication"] == {
        "type": "scram-sha-512",
        "username": CONNECT,
        "passwordSecret": {"secretName": CONNECT, "password": "password"},
    }
    assert {spec["groupId"], spec["configStorageTopic"], spec["offsetStorageTopic"], spec["statusStorageTopic"]} == {
        CONNECT,
        f"{CONNECT}-configs",
        f"{CONNECT}-offsets",
        f"{CONNECT}-status",
    }
    assert spec["template"]["pod"]["metadata"]["labels"]["app.kubernetes.io/component"] == "iot-connect"


def test_the_connector_config_is_the_local_one_where_it_runs(objs: list[dict]) -> None:
    """Everything connector.py registers locally, except where it runs: host, database and the password, which
    comes from the replication Secret through the config provider (never a literal)."""
    kc = one(objs, "KafkaConnector", connector.CONNECTOR)
    assert kc["metadata"]["labels"]["strimzi.io/cluster"] == CONNECT
    fixed = json.loads(connector.FIXED_CONFIG.read_text())
    assert kc["spec"]["class"] == fixed.pop("connector.class")
    assert kc["spec"]["tasksMax"] == int(fixed.pop("tasks.max"))
    config = kc["spec"]["config"]
    assert {k: config[k] for k in fixed} == fixed
    assert config["topic.prefix"] == IotTopics().prefix
    assert (config["database.hostname"], config["database.dbname"], config["database.user"]) == (
        f"{SOURCE}-rw",
        "iot",
        connector.ROLE,
    )
    assert config["database.password"] == "${secrets:brook/brook-iot-replication:password}"
    role = one(objs, "Role", f"{CONNECT}-secrets")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["brook-iot-replication"], "verbs": ["get"]}
    ]
    binding = one(objs, "RoleBinding", f"{CONNECT}-secrets")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": f"{CONNECT}-connect", "namespace": "brook"}]


def test_acls_are_exactly_as_intended(objs: list[dict]) -> None:
    changes = IotTopics().changes
    assert one(objs, "KafkaTopic", changes.replace("_", "-").replace(".", "-"))["spec"]["topicName"] == changes
    worker = acls(one(objs, "KafkaUser", CONNECT))
    assert worker == {
        ("group", CONNECT, "literal", "Read"),
        *{("topic", f"{CONNECT}-", "prefix", op) for op in ("Create", "Describe", "DescribeConfigs", "Read", "Write")},
        ("topic", f"{IotTopics().prefix}.", "prefix", "Write"),
        ("topic", f"{IotTopics().prefix}.", "prefix", "Describe"),
        ("cluster", None, None, "IdempotentWrite"),
    }
    flink = acls(one(objs, "KafkaUser", "brook-flink"))
    assert {a for a in flink if a[1] == changes} == {("topic", changes, "literal", op) for op in ("Read", "Describe")}
    assert not {a for a in flink if a[3] in ("Write", "Create") and a[1] and a[1].startswith(IotTopics().prefix)}
    others = [o for o in objs if o["kind"] == "KafkaUser" and o["metadata"]["name"] != CONNECT]
    assert not [
        (o["metadata"]["name"], a)
        for o in others
        for a in acls(o)
        if a[3] == "Write" and IotTopics().prefix in str(a[1])
    ], "only the Connect worker may write the change topic"


def test_the_window_job_is_a_flink_deployment(objs: list[dict]) -> None:
    job = one(objs, "FlinkDeployment", "brook-iot-windows")["spec"]["job"]
    assert job["args"][:2] == ["-pym", "jobs.iot.flink.windows"]


def test_the_kafka_listener_admits_the_connect_worker(objs: list[dict]) -> None:
    [peer] = one(objs, "Kafka", "brook")["spec"]["kafka"]["listeners"][0]["networkPolicyPeers"]
    assert "iot-connect" in peer["podSelector"]["matchExpressions"][0]["values"]


@pytest.mark.parametrize(
    ("source", "allowed"),
    [
        (component("iot-connect"), True),
        (component("iot-simulator"), True),
        (component(f"{SOURCE}-schema"), True),
        (component("flink"), False),
        (component("producer"), False),
        (component("cinema-generator"), False),
        (cnpg("brook-pg"), False),
    ],
)
def test_only_the_connect_worker_and_the_simulator_reach_the_source(
    objs: list[dict], source: dict[str, str], allowed: bool
) -> None:
    assert admitted(objs, source, cnpg(SOURCE), 5432) is allowed


def test_the_connect_worker_does_not_reach_brooks_own_database(objs: list[dict]) -> None:
    assert not admitted(objs, component("iot-connect"), cnpg("brook-pg"), 5432)
