"""Brook's alert rules (charts/brook/files/alerts/*.yaml) under promtool, the Prometheus project's own checker:
they parse (`promtool check rules`), their unit tests pass (`promtool test rules tests/unit/alerts/*.test.yaml`),
every alert is tested both firing and not firing, and every alert has its runbook section in docs/metrics.md.
promtool is built from its Go module by `make prometheus-bin` (part of `make setup`)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tools import versions

pytestmark = pytest.mark.unit
ROOT = versions.ROOT
PROMTOOL = versions.brook_home() / "bin" / "promtool"
RULE_FILES = sorted((ROOT / "charts" / "brook" / "files" / "alerts").glob("*.yaml"))
# backup.test.yaml tests the chart-rendered backup alerts: tests/charts/test_backup_alert_rules.py runs it.
TEST_FILES = sorted((ROOT / "tests" / "unit" / "alerts").glob("brook*.test.yaml"))
RUNBOOKS = ROOT / "docs" / "metrics.md"


def promtool(*args: str) -> str:
    if not PROMTOOL.exists():
        pytest.fail(f"{PROMTOOL} is missing: run `make prometheus-bin`")
    proc = subprocess.run([str(PROMTOOL), *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"promtool {' '.join(args)}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def alerts() -> set[str]:
    return {r["alert"] for f in RULE_FILES for g in yaml.safe_load(f.read_text())["groups"] for r in g["rules"]}


def test_rules_parse() -> None:
    out = promtool("check", "rules", *map(str, RULE_FILES))
    assert f"{len(alerts())} rules found" in out or "SUCCESS" in out, out


def test_promtool_unit_tests_pass() -> None:
    out = promtool("test", "rules", *map(str, TEST_FILES))
    assert "SUCCESS" in out, out


def coverage(test_files: list[Path]) -> tuple[set[str], set[str]]:
    """(alerts tested firing, alerts tested not firing) by promtool test files. Firing: an eval with the alert
    expected. Not firing: an eval expecting none, or an eval expecting fewer alerts than the test has series (promtool
    compares the alert list exactly, so the other series' labels must not fire)."""
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in test_files:
        for case in yaml.safe_load(path.read_text())["tests"]:
            series = len(case["input_series"])
            for check in case["alert_rule_test"]:
                expected = check.get("exp_alerts") or []
                if expected:
                    firing.add(check["alertname"])
                if not expected or series > len(expected):
                    quiet.add(check["alertname"])
    return firing, quiet


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    firing, quiet = coverage(TEST_FILES)
    assert alerts() - firing == set(), "alerts never tested firing"
    assert alerts() - quiet == set(), "alerts never tested not firing"


def test_every_alert_has_a_runbook() -> None:
    text = RUNBOOKS.read_text()
    headings = {m.lower() for m in re.findall(r"^### (Brook\w+)$", text, flags=re.M)}
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                assert rule["alert"].lower() in headings, f"docs/metrics.md has no '### {rule['alert']}' runbook"
                assert rule["annotations"]["runbook_url"] == f"docs/metrics.md#{rule['alert'].lower()}"


def test_local_prometheus_config_is_valid(tmp_path: Path) -> None:
    """`make metrics`' generated prometheus.yml (every local job, the chart's rule files) passes promtool."""
    from jobs.local.prometheus_config import LOCAL_PORTS, main

    out = tmp_path / "prometheus.yml"
    assert main(["--out", str(out), "--target", "consumer=127.0.0.1:19402"]) == 0
    config = yaml.safe_load(out.read_text())
    assert {s["job_name"] for s in config["scrape_configs"]} == {"prometheus", *LOCAL_PORTS}
    assert config["rule_files"] == [str(f) for f in RULE_FILES]
    promtool("check", "config", str(out))
