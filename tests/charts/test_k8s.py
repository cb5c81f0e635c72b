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
SENTINELS = {
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
    expected = render_flink.flink_manifests(chart_render())
    assert expected, "the chart renders no FlinkDeployment"
    committed = {p.name: p.read_text() for p in (K8S / "flink").glob("*.yaml")}
    assert sorted(committed) == sorted(expected), "run `make k8s-manifests`"
    stale = [name for name in expected if committed[name] != expected[name]]
    assert not stale, f"k8s/flink/ differs from the chart for {stale}: run `make k8s-manifests`"


def test_one_flink_deployment_per_job() -> None:
    files = sorted((K8S / "flink").glob("*.yaml"))
    assert len(files) >= 4, "expected the four bets jobs (and the telecom one when it exists)"
    for path in files:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert len(docs) == 1 and docs[0]["kind"] == "FlinkDeployment", path
        job = docs[0]["spec"]["job"]
        assert job["jarURI"].startswith("local:///opt/flink/opt/flink-python-")
        assert job["entryClass"] == "org.apache.flink.client.python.PythonDriver"
        assert job["args"][0] == "-pym" and job["args"][1].startswith("jobs."), job["args"]
        assert docs[0]["spec"]["serviceAccount"] == "brook-flink", "the chart's ServiceAccount, not the operator's"


# --- the chart's pods vs the namespace's Pod Security level --------------------------------------------------------


def test_pod_security_checker_catches_a_root_pod() -> None:
    pod = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    report = pod_security.check([pod])
    assert "Pod/p" in report and any("allowPrivilegeEscalation" in v for v in report["Pod/p"])
    flink = {"kind": "FlinkDeployment", "metadata": {"name": "f"}, "spec": {}}
    assert pod_security.check([flink]), "a FlinkDeployment without securityContext must be reported"


def test_every_pod_the_chart_renders_meets_restricted() -> None:
    """Namespace brook enforces `restricted`: a pod breaking it would be rejected at `make up`."""
    objects = [o for _, o in render_flink.documents(chart_render())]
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


@pytest.mark.parametrize("profile", ["", "dev", "prod"])
def test_skaffold_reads_the_config(profile: str, tmp_path: Path) -> None:
    """`skaffold diagnose --yaml-only` parses strictly (unknown fields fail) and applies the profile's patches."""
    proc = skaffold("diagnose", "--yaml-only", *(["-p", profile] if profile else []), home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    config = yaml.safe_load(proc.stdout)
    release = config["manifests"]["helm"]["releases"][0]
    values = "values-prod.yaml" if profile == "prod" else "values-kind.yaml"
    assert release["valuesFiles"] == [str(ROOT / "charts" / "brook" / values)] or release["valuesFiles"] == [
        f"charts/brook/{values}"
    ]
    synced = [a for a in config["build"]["artifacts"] if a.get("sync")]
    assert [a["image"] for a in synced] == (["brook/airflow"] if profile == "dev" else [])


def test_skaffold_injects_its_images_into_every_chart_image_value() -> None:
    """The setValueTemplates keys exist in the chart: setting them replaces every brook/* image in the render."""
    config = yaml.safe_load((ROOT / "skaffold.yaml").read_text())
    keys = config["manifests"]["helm"]["releases"][0]["setValueTemplates"]
    assert set(keys) == {f"images.{name}.{field}" for name in SENTINELS for field in ("repository", "tag")}
    sets = [f"images.{n}.repository={repo},images.{n}.tag={tag}" for n, (repo, tag) in SENTINELS.items()]
    rendered = chart_render("--set", ",".join(sets))
    for repo, tag in SENTINELS.values():
        assert f"{repo}:{tag}" in rendered, f"{repo}:{tag} (set through skaffold's key) appears nowhere in the render"
    ours = ("brook/app", "brook/flink-job", "brook/airflow")
    leftovers = sorted({w for w in rendered.split() if w.strip("\"'").startswith(ours)})
    assert not leftovers, f"images skaffold does not set: {leftovers}"


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


@pytest.mark.parametrize("profile", ["", "prod"])
def test_skaffold_renders_offline(profile: str, tmp_path: Path) -> None:
    """`skaffold render --offline` (helm template underneath) works without Docker or a cluster."""
    args = ["render", "--offline", "--digest-source=tag", "--default-repo", "registry.test.invalid/brook"]
    proc = skaffold(*args, *(["-p", profile] if profile else []), home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    objects = [o for o in yaml.safe_load_all(proc.stdout) if isinstance(o, dict)]
    flink = [o for o in objects if o.get("kind") == "FlinkDeployment"]
    assert flink and all(o["spec"]["image"].startswith("registry.test.invalid/brook/") for o in flink)
