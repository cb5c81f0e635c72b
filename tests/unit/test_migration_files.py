"""Migration files: named and numbered so the runner can order them, and never silently re-declared."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.common.migrate import MigrationError, migrations, sql_dirs

pytestmark = pytest.mark.unit


def test_shipped_migrations_are_ordered_and_unique() -> None:
    found = migrations()
    versions = [m.version for m in found]
    assert versions == sorted(set(versions)) and versions[0] == 1
    assert {"bets", "bets_windows", "telecom"} <= {m.name for m in found}
    assert {folder.parent.name for folder in sql_dirs()} >= {"bets", "telecom"}


def test_a_version_is_unique_across_pipeline_folders(tmp_path: Path) -> None:
    for pipeline in ("one", "two"):
        (tmp_path / pipeline).mkdir()
        (tmp_path / pipeline / f"007_{pipeline}.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="version 7 already used"):
        migrations([tmp_path / "one", tmp_path / "two"])


def test_misnamed_or_duplicate_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "001_a.sql").write_text("SELECT 1;")
    (tmp_path / "001_b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="version 1 already used"):
        migrations([tmp_path])
    (tmp_path / "001_b.sql").unlink()
    (tmp_path / "2_bad.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNN_lower_snake"):
        migrations([tmp_path])
