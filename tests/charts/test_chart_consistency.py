"""The layers agree: every variable a workload's settings require is set by the chart for that workload; topic,
bucket and table-side names in values equal the jobs' defaults; the DAG's pod names exist in the chart."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from jobs.behaviour.settings import GatewaySettings, GatewayToken
from jobs.behaviour.topics import BehaviourTopics
from jobs.bets.consumer import ConsumerSettings
from jobs.bets.exporter import ExportSettings
from jobs.bets.topics import BetsTopics
from jobs.common.produce import ProducerSettings
from jobs.common.settings import KafkaSettings, PostgresSettings, S3Settings
from jobs.ecommerce.settings import EcommerceSettings
from jobs.flink.settings import FlinkSettings
from jobs.telecom.topics import TelecomTopics
from tests.charts.conftest import CHART, ROOT, render
from tools import chart_readme, versions

pytestmark = pytest.mark.charts
TELECOM = ("pipelines.telecom.enabled=true",)

# What each workload loads (its main()); a required field (no default) must be provided by the chart.
WORKLOAD_SETTINGS = {
    "brook-producer": (KafkaSettings, ProducerSettings, BetsTopics),
    "brook-consumer": (KafkaSettings, PostgresSettings, ConsumerSettings, BetsTopics),
    "brook-migrate": (PostgresSettings,),
    "flink": (KafkaSettings, PostgresSettings, FlinkSettings, BetsTopics, TelecomTopics),
    "exporter": (PostgresSettings, S3Settings, ExportSettings),
    "brook-audit-bets": (KafkaSettings, BetsTopics, PostgresSettings, S3Settings),  # jobs/bets/audit.py main()
    "brook-audit-telecom": (KafkaSettings, TelecomTopics, PostgresSettings),  # jobs/telecom/audit.py main()
    # jobs/behaviour/gateway.py main() (PostgresSettings: the live page, on by default)
    "brook-behaviour-gateway": (
        GatewaySettings,
        GatewayToken,
        KafkaSettings,
        ProducerSettings,
        BehaviourTopics,
        PostgresSettings,
    ),
    "brook-behaviour-emulator-once": (GatewayToken,),  # jobs/behaviour/emulator.py main()
    "brook-audit-behaviour": (KafkaSettings, BehaviourTopics, PostgresSettings),  # jobs/behaviour/audit.py main()
    "brook-ecommerce-generator-once": (S3Settings, EcommerceSettings),  # jobs/ecommerce/generator.py main()
}
SEED_003 = ("pipelines.behaviour.enabled=true", "pipelines.ecommerce.enabled=true")


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
        if obj["metadata"]["name"] == name and obj["kind"] == "CronJob":
            return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        if name == "brook-migrate" and obj["kind"] == "Job" and obj["metadata"]["name"].startswith("brook-migrate"):
            return obj["spec"]["template"]["spec"]["containers"][0]
    raise AssertionError(f"{name} not rendered")


@pytest.mark.parametrize(
    "workload", ["brook-producer", "brook-consumer", "brook-migrate", "brook-audit-bets", "brook-audit-telecom"]
)
def test_deployments_get_every_required_variable(workload: str) -> None:
    objs = render("kind", *TELECOM)
    missing = required_vars(*WORKLOAD_SETTINGS[workload]) - provided(objs, workload_container(objs, workload))
    assert not missing, f"{workload} lacks {sorted(missing)}"


@pytest.mark.parametrize(
    "workload",
    [
        "brook-behaviour-gateway",
        "brook-behaviour-emulator-once",
        "brook-audit-behaviour",
        "brook-ecommerce-generator-once",
    ],
)
def test_seed_003_workloads_get_every_required_variable(workload: str) -> None:
    objs = render("kind", *SEED_003)
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


def job_defaults() -> dict[str, str]:
    """BROOK_<NAME> → the default its ``setting("<NAME>", "<default>", …)`` gives, over every module of jobs/ (parsed,
    not imported: the names live wherever each pipeline keeps them)."""
    found: dict[str, str] = {}
    for path in (ROOT / "jobs").rglob("*.py"):
        for name, default in re.findall(r'setting\(\s*"(\w+)",\s*"([^"]*)"', path.read_text()):
            found[f"BROOK_{name}"] = default
    return found


def test_names_in_values_equal_the_job_defaults() -> None:
    """Every topic and bucket name a pipeline block puts in brook-env is the jobs' default for that variable."""
    objs = render("kind")
    env = next(o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "brook-env")["data"]
    defaults = job_defaults()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    named = {
        entry["env"]: entry["name"]
        for pipeline in values["pipelines"].values()
        for group in ("topics", "buckets")
        for entry in pipeline.get(group, {}).values()
        if "env" in entry  # a CDC change topic is named from its prefix, below
    } | {
        p["connect"]["connector"]["topicPrefixEnv"]: p["connect"]["connector"]["topicPrefix"]
        for p in values["pipelines"].values()
        if "connect" in p
    }
    assert {"BROOK_TOPIC_BETS", "BROOK_TOPIC_BETS_DLQ", "BROOK_TOPIC_TELECOM", "BROOK_S3_BUCKET"} <= set(named)
    for var, name in named.items():
        assert env[var] == name, var
        assert defaults.get(var) == name, f"{var}: values say {name!r}, the jobs default to {defaults.get(var)!r}"
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
    assert acl_topics <= topics
    groups = {
        acl["resource"]["name"]
        for o in objs
        if o["kind"] == "KafkaUser"
        for acl in o["spec"]["authorization"]["acls"]
        if acl["resource"]["type"] == "group"
    }
    assert ConsumerSettings.__dataclass_fields__["group"].default in groups
    assert "brook-flink" in groups  # prefix ACL; jobs/bets/flink/skeleton.py names groups brook-flink-<job>


def test_every_acl_topic_is_a_topic_of_its_pipelines() -> None:
    """With every pipeline on, no ACL names a topic that no pipeline declares (a typo would fail only at runtime)."""
    objs = render("kind", *TELECOM)
    topics = {o["spec"]["topicName"] for o in objs if o["kind"] == "KafkaTopic"}
    for user in (o for o in objs if o["kind"] == "KafkaUser" and o["metadata"]["name"] != "brook-ui"):
        for acl in user["spec"]["authorization"]["acls"]:
            if acl["resource"]["type"] == "topic":
                assert acl["resource"]["name"] in topics, f"{user['metadata']['name']}: {acl['resource']['name']}"


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


def test_dag_pod_labels_are_dag_pods_of_the_topology() -> None:
    """The component label each DAG gives its pods is a `dagPod` workload of values.yaml: its ServiceAccount and
    Secret are the DAG's defaults, and the NetworkPolicies admit it where its block says."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    dag_pods = {
        name: workload
        for pipeline in values["pipelines"].values()
        for name, workload in pipeline.get("workloads", {}).items()
        if "dagPod" in workload
    }
    defaults: dict[str, str] = {}
    labels: set[str] = set()
    for path in sorted((ROOT / "jobs" / "dags").glob("*.py")):
        text = path.read_text()
        defaults |= dict(re.findall(r'setting\(\s*"(\w+)",\s*"([^"]*)"', text))
        # A label dict ("app.kubernetes.io/component": "x") or the runners' Workload(component="x").
        labels |= set(re.findall(r'(?:"app\.kubernetes\.io/component":\s*|\bcomponent=)"([^"]+)"', text))
    assert labels == set(dag_pods), "DAG pod labels vs pipelines.<name>.workloads.<w>.dagPod in values.yaml"
    objs = render("kind", *TELECOM, "pipelines.cinema.enabled=true", "pipelines.ecommerce.enabled=true")
    accounts = {o["metadata"]["name"] for o in objs if o["kind"] == "ServiceAccount"}
    secrets = {o["metadata"]["name"] for o in objs if o["kind"] == "Secret"}
    assert {w["dagPod"]["serviceAccount"] for w in dag_pods.values()} <= accounts
    assert {defaults["EXPORT_SERVICE_ACCOUNT"], defaults["TELECOM_SERVICE_ACCOUNT"]} <= accounts
    assert {defaults["EXPORT_ENV_SECRET"], defaults["TELECOM_ENV_SECRET"], defaults["CINEMA_ENV_SECRET"]} <= secrets
    for name, workload in dag_pods.items():
        assert f"brook-{workload.get('secret', name)}-env" in secrets, name


# --- values are documented ------------------------------------------------------------------------------------------


def undocumented(node: object, where: str = "") -> list[str]:
    """Every property, anywhere in the schema (definitions included), without a description."""
    missing: list[str] = []
    if isinstance(node, dict):
        for name, child in (node.get("properties") or {}).items():
            if not isinstance(child, dict) or not child.get("description"):
                missing.append(f"{where}/{name}")
        for key, child in node.items():
            missing += undocumented(child, f"{where}/{key}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            missing += undocumented(child, f"{where}/{i}")
    return missing


def test_every_schema_property_has_a_description() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert not undocumented(schema)


def test_every_values_key_is_in_the_schema_table() -> None:
    """Each key of values.yaml (pipelines' own keys as <pipeline>) appears as a row of the generated table."""
    keys = {row[0] for row in chart_readme.rows(json.loads(chart_readme.SCHEMA.read_text()), {})}
    values = yaml.safe_load((CHART / "values.yaml").read_text())

    def paths(node: object, prefix: str) -> list[str]:
        if not isinstance(node, dict) or prefix.endswith(("esources", "acls", "env", "options", "generated")):
            return [prefix]
        return [prefix] + [p for k, v in node.items() for p in paths(v, f"{prefix}.{k}" if prefix else k)]

    generic = {
        "pipelines": "<pipeline>",
        "topics": "<topic>",
        "buckets": "<bucket>",
        "kafkaUsers": "<user>",
        "users": "<user>",
        "workloads": "<workload>",
        "databases": "<database>",
    }
    for path in paths(values, ""):
        parts = path.split(".") if path else []
        for i in range(1, len(parts)):
            if parts[i - 1] in generic:
                parts[i] = generic[parts[i - 1]]
        key = ".".join(parts)
        if key and "[" not in key and not key.endswith(">"):
            assert key in keys, f"values.yaml key {key} has no row in the README table"


def test_readme_values_table_is_not_stale() -> None:
    readme = chart_readme.README.read_text()
    assert chart_readme.update(readme, chart_readme.table()) == readme, "run `python -m tools.chart_readme`"


def test_pod_launcher_role_is_namespaced_and_pods_only() -> None:
    objs = render("kind")
    role = next(o for o in objs if o["kind"] == "Role" and o["metadata"]["name"] == "brook-pod-launcher")
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert resources <= {"pods", "pods/log", "pods/exec", "events"}
    assert not [o for o in objs if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]


def test_kafka_tls_variables_are_settings_the_jobs_read() -> None:
    """brook-env's Kafka security variables are KafkaSettings fields (jobs/common/settings.py): the CA file the chart
    mounts is what every Python client and the Flink Kafka source trust."""
    env = next(o for o in render("kind") if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "brook-env")["data"]
    fields = {f.metadata["env"]: f for f in dataclasses.fields(KafkaSettings)}
    for var in ("BROOK_KAFKA_SECURITY_PROTOCOL", "BROOK_KAFKA_SASL_MECHANISM", "BROOK_KAFKA_CA_FILE"):
        assert var in env and var in fields, var
    ssl = KafkaSettings(
        bootstrap="b:9092", security_protocol="SASL_SSL", username="u", password="p", ca_file=env["BROOK_KAFKA_CA_FILE"]
    )
    assert ssl.client_options()["ssl_cafile"] == env["BROOK_KAFKA_CA_FILE"]


# --- the kind end-to-end workflow ------------------------------------------------------------------------------------

WORKFLOW = ROOT / ".github" / "workflows" / "kind-e2e.yml"


def test_kind_e2e_workflow_passes_actionlint() -> None:
    """actionlint (ACTIONLINT_VERSION, built from its Go module by `make actionlint`, cached like helm) over every
    workflow; the kind workflow runs `make k8s-smoke`."""
    proc = subprocess.run(["make", "-s", "actionlint"], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    binary = versions.brook_home() / "bin" / "actionlint"
    info = subprocess.run(["go", "version", "-m", str(binary)], capture_output=True, text=True, timeout=60).stdout
    assert re.search(
        rf"^\s+mod\s+github.com/rhysd/actionlint\s+{re.escape(versions.get('ACTIONLINT_VERSION'))}\s", info, re.M
    )
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert WORKFLOW in workflows
    lint = subprocess.run([str(binary), "-no-color", *map(str, workflows)], capture_output=True, text=True, cwd=ROOT)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    steps = [
        step.get("run", "") for job in yaml.safe_load(WORKFLOW.read_text())["jobs"].values() for step in job["steps"]
    ]
    assert any(line.startswith("make k8s-smoke") for run in steps for line in run.splitlines())


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """The check has teeth: an unknown runner label and an undefined expression context are refused."""
    binary = versions.brook_home() / "bin" / "actionlint"
    if not binary.exists():
        pytest.fail("actionlint is missing: run `make actionlint`")
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ nope.x }}\n")
    lint = subprocess.run([str(binary), "-no-color", str(bad)], capture_output=True, text=True, cwd=tmp_path)
    assert lint.returncode != 0 and "nope" in lint.stdout, lint.stdout


def test_k8s_smoke_runs_up_produce_settle_audit() -> None:
    """`make k8s-smoke` as make would run it: its own kind cluster with the smoke profile, then wait for Kafka and the
    Flink jobs, a counted batch from brook-producer-once, the settle time, and the audit Job with --produced N."""
    proc = subprocess.run(
        ["make", "-n", "-s", "k8s-smoke-run", "SMOKE_EVENTS=123", "K8S_CONTEXT=kind-x"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    order = [
        "wait kafka/brook",
        "wait flinkdeployment",
        "cronjob/brook-producer-once",
        "sleep",
        "cronjob/brook-audit-bets",
    ]
    positions = [out.find(marker) for marker in order]
    assert -1 not in positions and positions == sorted(positions), out
    assert "--count 123 --rate 0" in out and "--produced 123" in out and "--context kind-x" in out
    up = subprocess.run(["make", "-n", "-s", "k8s-smoke"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert "KIND_CLUSTER=brook-smoke" in up.stdout and "SKAFFOLD_PROFILES=smoke" in up.stdout, up.stdout


def test_skaffold_smoke_profile_deploys_no_demo_producer(tmp_path: Path) -> None:
    """skaffold's `smoke` profile (make k8s-smoke) as skaffold renders it offline: the producer's Deployment is off,
    its one-shot template brook-producer-once and the audit template are there, images are skaffold's."""
    from tests.charts.test_k8s import skaffold

    args = ["render", "--offline", "--digest-source=tag", "--default-repo", "registry.test.invalid/brook"]
    proc = skaffold(*args, "-p", "smoke,without-airflow", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    objects = [o for o in yaml.safe_load_all(proc.stdout) if isinstance(o, dict)]
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert ("Deployment", "brook-producer") not in names and ("Deployment", "brook-consumer") in names
    assert {("CronJob", "brook-producer-once"), ("CronJob", "brook-audit-bets")} <= names
    once = next(o for o in objects if o["metadata"]["name"] == "brook-producer-once")
    image = once["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith("registry.test.invalid/brook/"), image


@pytest.mark.parametrize(("target", "cronjob"), [("k8s-audit", "brook-audit-bets"), ("k8s-run", "brook-producer-once")])
def test_k8s_job_args_reach_the_container(target: str, cronjob: str) -> None:
    """`make k8s-audit/k8s-run ARGS=...` turn ARGS into a JSON patch (add to .../containers/0/args/-) of the Job that
    `kubectl create job --from=cronjob/...` makes from the chart's template: applied to that template, the container
    runs its module with ARGS appended (the list must exist for the patch to apply)."""
    proc = subprocess.run(
        ["make", "-n", "-s", target, f"TASK={cronjob}", "ARGS=--produced 7 --expect-exported"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert f"--from=cronjob/{cronjob}" in proc.stdout
    command = re.search(r'-p "\$\((printf .*?)\)" \|', proc.stdout).group(1)
    patch = json.loads(subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout)
    cron = next(o for o in render("kind") if o["kind"] == "CronJob" and o["metadata"]["name"] == cronjob)
    job = {"spec": json.loads(json.dumps(cron["spec"]["jobTemplate"]["spec"]))}
    for op in patch:
        assert op["op"] == "add" and op["path"].endswith("/-")
        node = job
        for part in op["path"].strip("/").split("/")[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node.append(op["value"])
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:2] == ["-m", cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"][1]]
    assert args[-3:] == ["--produced", "7", "--expect-exported"]


def test_helm_waits_as_long_as_the_migration_may_retry() -> None:
    """skaffold's helm install/upgrade waits for the post-install hooks; Helm's 5-minute default would give up while
    the migration Job still retries (CNPG bootstrapping Postgres on a first install): the timeout covers its
    deadline."""
    flags = yaml.safe_load((ROOT / "skaffold.yaml").read_text())["manifests"]["helm"]["flags"]
    job = next(o for o in render("kind") if o["kind"] == "Job" and o["metadata"]["name"].startswith("brook-migrate"))
    deadline = job["spec"]["activeDeadlineSeconds"]
    for verb in ("install", "upgrade"):
        value = flags[verb][flags[verb].index("--timeout") + 1]
        minutes = re.fullmatch(r"(\d+)m", value)
        assert minutes and int(minutes.group(1)) * 60 >= deadline, f"{verb} --timeout {value} < {deadline}s"
