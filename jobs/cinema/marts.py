"""``dbt build`` of the cinema marts (``jobs/cinema/dbt``) against the warehouse, and its result as a summary.

``python -m jobs.cinema.marts`` — the warehouse connection is ``BROOK_PG_*`` (the profile reads them from the
environment; no password is written to a file). dbt runs from its own venv (``make dbt-venv``; its pins conflict
with the app's), so this module starts it as a process (``BROOK_CINEMA_DBT_BIN``) and reads ``run_results.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jobs.common.cli import run, summary
from jobs.common.settings import ConfigError, PostgresSettings, load, setting, to_env

PROJECT = Path(__file__).resolve().parent / "dbt"


@dataclass(frozen=True, kw_only=True)
class DbtSettings:
    bin: str = setting(
        "CINEMA_DBT_BIN", "dbt", help="The dbt executable (locally .brook/venv/dbt/bin/dbt, built by `make dbt-venv`)."
    )
    schema: str = setting(
        "CINEMA_DBT_SCHEMA", "cinema", help="Schema prefix of the cinema dbt models: <prefix>_staging, <prefix>_marts."
    )
    work_dir: str = setting(
        "CINEMA_DBT_WORK_DIR", "", help="Folder for dbt's target/ and logs/ (empty: a new temporary folder per run)."
    )

    def validate(self) -> None:
        if not self.schema.replace("_", "").isalnum() or self.schema != self.schema.lower():
            raise ConfigError(f"BROOK_CINEMA_DBT_SCHEMA={self.schema!r}: use a lower-case identifier such as cinema.")

    def executable(self) -> str:
        found = shutil.which(self.bin)
        if found is None:
            raise ConfigError(
                f"BROOK_CINEMA_DBT_BIN={self.bin!r} is not an executable: run `make dbt-venv` and point it at "
                ".brook/venv/dbt/bin/dbt"
            )
        return found

    def marts_schema(self) -> str:
        """Where the marts land (macros/generate_schema_name.sql)."""
        return f"{self.schema}_marts"


@dataclass(frozen=True)
class DbtResult:
    returncode: int
    statuses: dict[str, int]  # e.g. {"model:success": 7, "test:pass": 22}
    failures: list[str]  # "<unique_id>: <status> <message>" of every node that did not pass
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.failures


def build(pg: PostgresSettings, cfg: DbtSettings, *args: str) -> DbtResult:
    """Run ``dbt build`` (plus ``args``, e.g. ``--select``) on ``pg``; the result, failures listed by node."""
    work = Path(cfg.work_dir) if cfg.work_dir else Path(tempfile.mkdtemp(prefix="brook-dbt-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **to_env(pg),
        "BROOK_CINEMA_DBT_SCHEMA": cfg.schema,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PARTIAL_PARSE": "false",
    }
    cmd = [
        cfg.executable(), "build", "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"), *args,
    ]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    statuses: dict[str, int] = {}
    failures: list[str] = []
    results = work / "target" / "run_results.json"
    if results.exists():
        for node in json.loads(results.read_text())["results"]:
            kind = node["unique_id"].split(".")[0]
            key = f"{kind}:{node['status']}"
            statuses[key] = statuses.get(key, 0) + 1
            if node["status"] not in ("success", "pass"):
                failures.append(f"{node['unique_id']}: {node['status']} {node.get('message') or ''}".strip())
    return DbtResult(done.returncode, statuses, failures, done.stdout + done.stderr)


def main() -> int:
    result = build(load(PostgresSettings), load(DbtSettings))
    print(result.output)
    for failure in result.failures:
        print(f"[cinema-marts] FAILED {failure}", file=sys.stderr)
    summary("cinema-marts", ok=result.ok, returncode=result.returncode, **result.statuses)
    return 0 if result.ok else 1


if __name__ == "__main__":
    run(main, "cinema-marts")
