"""Grafana dashboards (templates/grafana-dashboards.yaml): each charts/brook/dashboards/grafana/*.json becomes one
ConfigMap with the sidecar's label, carrying the committed JSON unchanged; every PromQL expression of a dashboard
reads only metrics docs/metrics.md documents. Render only: no Grafana runs here (docs/metrics.md, "Grafana")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.charts.conftest import ROOT, render

pytestmark = pytest.mark.charts
DASHBOARDS = sorted((ROOT / "charts" / "brook" / "dashboards" / "grafana").glob("*.json"))
METRICS_DOC = ROOT / "docs" / "metrics.md"
ALERTS = ROOT / "charts" / "brook" / "files" / "alerts" / "brook.yaml"
ON = ("monitoring.enabled=true",)
# PromQL words that are not metric names: aggregation modifiers, binary-operator keywords.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}


def configmaps(*sets: str) -> dict[str, dict]:
    return {
        d["metadata"]["name"]: d
        for d in render("kind", *sets)
        if d["kind"] == "ConfigMap" and "-dashboard-" in d["metadata"]["name"]
    }


def documented_metrics() -> set[str]:
    """The metrics docs/metrics.md documents: its metric table (a histogram also as _bucket/_sum/_count), and the
    metrics its alert runbooks name in backticks that the alert rules read (Flink's, Kafka's, CNPG's)."""
    text = METRICS_DOC.read_text()
    names: set[str] = set()
    for name, kind in re.findall(r"^\| `(\w+)` \| (counter|gauge|histogram|summary) \|", text, re.M):
        names.add(name)
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    rules = yaml.safe_load(ALERTS.read_text())["groups"]
    alerted = {n for g in rules for r in g["rules"] for n in metric_names(r["expr"])}
    return names | (alerted & set(re.findall(r"`(\w+)`", text)))


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not functions (followed by '('), keywords,
    label names of by/without(...) or {...}, nor inside a range [...] or a string."""
    expr = re.sub(r'"[^"]*"', "", expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    return {
        m.group(1)
        for m in re.finditer(r"(?<![\w$])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr)
        if m.group(1) not in KEYWORDS and not m.group(1).isdigit()
    }


def exprs(dashboard: dict) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def test_there_is_a_pipeline_dashboard() -> None:
    assert [p.name for p in DASHBOARDS] == ["brook-pipelines.json"]


def test_off_without_monitoring() -> None:
    assert not configmaps()
    assert not configmaps(*ON, "monitoring.grafanaDashboards.enabled=false")


def test_one_labelled_configmap_per_dashboard_carrying_the_committed_json() -> None:
    maps = configmaps(*ON)
    assert sorted(maps) == [f"brook-dashboard-{p.stem}" for p in DASHBOARDS]
    for path in DASHBOARDS:
        cm = maps[f"brook-dashboard-{path.stem}"]
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert json.loads(cm["data"][path.name]) == json.loads(path.read_text())


def test_label_and_namespace_are_values() -> None:
    maps = configmaps(
        *ON,
        "monitoring.grafanaDashboards.labelKey=dashboards",
        "monitoring.grafanaDashboards.labelValue=brook",
        "monitoring.grafanaDashboards.namespace=monitoring",
    )
    [cm] = maps.values()
    assert cm["metadata"]["labels"]["dashboards"] == "brook"
    assert "grafana_dashboard" not in cm["metadata"]["labels"]
    assert cm["metadata"]["namespace"] == "monitoring"


def test_metric_name_parser() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le) (rate(x_bucket{job="a b"}[$__rate_interval]))) / time() and on (pod) up'
    )
    assert metric_names(expr) == {"x_bucket", "up"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_panels_query_documented_metrics_through_the_datasource_variable(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] and len(dashboard["uid"]) <= 40  # Grafana's uid limit
    [variable] = [v for v in dashboard["templating"]["list"] if v["name"] == "datasource"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
    used = {name for e in exprs(dashboard) for name in metric_names(e)}
    assert used, "no metric found in the dashboard's expressions"
    undocumented = used - documented_metrics()
    assert not undocumented, f"{path.name} queries metrics docs/metrics.md does not document: {sorted(undocumented)}"
    assert {"brook_consumer_lag_records", "brook_consumer_batch_duration_seconds_bucket"} <= used
