"""k8s/ and skaffold.yaml: the kind config, the namespaces, the standalone FlinkDeployments (equal to what the chart
renders now), kubeconform over every manifest, the `restricted` profile over every pod the chart renders, and the
skaffold config as skaffold itself reads and renders it (offline: no Docker, no cluster here)."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tools import versions
from tools.k8s import pod_security, render_flink, ui

pytestmark = pytest.mark.charts

ROOT = versions.ROOT
K8S = ROOT / "k8s"
BIN = versions.brook_home() / "bin"
PINS = versions.load()
KIND_CONFIG = K8S / "kind-cluster.yaml"
# Not a Kubernetes resource (kind reads it before any cluster exists): checked against our schema instead.
NOT_KUBERNETES = {KIND_CONFIG}
SENTINELS = {  # image values skaffold would set, replaced by recognisable ones
    "app": ("test.invalid/sentinel-app", "t1"),
    "flinkJob": ("test.invalid/sentinel-flink-job", "t2"),
    "airflow": ("test.invalid/sentinel-airflow", "t3"),
    "iotConnect": ("test.invalid/sentinel-iot-connect", "t4"),
}
# skaffold's image values in the brook release: chart value (without .repository/.tag) → SENTINELS key
IMAGE_VALUES = {"images.app": "app", "images.flinkJob": "flinkJob", "pipelines.iot.connect.image": "iotConnect"}


def is_image_value(key: str) -> bool:
    return key.rpartition(".")[0] in IMAGE_VALUES


def tool(name: str, how: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} not found at {path}: run `{how}`")
    return str(path)


def chart_render(*extra: str) -> str:
    """charts/brook as `make up` deploys it; a chart that does not render yet fails here, with helm's message."""
    if not (render_flink.CHART / "Chart.yaml").is_file():
        pytest.fail("charts/brook/Chart.yaml does not exist yet")
    try:
        return render_flink.render_chart(tool("helm", "make tools"), *extra)
    except RuntimeError as exc:
        pytest.fail(str(exc))


def validate(*paths: Path, stdin: str | None = None) -> None:
    """`python -m tools.validate` as make and a user run it (its command line, not only its function)."""
    args = [str(p) for p in paths] if stdin is None else ["-"]
    proc = subprocess.run(
        [sys.executable, "-m", "tools.validate", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- kind config -------------------------------------------------------------------------------------------------


def kind_schema() -> dict:
    return json.loads((K8S / "kind-cluster.schema.json").read_text())


def test_kind_config_matches_kinds_schema() -> None:
    config = yaml.safe_load(KIND_CONFIG.read_text())
    jsonschema.validate(config, kind_schema())
    roles = [n["role"] for n in config["nodes"]]
    assert roles == ["control-plane", "worker"]
    assert config["name"] == "brook"


def kind_node_image() -> str:
    """The node image `make kind-cluster` passes with kind --image (mk/kind.mk KIND_NODE_IMAGE), from versions.env."""
    return f"kindest/node:v{PINS['KUBERNETES_VERSION']}@{PINS['KIND_NODE_DIGEST']}"


def test_kind_nodes_get_the_pinned_image_from_make() -> None:
    """The config names no image (kind --image sets every node's): the image make passes is pinned by digest."""
    config = yaml.safe_load(KIND_CONFIG.read_text())
    assert not [n for n in config["nodes"] if "image" in n], "node images come from versions.env via make"
    for node in config["nodes"]:
        node["image"] = kind_node_image()
    jsonschema.validate(config, kind_schema())
    kind_mk = (ROOT / "mk" / "kind.mk").read_text()
    assert "KIND_NODE_IMAGE := kindest/node:v$(KUBERNETES_VERSION)@$(KIND_NODE_DIGEST)" in kind_mk
    assert re.search(r"kind create cluster .*--config \$\(KIND_CONFIG\) --image \$\(KIND_NODE_IMAGE\)", kind_mk)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c.update(apiVersion="kind.x-k8s.io/v1alpha3"),
        lambda c: c["nodes"][0].update(extraPortMapings=[{"containerPort": 80}]),
        lambda c: c["nodes"][1].update(image=kind_node_image().split("@")[0]),
        lambda c: c.update(nodes=[{"role": "worker"}]),
    ],
    ids=["old-api", "typo", "unpinned-image", "no-control-plane"],
)
def test_kind_schema_rejects_broken_configs(mutate) -> None:
    """The schema has teeth: kind decodes strictly, and Brook pins node images by digest."""
    config = copy.deepcopy(yaml.safe_load(KIND_CONFIG.read_text()))
    mutate(config)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(config, kind_schema())


# --- manifests under k8s/ ----------------------------------------------------------------------------------------


def manifests() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p not in NOT_KUBERNETES)


def test_every_manifest_in_k8s_passes_kubeconform() -> None:
    files = manifests()
    assert K8S / "namespace.yaml" in files
    validate(*files)


def test_namespaces_enforce_pod_security() -> None:
    docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all((K8S / "namespace.yaml").read_text())}
    assert docs["brook"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert docs["brook-operators"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_standalone_flink_manifests_equal_the_chart_render() -> None:
    """k8s/flink/*.yaml are generated (`make k8s-manifests`): same files, same bytes as a fresh render."""
    expected = render_flink.flink_manifests(chart_render(*render_flink.ALL_PIPELINES))
    assert expected, "the chart renders no FlinkDeployment"
    committed = {p.name: p.read_text() for p in (K8S / "flink").glob("*.yaml")}
    assert sorted(committed) == sorted(expected), "run `make k8s-manifests`"
    stale = [name for name in expected if committed[name] != expected[name]]
    assert not stale, f"k8s/flink/ differs from the chart for {stale}: run `make k8s-manifests`"


def test_one_flink_deployment_per_job() -> None:
    files = sorted((K8S / "flink").glob("*.yaml"))
    modules = {  # a job is a runnable module (`python -m`); `all` runs the others together, helpers are not jobs
        f"jobs.{p.parent.parent.name}.flink.{p.stem}"
        for p in ROOT.glob("jobs/*/flink/*.py")
        if p.stem != "all" and 'if __name__ == "__main__":' in p.read_text()
    }
    assert modules, "no Flink job modules found under jobs/*/flink/"
    started = set()
    for path in files:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert len(docs) == 1 and docs[0]["kind"] == "FlinkDeployment", path
        job = docs[0]["spec"]["job"]
        assert job["jarURI"].startswith("local:///opt/flink/opt/flink-python-")
        assert job["entryClass"] == "org.apache.flink.client.python.PythonDriver"
        assert job["args"][0] == "-pym" and job["args"][1].startswith("jobs."), job["args"]
        started.add(job["args"][1])
        assert docs[0]["spec"]["serviceAccount"] == "brook-flink", "the chart's ServiceAccount, not the operator's"
    assert started == modules, f"Flink job modules without a FlinkDeployment: {modules - started}"


# --- the chart's pods vs the namespace's Pod Security level --------------------------------------------------------


def test_pod_security_checker_catches_a_root_pod() -> None:
    pod = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    report = pod_security.check([pod])
    assert "Pod/p" in report and any("allowPrivilegeEscalation" in v for v in report["Pod/p"])
    flink = {"kind": "FlinkDeployment", "metadata": {"name": "f"}, "spec": {}}
    assert pod_security.check([flink]), "a FlinkDeployment without securityContext must be reported"


def test_every_pod_the_chart_renders_meets_restricted() -> None:
    """Namespace brook enforces `restricted`: a pod breaking it would be rejected at `make up` (every pipeline on)."""
    objects = [o for _, o in render_flink.documents(chart_render(*render_flink.ALL_PIPELINES))]
    assert any(list(pod_security.pod_specs(o)) for o in objects), "the chart renders no pods?"
    report = pod_security.check(objects)
    assert not report, "\n".join(f"{where}: {'; '.join(v)}" for where, v in report.items())


# --- make ui ---------------------------------------------------------------------------------------------------


def test_make_ui_finds_every_ui_and_login_the_chart_renders() -> None:
    """tools/k8s/ui.py looks Services and Secrets up by name: the names must be the ones the chart renders (with
    superset.enabled, which renders the Superset release's login Secret)."""
    objects = [o for _, o in render_flink.documents(chart_render("--set", "superset.enabled=true"))]
    services = [o for o in objects if o["kind"] == "Service"]
    secrets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Secret"}
    for entry in ui.UIS:
        if entry.secret and not entry.monitoring:  # a login Secret of this chart (Superset's too)
            data = secrets[entry.secret].get("data") or secrets[entry.secret].get("stringData") or {}
            assert set(entry.keys) <= set(data), f"{entry.title}: Secret {entry.secret} lacks {entry.keys}"
        if entry.made_by:  # the Flink operator, the Airflow/Superset releases, kube-prometheus-stack
            continue
        matched = [s for s in services if re.search(entry.service, s["metadata"]["name"])]
        assert matched and ui.service_port(matched[0], entry.ports), f"{entry.title}: no Service /{entry.service}/"
    for _, name, keys in ui.EXTRA_SECRETS:
        data = secrets[name].get("data") or secrets[name].get("stringData") or {}
        assert set(keys) <= set(data)
    flink = [o for o in objects if o["kind"] == "FlinkDeployment"]
    assert flink and all(re.search(ui.UIS[0].service, o["metadata"]["name"] + "-rest") for o in flink)


# --- skaffold ------------------------------------------------------------------------------------------------------


def skaffold(*args: str, home: Path) -> subprocess.CompletedProcess:
    """skaffold as make runs it: versions.env in its environment (mk/kind.mk SKAFFOLD_RUN), Brook's helm on PATH."""
    env = {
        **os.environ,
        **PINS,
        "HOME": str(home),
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "SKAFFOLD_UPDATE_CHECK": "false",
    }
    return subprocess.run(
        [tool("skaffold", "make skaffold"), *args], capture_output=True, text=True, cwd=ROOT, env=env, check=False
    )


@pytest.mark.parametrize("profile", ["", "dev", "prod", "without-airflow"])
def test_skaffold_reads_the_config(profile: str, tmp_path: Path) -> None:
    """`skaffold diagnose --yaml-only` parses strictly (unknown fields fail) and applies the profile's patches."""
    proc = skaffold("diagnose", "--yaml-only", *(["-p", profile] if profile else []), home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    config = yaml.safe_load(proc.stdout)
    releases = config["manifests"]["helm"]["releases"]
    assert [r["name"] for r in releases] == (["brook"] if profile == "without-airflow" else ["brook", "airflow"])
    values = "values-prod.yaml" if profile == "prod" else "values-kind.yaml"
    assert [Path(f).relative_to(ROOT) if Path(f).is_absolute() else Path(f) for f in releases[0]["valuesFiles"]] == [
        Path("charts/brook") / values
    ]
    synced = [a for a in config["build"]["artifacts"] if a.get("sync")]
    assert [a["image"] for a in synced] == (["brook/airflow"] if profile == "dev" else [])


def skaffold_releases() -> dict[str, dict]:
    config = yaml.safe_load((ROOT / "skaffold.yaml").read_text())
    return {r["name"]: r for r in config["manifests"]["helm"]["releases"]}


def sentinel_sets(templates: dict[str, str]) -> list[str]:
    """skaffold's setValueTemplates with every image template replaced by a recognisable sentinel, and every
    versions.env key by its value (as skaffold does from the environment make gives it)."""
    values = {}
    for key, value in templates.items():
        value = re.sub(r"\{\{\.([A-Z][A-Z0-9_]*)\}\}", lambda m: PINS[m.group(1)], value)
        for name, (repo, tag) in SENTINELS.items():
            artifact = {
                "app": "brook_app",
                "flinkJob": "brook_flink_job",
                "airflow": "brook_airflow",
                "iotConnect": "brook_iot_connect",
            }[name]
            value = value.replace(f"{{{{.IMAGE_REPO_{artifact}}}}}", repo).replace(
                f"{{{{.IMAGE_TAG_{artifact}}}}}", tag
            )
        assert "{{" not in value, f"{key}: unknown template {value}"
        values[key] = value
    return ["--set", ",".join(f"{k}={v}" for k, v in values.items())]


def test_skaffold_injects_its_images_into_every_chart_image_value() -> None:
    """The brook release's setValueTemplates keys exist in the chart: they replace every brook/* image it renders."""
    templates = skaffold_releases()["brook"]["setValueTemplates"]
    images = {k: v for k, v in templates.items() if is_image_value(k)}
    assert set(images) == {f"{value}.{field}" for value in IMAGE_VALUES for field in ("repository", "tag")}
    rendered = chart_render(*render_flink.ALL_PIPELINES, *sentinel_sets(images))
    for name in IMAGE_VALUES.values():
        repo, tag = SENTINELS[name]
        assert f"{repo}:{tag}" in rendered, f"{repo}:{tag} (set through skaffold's key) appears nowhere in the render"
    ours = ("brook/app", "brook/flink-job", "brook/airflow", "brook/iot-connect")
    leftovers = sorted({w for w in rendered.split() if w.strip("\"'").startswith(ours)})
    assert not leftovers, f"images skaffold does not set: {leftovers}"


def airflow_values() -> dict:
    return yaml.safe_load((ROOT / "charts" / "brook" / "airflow-values.yaml").read_text())


def test_skaffold_sets_the_chart_versions_from_versions_env() -> None:
    """The brook release gets `--set <value>={{.KEY}}` for exactly tools.versions.CHART_VALUES (what make and the
    tests pass to helm too), so the deployed Kafka and Flink are versions.env's, not the chart's defaults."""
    templates = skaffold_releases()["brook"]["setValueTemplates"]
    chart_versions = {k: v for k, v in templates.items() if not is_image_value(k)}
    assert chart_versions == {value: f"{{{{.{key}}}}}" for value, key in versions.CHART_VALUES.items()}


def test_chart_renders_the_versions_of_versions_env() -> None:
    """Rendered as skaffold deploys it: the Strimzi Kafka runs KAFKA_VERSION (the local broker's too), every
    FlinkDeployment starts the image's Flink (FLINK_VERSION) with the matching flinkVersion."""
    objects = [o for _, o in render_flink.documents(chart_render(*render_flink.ALL_PIPELINES))]
    kafka = [o for o in objects if o["kind"] == "Kafka"]
    assert kafka and all(o["spec"]["kafka"]["version"] == PINS["KAFKA_VERSION"] for o in kafka)
    flink = [o for o in objects if o["kind"] == "FlinkDeployment"]
    major, minor = PINS["FLINK_VERSION"].split(".")[:2]
    assert flink
    for obj in flink:
        assert obj["spec"]["job"]["jarURI"] == f"local:///opt/flink/opt/flink-python-{PINS['FLINK_VERSION']}.jar"
        assert obj["spec"]["flinkVersion"] == f"v{major}_{minor}"


def test_local_kafka_is_the_chart_kafka() -> None:
    """One Kafka for both modes: `make kafka-jars` fetches KAFKA_VERSION (the pom has no version of its own)."""
    pom = (ROOT / "services" / "kafka" / "pom.xml").read_text()
    assert "<version>${KAFKA_VERSION}</version>" in pom and "<properties>" not in pom
    assert "-DKAFKA_VERSION=$(KAFKA_VERSION)" in (ROOT / "mk" / "services.mk").read_text()


def test_airflow_release_is_pinned_and_follows_brook() -> None:
    release = skaffold_releases()["airflow"]
    assert (release["remoteChart"], release["repo"], release["version"]) == (
        PINS["AIRFLOW_CHART"],
        PINS["AIRFLOW_CHART_REPO"],
        PINS["AIRFLOW_CHART_VERSION"],
    )
    assert release["namespace"] == "brook" and release["dependsOn"] == ["brook"]
    assert release["valuesFiles"] == ["charts/brook/airflow-values.yaml"]


def test_airflow_release_env_is_the_values_files_env() -> None:
    """`env` is set in full by skaffold (helm replaces lists): same names and values, but the exporter image's."""
    templates = skaffold_releases()["airflow"]["setValueTemplates"]
    env = airflow_values()["env"]
    templated = {
        "BROOK_EXPORT_IMAGE": "{{.IMAGE_REPO_brook_app}}",
        "BROOK_EXPORT_IMAGE_TAG": "{{.IMAGE_TAG_brook_app}}",
        "BROOK_CINEMA_DBT_IMAGE": "{{.IMAGE_REPO_brook_dbt}}",
        "BROOK_CINEMA_DBT_IMAGE_TAG": "{{.IMAGE_TAG_brook_dbt}}",
    }
    expected = {}
    for i, item in enumerate(env):
        expected[f"env[{i}].name"] = item["name"]
        expected[f"env[{i}].value"] = templated.get(item["name"], str(item["value"]))
    got = {k: v for k, v in templates.items() if k.startswith("env[")}
    assert got == expected
    assert templates["images.airflow.repository"] == "{{.IMAGE_REPO_brook_airflow}}"
    assert templates["images.airflow.tag"] == "{{.IMAGE_TAG_brook_airflow}}"


@pytest.mark.upstream
def test_airflow_release_renders_with_the_upstream_chart() -> None:
    """The Airflow release as skaffold installs it, rendered with the official chart (make upstream-charts): valid,
    restricted, running brook/airflow, launching exporter pods of brook/app, serving the UI `make ui` finds."""
    chart = versions.brook_home() / "charts" / "airflow"
    if not (chart / "Chart.yaml").is_file():
        pytest.fail(f"the official Airflow chart is not at {chart}: run `make upstream-charts` (mk/kind.mk)")
    templates = skaffold_releases()["airflow"]["setValueTemplates"]
    rendered = render_flink.helm_template(
        tool("helm", "make tools"),
        "airflow",
        str(chart),
        "--namespace",
        "brook",
        "--kube-version",
        render_flink.kube_version(),
        "-f",
        str(ROOT / "charts" / "brook" / "airflow-values.yaml"),
        *sentinel_sets(templates),
    )
    validate(stdin=rendered)
    objects = [o for _, o in render_flink.documents(rendered)]
    report = pod_security.check(objects)
    assert not report, report
    repo, tag = SENTINELS["airflow"]
    assert f"{repo}:{tag}" in rendered
    assert SENTINELS["app"][1] in rendered, "BROOK_EXPORT_IMAGE_TAG does not reach Airflow's pods"
    airflow_ui = next(entry for entry in ui.UIS if entry.title == "Airflow UI")
    services = [o for o in objects if o["kind"] == "Service" and re.search(airflow_ui.service, o["metadata"]["name"])]
    assert services and ui.service_port(services[0], airflow_ui.ports), "make ui would not find the Airflow UI"


def test_every_brook_image_the_chart_uses_is_built_by_skaffold() -> None:
    built = {a["image"] for a in yaml.safe_load((ROOT / "skaffold.yaml").read_text())["build"]["artifacts"]}
    used = set()
    for _, obj in render_flink.documents(chart_render()):
        if obj.get("kind") == "FlinkDeployment":
            used.add(obj["spec"]["image"].split(":")[0])
        for _, spec in pod_security.pod_specs(obj):
            for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
                if c.get("image", "").startswith("brook/"):
                    used.add(c["image"].split(":")[0].split("@")[0])
    brook = {image for image in used if image.startswith("brook/")}
    assert brook, "the chart deploys no brook/* image"
    assert brook <= built, f"deployed but never built: {brook - built}"


def test_skaffold_renders_for_the_kubernetes_version_of_versions_env() -> None:
    """skaffold passes helm flags verbatim (no templates), so this one line repeats KUBERNETES_VERSION."""
    flags = yaml.safe_load((ROOT / "skaffold.yaml").read_text())["manifests"]["helm"]["flags"]["template"]
    assert flags == ["--kube-version", PINS["KUBERNETES_VERSION"]]
    assert render_flink.kube_version() == PINS["KUBERNETES_VERSION"]


@pytest.mark.parametrize("profile", ["without-airflow", "prod,without-airflow"])
def test_skaffold_renders_offline(profile: str, tmp_path: Path) -> None:
    """`skaffold render --offline` (helm template underneath) works without Docker or a cluster. The Airflow release
    needs airflow.apache.org, unreachable here: it is rendered from the chart's source in its own test above."""
    args = ["render", "--offline", "--digest-source=tag", "--default-repo", "registry.test.invalid/brook"]
    proc = skaffold(*args, "-p", profile, home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    objects = [o for o in yaml.safe_load_all(proc.stdout) if isinstance(o, dict)]
    flink = [o for o in objects if o.get("kind") == "FlinkDeployment"]
    assert flink and all(o["spec"]["image"].startswith("registry.test.invalid/brook/") for o in flink)
    kafka = [o for o in objects if o.get("kind") == "Kafka"]
    assert kafka and all(o["spec"]["kafka"]["version"] == PINS["KAFKA_VERSION"] for o in kafka), "from the env"
