"""operators/: each values file renders with its pinned upstream chart and the result passes kubeconform.

The upstream charts come from `make upstream-charts` ($BROOK_HOME/charts/<chart>, helm pull from their Helm
repositories); a missing one fails here, naming the command, instead of being skipped. The versions are read from
versions.env, the one place `make operators` reads them too.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools.k8s import pod_security, render_flink
from tools.versions import ROOT, brook_home, load

pytestmark = pytest.mark.charts
# Tests marked `upstream` render the operators' official charts. Those sources are published only on the charts'
# own Helm repositories and GitHub, which this project's registries (PyPI, Maven Central, the Go module proxy —
# it refuses these repositories —, Debian, npm, crates.io) do not serve, so `make test` deselects them; they
# passed against the official sources unpacked by hand (docs/kubernetes.md "What CI proves").

CHARTS = brook_home() / "charts"
HELM = brook_home() / "bin" / "helm"
NAMESPACE = "brook-operators"
WATCHED = "brook"
# versions.env prefix → (helm release name in mk/kind.mk, upstream chart directory)
OPERATORS = {
    "STRIMZI": ("strimzi", "strimzi-kafka-operator"),
    "FLINK_OPERATOR": ("flink-operator", "flink-kubernetes-operator"),
    "CNPG": ("cnpg", "cloudnative-pg"),
}


def versions() -> dict[str, str]:
    """versions.env (the operators' charts, repositories and versions are pinned there)."""
    return load()


def chart_dir(chart: str) -> Path:
    path = CHARTS / chart
    if not (path / "Chart.yaml").is_file():
        pytest.fail(f"upstream chart {chart} is not at {path}: run `make upstream-charts` (mk/kind.mk)")
    return path


def helm() -> str:
    if not HELM.exists():
        pytest.fail(f"helm not found at {HELM}: run `make tools`")
    return str(HELM)


@functools.cache
def render(release: str, chart: str) -> str:
    proc = subprocess.run(
        [
            helm(),
            "template",
            release,
            str(chart_dir(chart)),
            "--namespace",
            NAMESPACE,
            "--include-crds",
            "--kube-version",
            render_flink.kube_version(),
            "-f",
            str(ROOT / "operators" / f"values-{chart}.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def objects(rendered: str) -> list[dict]:
    return [o for o in yaml.safe_load_all(rendered) if isinstance(o, dict)]


def test_versions_file_pins_every_operator() -> None:
    pins = versions()
    for prefix, (_, chart) in OPERATORS.items():
        assert pins[f"{prefix}_CHART"] == chart
        assert re.fullmatch(r"\d+\.\d+\.\d+", pins[f"{prefix}_CHART_VERSION"])
        assert pins[f"{prefix}_CHART_REPO"].startswith("https://")
        assert (ROOT / "operators" / f"values-{chart}.yaml").is_file()
        assert re.fullmatch(r"\d+\.\d+\.\d+", pins[f"{prefix}_APP_VERSION"])


def test_make_operators_installs_each_pin() -> None:
    """`make operators` installs every operator of versions.env, with its values file, through one helm line."""
    kind_mk = (ROOT / "mk" / "kind.mk").read_text()
    for prefix, (release, _) in OPERATORS.items():
        assert f"$(call operator_helm,{release},{prefix})" in kind_mk
        assert f"$(call upstream_chart,{prefix})" in kind_mk
    assert "$(call upstream_chart,AIRFLOW)" in kind_mk


@pytest.mark.parametrize("prefix", OPERATORS)
@pytest.mark.upstream
def test_upstream_chart_is_the_pinned_release(prefix: str) -> None:
    pins = versions()
    chart = chart_dir(OPERATORS[prefix][1])
    if prefix == "STRIMZI":
        # Strimzi's source keeps a placeholder Chart.yaml (0.1.x), versioned when packaged; its release tag is in the
        # images the chart deploys.
        defaults = yaml.safe_load((chart / "values.yaml").read_text())
        assert defaults["defaultImageTag"] == pins["STRIMZI_APP_VERSION"]
        return
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    assert str(meta["version"]) == pins[f"{prefix}_CHART_VERSION"]
    assert str(meta["appVersion"]).lstrip("v") == pins[f"{prefix}_APP_VERSION"]


def value_paths(values: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path of a values file, down to leaves (lists are leaves)."""
    if isinstance(values, dict) and values:
        return [p for k, v in values.items() for p in value_paths(v, (*prefix, str(k)))]
    return [prefix]


@pytest.mark.parametrize("prefix", OPERATORS)
@pytest.mark.upstream
def test_every_value_we_set_is_read_by_the_chart(prefix: str) -> None:
    """Helm ignores unknown keys silently: each path we set is read, itself or through a prefix used whole
    (e.g. `toYaml .Values.resources`)."""
    chart = chart_dir(OPERATORS[prefix][1])
    templates = "\n".join(p.read_text(errors="replace") for p in (chart / "templates").rglob("*") if p.is_file())
    ours = yaml.safe_load((ROOT / "operators" / f"values-{OPERATORS[prefix][1]}.yaml").read_text())
    unused = []
    for path in value_paths(ours):
        if not any(
            re.search(re.escape(".Values." + ".".join(path[:n])) + r"(?![\w.])", templates)
            for n in range(len(path), 0, -1)
        ):
            unused.append(".".join(path))
    assert not unused, f"{chart.name} templates never read: {unused}"


@pytest.mark.parametrize("prefix", OPERATORS)
@pytest.mark.upstream
def test_values_render_and_validate(prefix: str) -> None:
    release, chart = OPERATORS[prefix]
    rendered = render(release, chart)
    assert objects(rendered), f"{chart} rendered nothing"
    proc = subprocess.run(
        [sys.executable, "-m", "tools.validate", "-"],
        input=rendered,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("prefix", OPERATORS)
@pytest.mark.upstream
def test_operator_pods_meet_restricted(prefix: str) -> None:
    """Namespace brook-operators enforces `restricted` too (k8s/namespace.yaml)."""
    objs = objects(render(*OPERATORS[prefix]))
    assert any(list(pod_security.pod_specs(o)) for o in objs)
    assert not pod_security.check(objs), pod_security.check(objs)


@pytest.mark.upstream
def test_strimzi_watches_brook_with_restricted_operands() -> None:
    objs = objects(render(*OPERATORS["STRIMZI"]))
    bindings = [o for o in objs if o["kind"] == "RoleBinding" and o["metadata"].get("namespace") == WATCHED]
    assert bindings, "no RoleBinding for the operator in namespace brook"
    deployment = next(o for o in objs if o["kind"] == "Deployment")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert WATCHED in env["STRIMZI_NAMESPACE"]
    assert env["STRIMZI_POD_SECURITY_PROVIDER_CLASS"] == "restricted"


@pytest.mark.upstream
def test_flink_operator_watches_brook_without_webhook() -> None:
    objs = objects(render(*OPERATORS["FLINK_OPERATOR"]))
    kinds = {o["kind"] for o in objs}
    assert not kinds & {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "Certificate", "Issuer"}
    in_brook = {(o["kind"], o["metadata"]["name"]) for o in objs if o["metadata"].get("namespace") == WATCHED}
    assert ("RoleBinding", "flink-operator-role-binding") in in_brook, "the operator cannot manage namespace brook"
    # Brook's chart owns the Flink pods' ServiceAccount/Role (brook-flink); the operator must not add its own.
    assert not {kind for kind, _ in in_brook} & {"ServiceAccount"}, in_brook
    config = "\n".join(str(o.get("data", "")) for o in objs if o["kind"] == "ConfigMap")
    assert f"kubernetes.operator.watched.namespaces: {WATCHED}" in config


@pytest.mark.upstream
def test_cnpg_watches_brook() -> None:
    objs = objects(render(*OPERATORS["CNPG"]))
    config = [o for o in objs if o["kind"] in ("ConfigMap", "Secret") and "WATCH_NAMESPACE" in (o.get("data") or {})]
    assert config and config[0]["data"]["WATCH_NAMESPACE"] == WATCHED
