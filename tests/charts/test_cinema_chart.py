"""The chart's ``pipelines.cinema`` block (templates/pipeline-databases.yaml, networkpolicies.yaml): values in,
objects out. Two CNPG Clusters, the Publication of exactly the replicated tables, the Subscription dialling the
publisher as the replication role, the DAG pods' ServiceAccounts and env Secret, and NetworkPolicies admitting only
the intended peers (evaluated with test_chart_render's :func:`admitted`)."""

from __future__ import annotations

import pytest

from jobs.cinema import replication
from jobs.cinema.databases import OLTP, WAREHOUSE, pg_env_from
from jobs.dags.settings import DEFAULTS as SHARED
from tests.charts.conftest import render
from tests.charts.rendered import cnpg, component, one
from tests.charts.test_chart_render import admitted

pytestmark = pytest.mark.charts

ON = ("pipelines.cinema.enabled=true",)
PUBLISHER, SUBSCRIBER = "brook-cinema-oltp", "brook-cinema-warehouse"


@pytest.fixture(scope="module")
def objs() -> list[dict]:
    return render("kind", *ON)


def test_off_by_default_nothing_of_cinema_renders() -> None:
    names = [o["metadata"]["name"] for o in render("kind")]
    assert not [n for n in names if "cinema" in n]


def test_the_publisher_is_logical_and_owns_the_replication_role(objs: list[dict]) -> None:
    pub, sub = one(objs, "Cluster", PUBLISHER), one(objs, "Cluster", SUBSCRIBER)
    assert pub["spec"]["postgresql"]["parameters"]["wal_level"] == "logical"
    assert "postgresql" not in sub["spec"]
    [role] = pub["spec"]["managed"]["roles"]
    assert role["name"] == replication.ROLE
    assert (role["login"], role["replication"], role["superuser"]) == (True, True, False)
    login = one(objs, "Secret", role["passwordSecret"]["name"])
    assert login["type"] == "kubernetes.io/basic-auth" and login["stringData"]["username"] == replication.ROLE
    assert login["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert len(login["stringData"]["password"]) >= 32
    creds = one(objs, "Secret", "brook-credentials")["stringData"]
    assert creds["cinema-replication-password"] == login["stringData"]["password"]  # kept across upgrades there


def test_the_publication_names_exactly_the_replicated_tables(objs: list[dict]) -> None:
    [pub] = [o for o in objs if o["kind"] == "Publication"]
    spec = pub["spec"]
    assert (spec["cluster"]["name"], spec["dbname"], spec["name"]) == (PUBLISHER, "cinema", replication.PUBLICATION)
    tables = [item["table"] for item in spec["target"]["objects"]]
    assert tables == [{"schema": "public", "name": t} for t in replication.PUBLISHED]


def test_the_subscription_dials_the_publisher_as_the_replication_role(objs: list[dict]) -> None:
    [sub] = [o for o in objs if o["kind"] == "Subscription"]
    spec = sub["spec"]
    assert spec["cluster"]["name"] == SUBSCRIBER and spec["name"] == replication.SUBSCRIPTION
    assert (spec["publicationName"], spec["publicationDBName"]) == (replication.PUBLICATION, "cinema")
    [external] = one(objs, "Cluster", SUBSCRIBER)["spec"]["externalClusters"]
    assert external["name"] == spec["externalClusterName"] == PUBLISHER
    params = external["connectionParameters"]
    assert (params["host"], params["user"], params["dbname"]) == (f"{PUBLISHER}-rw", replication.ROLE, "cinema")
    [role] = one(objs, "Cluster", PUBLISHER)["spec"]["managed"]["roles"]
    assert external["password"] == {"name": role["passwordSecret"]["name"], "key": "password"}


def test_schema_jobs_create_the_tables_on_both_and_grant_on_the_publisher(objs: list[dict]) -> None:
    jobs = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Job" and "cinema" in o["metadata"]["name"]}
    assert set(jobs) == {f"{PUBLISHER}-schema-1", f"{SUBSCRIBER}-schema-1"}
    for name, job in jobs.items():
        [main] = job["spec"]["template"]["spec"]["containers"]
        assert main["command"] == ["python", "-m", "jobs.cinema.schema"]
        env = {e["name"]: e.get("value") or e["valueFrom"]["secretKeyRef"]["name"] for e in main["env"]}
        cluster = name.removesuffix("-schema-1")
        assert env["BROOK_PG_HOST"] == f"{cluster}-rw" and env["BROOK_PG_PASSWORD"] == f"{cluster}-app-credentials"
    [pub] = jobs[f"{PUBLISHER}-schema-1"]["spec"]["template"]["spec"]["containers"]
    assert pub["args"] == ["--replication-role", replication.ROLE]
    assert "args" not in jobs[f"{SUBSCRIBER}-schema-1"]["spec"]["template"]["spec"]["containers"][0]


def test_the_dag_pods_find_every_variable_their_tasks_reference(objs: list[dict]) -> None:
    """jobs/dags/cinema_elt.py maps BROOK_PG_* onto $(BROOK_CINEMA_<db>_PG_*): brook-env + brook-cinema-env must
    define each, or the kubelet would pass the reference through literally."""
    env = one(objs, "ConfigMap", "brook-env")["data"]
    secret = one(objs, "Secret", "brook-cinema-env")["stringData"]
    defined = set(env) | set(secret)
    for scope in (OLTP, WAREHOUSE):
        for reference in pg_env_from(scope).values():
            assert reference.removeprefix("$(").removesuffix(")") in defined, reference
    assert set(secret) == {"BROOK_CINEMA_OLTP_PG_PASSWORD", "BROOK_CINEMA_WAREHOUSE_PG_PASSWORD"}
    for cluster, variable in ((PUBLISHER, "OLTP"), (SUBSCRIBER, "WAREHOUSE")):
        owner = one(objs, "Secret", f"{cluster}-app-credentials")["stringData"]
        assert secret[f"BROOK_CINEMA_{variable}_PG_PASSWORD"] == owner["password"]
        assert env[f"BROOK_CINEMA_{variable}_PG_USER"] == owner["username"]
        assert env[f"BROOK_CINEMA_{variable}_PG_HOST"] == f"{cluster}-rw"
    accounts = {o["metadata"]["name"] for o in objs if o["kind"] == "ServiceAccount"}
    assert {f"brook-cinema-{step}" for step in ("generator", "lag", "dbt")} <= accounts
    assert "cinema" in one(objs, "ConfigMap", "brook-airflow-env")["data"]["BROOK_PIPELINES"].split(",")
    assert SHARED.env_configmap == "brook-env"


@pytest.mark.parametrize(
    ("source", "publisher", "warehouse"),
    [
        (component("cinema-generator"), True, False),  # writes the OLTP only
        (component("cinema-lag"), True, True),  # reads both (the lag check)
        (component("cinema-dbt"), False, True),  # the warehouse reader
        (cnpg(SUBSCRIBER), True, True),  # the subscription's workers (and the warehouse's own instances)
        (component(f"{PUBLISHER}-schema"), True, False),
        (component(f"{SUBSCRIBER}-schema"), False, True),
        (component("consumer"), False, False),  # Brook's other workloads
        (component("exporter"), False, False),
        (cnpg("brook-pg"), False, False),  # Brook's own database
    ],
)
def test_network_policies_admit_exactly_the_intended_peers(
    objs: list[dict], source: dict[str, str], publisher: bool, warehouse: bool
) -> None:
    assert admitted(objs, source, cnpg(PUBLISHER), 5432) is publisher
    assert admitted(objs, source, cnpg(SUBSCRIBER), 5432) is warehouse


def test_cinema_pods_do_not_reach_brooks_own_database(objs: list[dict]) -> None:
    for step in ("generator", "lag", "dbt"):
        assert not admitted(objs, component(f"cinema-{step}"), cnpg("brook-pg"), 5432)
