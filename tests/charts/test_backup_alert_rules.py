"""The CNPG backup alerts of templates/backup.yaml (postgres.backup.alerts) under promtool: rendered by helm (their
expressions carry the release namespace and cluster name), then `promtool test rules` with
tests/unit/alerts/backup.test.yaml, which tests each of them firing and not firing. docs/metrics.md has their
runbook; they are not repeated in charts/brook/files/alerts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.charts.conftest import ROOT, render
from tests.unit.test_alert_rules import coverage, promtool

pytestmark = pytest.mark.charts
TEST_FILE = ROOT / "tests" / "unit" / "alerts" / "backup.test.yaml"


def test_backup_alerts_fire_and_stay_quiet(tmp_path: Path) -> None:
    docs = render("kind", "postgres.backup.enabled=true", "postgres.backup.alerts.enabled=true")
    [rule] = [d for d in docs if d["kind"] == "PrometheusRule"]
    (tmp_path / "backup-rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    shutil.copy(TEST_FILE, tmp_path / TEST_FILE.name)
    out = promtool("test", "rules", str(tmp_path / TEST_FILE.name))
    assert "SUCCESS" in out, out
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    firing, quiet = coverage([TEST_FILE])
    assert alerts == firing == quiet
