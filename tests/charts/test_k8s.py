"""k8s/ and skaffold.yaml: the kind config, the namespaces, the standalone FlinkDeployments (equal to what the chart
renders now), kubeconform over every manifest, the `restricted` profile over every pod the chart renders, and the
skaffold config as skaffold itself reads and renders it (offline: no Docker, no cluster here)."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import jsonschema
import pytest
import yaml

pytestmark = pytest.mark.charts

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
BIN = ROOT / ".brook" / "bin"
VALIDATE = ROOT / "dev" / "validate.py"
KIND_CONFIG = K8S / "kind-cluster.yaml"
# Not a Kubernetes resource (kind reads it before any cluster exists): checked against our schema instead.
NOT_KUBERNETES = {KIND_CONFIG}
SENTINELS = {  # image values skaffold would set, replaced by recognisable ones
    "app": ("test.invalid/sentinel-app", "t1"),
    "flinkJob": ("test.invalid/sentinel-flink-job", "t2"),
    "airflow": ("test.invalid/sentinel-airflow", "t3"),
}


def dev_module(name: str) -> ModuleType:
    """Import dev/k8s/<name>.py (dev/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"brook_dev_k8s_{name}", ROOT / "dev" / "k8s" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


render_flink = dev_module("render_flink")
pod_security = dev_module("pod_security")
ui = dev_module("ui")


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
    if not VALIDATE.exists():
        pytest.fail(f"{VALIDATE} (the kubeconform wrapper of mk/tools.mk) is missing")
    args = [str(p) for p in paths] if stdin is None else ["-"]
    proc = subprocess.run(
        [sys.executable, str(VALIDATE), *args], input=stdin, capture_output=True, text=True, check=False
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


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c.update(apiVersion="kind.x-k8s.io/v1alpha3"),
        lambda c: c["nodes"][0].update(extraPortMapings=[{"containerPort": 80}]),
        lambda c: c["nodes"][1].update(image="kindest/node:v1.37.0"),
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
    modules = {
        f"jobs.{p.parent.parent.name}.flink.{p.stem}"
        for p in ROOT.glob("jobs/*/flink/*.py")
        if p.stem not in ("__init__", "all")
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
    """dev/k8s/ui.py looks Services and Secrets up by name: the names must be the ones the chart renders."""
    objects = [o for _, o in render_flink.documents(chart_render())]
    services = [o for o in objects if o["kind"] == "Service"]
    secrets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Secret"}
    for entry in ui.UIS:
        if entry.title in ("Flink UI", "Airflow UI"):  # made by the Flink operator / the Airflow release
            continue
        matched = [s for s in services if re.search(entry.service, s["metadata"]["name"])]
        assert matched and ui.service_port(matched[0], entry.ports), f"{entry.title}: no Service /{entry.service}/"
        data = secrets[entry.secret].get("data") or secrets[entry.secret].get("stringData") or {}
        assert set(entry.keys) <= set(data), f"{entry.title}: Secret {entry.secret} lacks {entry.keys}"
    for _, name, keys in ui.EXTRA_SECRETS:
        data = secrets[name].get("data") or secrets[name].get("stringData") or {}
        assert set(keys) <= set(data)
    flink = [o for o in objects if o["kind"] == "FlinkDeployment"]
    assert flink and all(re.search(ui.UIS[0].service, o["metadata"]["name"] + "-rest") for o in flink)


# --- skaffold ------------------------------------------------------------------------------------------------------


def skaffold(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(home), "PATH": f"{BIN}:{os.environ['PATH']}", "SKAFFOLD_UPDATE_CHECK": "false"}
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
    """skaffold's setValueTemplates with every image template replaced by a recognisable sentinel."""
    values = {}
    for key, value in templates.items():
        for name, (repo, tag) in SENTINELS.items():
            artifact = {"app": "brook_app", "flinkJob": "brook_flink_job", "airflow": "brook_airflow"}[name]
            value = value.replace(f"{{{{.IMAGE_REPO_{artifact}}}}}", repo).replace(
                f"{{{{.IMAGE_TAG_{artifact}}}}}", tag
            )
        assert "{{" not in value, f"{key}: unknown template {value}"
        values[key] = value
    return ["--set", ",".join(f"{k}={v}" for k, v in values.items())]


def test_skaffold_injects_its_images_into_every_chart_image_value() -> None:
    """The brook release's setValueTemplates keys exist in the chart: they replace every brook/* image it renders."""
    templates = skaffold_releases()["brook"]["setValueTemplates"]
    assert set(templates) == {
        f"images.{name}.{field}" for name in ("app", "flinkJob") for field in ("repository", "tag")
    }
    rendered = chart_render(*sentinel_sets(templates))
    for name in ("app", "flinkJob"):
        repo, tag = SENTINELS[name]
        assert f"{repo}:{tag}" in rendered, f"{repo}:{tag} (set through skaffold's key) appears nowhere in the render"
    ours = ("brook/app", "brook/flink-job", "brook/airflow")
    leftovers = sorted({w for w in rendered.split() if w.strip("\"'").startswith(ours)})
    assert not leftovers, f"images skaffold does not set: {leftovers}"


def airflow_values() -> dict:
    return yaml.safe_load((ROOT / "charts" / "brook" / "airflow-values.yaml").read_text())


def test_airflow_release_is_pinned_and_follows_brook() -> None:
    release = skaffold_releases()["airflow"]
    pins = dict(
        line.split("=", 1) for line in (ROOT / "operators" / "versions.env").read_text().splitlines() if "=" in line
    )
    assert (release["remoteChart"], release["repo"], release["version"]) == (
        pins["AIRFLOW_CHART"],
        pins["AIRFLOW_CHART_REPO"],
        pins["AIRFLOW_CHART_VERSION"],
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
    """The Airflow release as skaffold installs it, rendered with the official chart's source (make upstream-charts):
    valid, restricted, running brook/airflow, launching exporter pods of brook/app, serving the UI `make ui` finds."""
    chart = ROOT / ".brook" / "charts" / "airflow"
    if not (chart / "Chart.yaml").is_file():
        pytest.fail(f"the official Airflow chart is not at {chart}: run `make upstream-charts` (mk/tools.mk)")
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


def test_skaffold_renders_for_the_kind_node_version() -> None:
    flags = yaml.safe_load((ROOT / "skaffold.yaml").read_text())["manifests"]["helm"]["flags"]["template"]
    assert flags == ["--kube-version", render_flink.kube_version()]


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
