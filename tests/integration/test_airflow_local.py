"""``make airflow`` for real: a private local Airflow runs Brook's DAGs on the local services through its REST API.

One Airflow instance for the module (jobs.local.airflow, the code behind ``make airflow``): its own metadata database
and role in the local Postgres, its own port, config and logs in a temp folder, and jobs pointed at a private schema
and bucket (``BROOK_PG_SCHEMA``/``BROOK_S3_BUCKET``, the settings the DAGs' jobs read), so nothing is shared with
``make airflow``'s instance or other tests. Runs are triggered and watched through the REST API as the generated
admin user; outcomes are checked in Postgres, MinIO and the task logs the UI shows. A headless chromium
(tests/integration/airflow_browser.py) logs into the UI itself, and ``make demo``'s code exports through the instance's
bets_export. Runtime: Airflow's cold start, five DAG runs and a small demo (its Flink job), several minutes on two
busy cores.
"""

from __future__ import annotations

import dataclasses
import io
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2
import pyarrow.parquet as pq
import pytest

from jobs.bets.contract import Bet
from jobs.bets.store import insert_bets
from jobs.cinema.databases import OLTP, WAREHOUSE, scoped_env
from jobs.common.cli import read_summary
from jobs.common.migrate import migrate
from jobs.common.settings import PostgresSettings, S3Settings, load
from jobs.dags.settings import LOCAL_ENV_VARIABLE
from jobs.local.airflow import ADMIN, CONFIG_NAME, DAGS, AirflowApi, Instance, LocalAirflow
from jobs.local.app_home import Layout
from jobs.local.bets_demo import EXPORT_DAG, EXPORT_TASK, BetsDemo
from jobs.local.ports import free_ports
from jobs.local.services import LocalSettings
from tests.integration.airflow_browser import AirflowUi
from tests.integration.cinema_pair import cinema_fresh, cinema_pair  # noqa: F401 (fixtures)
from tests.integration.test_telecom_daily import DAY, EXPECTED, METRICS, STATS

pytestmark = pytest.mark.integration

RUN_TIMEOUT = 600.0  # a deadline for a run to finish, not a performance claim: the scheduler shares two cores


@dataclass
class Running:
    airflow: LocalAirflow
    api: AirflowApi
    pg: PostgresSettings
    s3: S3Settings
    startup_output: str


def sql(pg: PostgresSettings, query: str, *params: object) -> list[tuple]:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall() if cur.description else []


def private_schema(pg_settings: PostgresSettings, name: str) -> PostgresSettings:
    sql(pg_settings, f"CREATE SCHEMA {name}")
    pg = dataclasses.replace(pg_settings, schema=name)
    migrate(pg.dsn())
    return pg


def empty_bucket(s3: S3Settings) -> None:
    client = s3.client()
    try:
        for key in object_keys(s3):
            client.delete_object(Bucket=s3.bucket, Key=key)
        client.delete_bucket(Bucket=s3.bucket)
    except client.exceptions.NoSuchBucket:
        pass


def object_keys(s3: S3Settings) -> list[str]:
    pages = s3.client().get_paginator("list_objects_v2").paginate(Bucket=s3.bucket)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


@pytest.fixture(scope="module")
def airflow(
    pg_settings: PostgresSettings, s3_settings: S3Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    """A started private Airflow (stopped, its database and the test's schema and bucket removed afterwards)."""
    suffix = secrets.token_hex(3)
    pg = private_schema(pg_settings, f"t_airflow_{suffix}")
    s3 = dataclasses.replace(s3_settings, bucket=f"t-airflow-{suffix}")
    home = tmp_path_factory.mktemp("airflow")
    local = LocalAirflow(
        Instance(
            database=f"airflow_t{suffix}",
            port=free_ports(23200),
            env={
                "BROOK_PG_SCHEMA": pg.schema,
                "BROOK_S3_BUCKET": s3.bucket,
                # Unpausing creates telecom_daily's latest scheduled run (yesterday, no metrics here): let its
                # check_data fail at once instead of retrying for an hour ahead of the runs under test.
                "BROOK_TELECOM_CHECK_RETRIES": "0",
            },
        ),
        Layout.under(home, CONFIG_NAME),
    )
    output = io.StringIO()
    try:
        with redirect_stdout(output):
            local.up()
        yield Running(local, local.api(), pg, s3, output.getvalue())
    finally:
        local.stop()
        local.drop_database()
        sql(pg_settings, f"DROP SCHEMA {pg.schema} CASCADE")
        empty_bucket(s3)


def trigger(api: AirflowApi, dag_id: str, conf: dict[str, Any] | None = None) -> str:
    return api.trigger(dag_id, f"test__{secrets.token_hex(4)}", conf)


def task_states(api: AirflowApi, dag_id: str, run_id: str) -> dict[str, tuple[str, int]]:
    instances = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
    return {ti["task_id"]: (ti["state"], ti["try_number"]) for ti in instances}


def wait_for_run(running: Running, dag_id: str, run_id: str) -> str:
    """The run's final state; a run still going at the deadline fails the test with its tasks and scheduler log."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        state = running.api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
        if state in ("success", "failed"):
            return state
        if time.monotonic() > deadline:
            log = running.airflow.layout.log("scheduler").read_text(errors="replace")[-3000:]
            pytest.fail(f"{dag_id} {run_id} still {state}: {task_states(running.api, dag_id, run_id)}\n{log}")
        time.sleep(2)


def task_log(api: AirflowApi, dag_id: str, run_id: str, task_id: str) -> str:
    """Every try's log of a task, as the UI's log view fetches it."""
    tries = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")["try_number"]
    path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs"
    return "\n".join(json.dumps(api.get(f"{path}/{n}?full_content=true")) for n in range(1, tries + 1))


def why(api: AirflowApi, dag_id: str, run_id: str) -> str:
    """Task states and the end of each failed task's log, for an assertion message."""
    states = task_states(api, dag_id, run_id)
    logs = [
        f"--- {task} ---\n{task_log(api, dag_id, run_id, task)[-3000:]}"
        for task, (s, _) in states.items()
        if s == "failed"
    ]
    return f"{states}\n" + "\n".join(logs)


def dag_files() -> set[str]:
    """The DAG ids Brook ships: one file per DAG, named after it (the helpers are in .airflowignore)."""
    ignored = set((DAGS / ".airflowignore").read_text().split())
    return {path.stem for path in DAGS.glob("*.py") if path.name not in ignored}


def test_every_dag_is_listed_unpaused_and_runs_locally(airflow: Running) -> None:
    assert airflow.api.import_errors() == []
    dags = {dag["dag_id"]: dag for dag in airflow.api.dags()}
    assert set(dags) == dag_files() >= {"bets_export", "telecom_daily"}
    tags = {dag_id: {tag["name"] for tag in dag["tags"]} for dag_id, dag in dags.items()}
    for dag_id, dag in dags.items():
        assert dag["is_paused"] is False, dag_id
        assert "runner:local" in tags[dag_id], dag_id
    assert dags["bets_export"]["timetable_summary"] == "*/5 * * * *"
    assert "seed:bets_exporter" in tags["bets_export"]
    assert "seed:daily_metrics_batch" in tags["telecom_daily"]


def test_the_admin_password_is_generated_private_and_printed_once(airflow: Running) -> None:
    password_file = airflow.airflow.layout.admin_password
    password = json.loads(password_file.read_text())["admin"]
    assert password != "admin" and len(password) >= 16
    assert password_file.stat().st_mode & 0o077 == 0
    assert airflow.startup_output.count(password) == 1 and str(password_file) in airflow.startup_output
    again = io.StringIO()
    with redirect_stdout(again):
        airflow.airflow.report()
    assert password not in again.getvalue() and str(password_file) in again.getvalue()
    with pytest.raises(Exception, match="HTTP 401"):
        AirflowApi(airflow.airflow.instance.url, "wrong-password").token()


def test_a_triggered_bets_export_writes_the_rows_as_parquet_into_minio(airflow: Running) -> None:
    placed = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    bets = [
        Bet(
            bet_id=str(uuid.uuid4()),
            user_id=f"user-{n}",
            game="roulette",
            amount=Decimal("10.50") + n,
            currency="EUR",
            odds=Decimal("2.5000"),
            status="placed",
            event_time=placed,
            payload=None,
        )
        for n in range(7)
    ]
    with psycopg2.connect(airflow.pg.dsn()) as conn:
        assert insert_bets(conn, bets) == len(bets)

    run_id = trigger(airflow.api, "bets_export")
    assert wait_for_run(airflow, "bets_export", run_id) == "success", why(airflow.api, "bets_export", run_id)

    # A scheduled run of the same DAG may have exported them first: what matters is where the rows are now.
    keys = object_keys(airflow.s3)
    assert keys and all(key.startswith("raw/2026-03-01/") and key.endswith(".parquet") for key in keys)
    client = airflow.s3.client()
    exported = []
    for key in keys:
        body = client.get_object(Bucket=airflow.s3.bucket, Key=key)["Body"].read()
        exported += pq.read_table(io.BytesIO(body)).column("bet_id").to_pylist()
    assert sorted(exported) == sorted(b.bet_id for b in bets)
    assert sql(airflow.pg, "SELECT (SELECT count(*) FROM bets) - (SELECT count(*) FROM bets_exported)") == [(0,)]
    log = task_log(airflow.api, "bets_export", run_id, "export")
    assert "jobs.bets.exporter --max-rows" in log and "brook_summary" in log


def insert_metrics(pg: PostgresSettings) -> None:
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        for start, kind, region, n, seconds, mb, amount in METRICS:
            cur.execute(
                "INSERT INTO real_time_metrics (window_start, window_end, event_type, region, event_count, "
                "total_duration, total_data_mb, total_amount) VALUES (%s::timestamp AT TIME ZONE 'UTC', "
                "%s::timestamp AT TIME ZONE 'UTC' + interval '1 minute', %s, %s, %s, %s, %s, %s)",
                (start, start, kind, region, n, seconds, mb, amount),
            )


def daily_stats(pg: PostgresSettings) -> set[tuple]:
    return set(sql(pg, STATS, DAY))


def test_telecom_daily_for_a_date_then_its_backfill_write_daily_stats(airflow: Running) -> None:
    insert_metrics(airflow.pg)

    run_id = trigger(airflow.api, "telecom_daily", {"date": DAY})
    assert wait_for_run(airflow, "telecom_daily", run_id) == "success", why(airflow.api, "telecom_daily", run_id)
    tasks = task_states(airflow.api, "telecom_daily", run_id)
    assert {task: state for task, (state, _) in tasks.items()} == {
        "check_data": "success",
        "run_batch": "success",
        "validate": "success",
        "notify": "success",
    }
    assert daily_stats(airflow.pg) == EXPECTED
    notified = task_log(airflow.api, "telecom_daily", run_id, "notify")
    assert f"daily_stats for {DAY} recomputed and validated (run {run_id})" in notified

    # A backfill of the next day's 02:00 run recomputes DAY, the day before its logical date (no param).
    sql(airflow.pg, "DELETE FROM daily_stats WHERE date = %s", DAY)
    airflow.api.post(
        "/api/v2/backfills",
        {"dag_id": "telecom_daily", "from_date": "2026-03-11T00:00:00Z", "to_date": "2026-03-11T23:59:59Z"},
    )
    [run] = airflow.api.get("/api/v2/dags/telecom_daily/dagRuns?run_type=backfill")["dag_runs"]  # the only one
    assert run["logical_date"].startswith("2026-03-11T02:00")
    state = wait_for_run(airflow, "telecom_daily", run["dag_run_id"])
    assert state == "success", why(airflow.api, "telecom_daily", run["dag_run_id"])
    assert daily_stats(airflow.pg) == EXPECTED
    log = task_log(airflow.api, "telecom_daily", run["dag_run_id"], "run_batch")
    assert f"jobs.telecom.daily_batch --date {DAY}" in log


def test_a_broken_config_fails_the_task_with_the_jobs_message_in_its_log(airflow: Running) -> None:
    """A bad BROOK_* value (laid over the env by the brook_local_env Variable) fails at once, stderr in the log."""
    airflow.api.post(
        "/api/v2/variables", {"key": "brook_local_env", "value": json.dumps({"BROOK_EXPORT_CHUNK_ROWS": "0"})}
    )
    try:
        run_id = trigger(airflow.api, "bets_export")
        assert wait_for_run(airflow, "bets_export", run_id) == "failed"
    finally:
        airflow.api.delete("/api/v2/variables/brook_local_env")
    assert task_states(airflow.api, "bets_export", run_id) == {"export": ("failed", 1)}, "a config error is not retried"
    log = task_log(airflow.api, "bets_export", run_id, "export")
    assert "BROOK_EXPORT_CHUNK_ROWS=0: must be at least 1." in log  # the exporter's own stderr
    assert "exited with code 2" in log


def parquet_bet_ids(s3: S3Settings) -> list[str]:
    client = s3.client()
    ids: list[str] = []
    for key in object_keys(s3):
        body = client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
        ids += pq.read_table(io.BytesIO(body)).column("bet_id").to_pylist()
    return ids


def test_the_ui_in_a_headless_browser_shows_the_dags_unpaused_and_a_runs_task_log(airflow: Running) -> None:
    """Debian chromium logs in with the generated password, reads the DAG list and a finished run's task log."""
    run_id = trigger(airflow.api, EXPORT_DAG)
    assert wait_for_run(airflow, EXPORT_DAG, run_id) == "success", why(airflow.api, EXPORT_DAG, run_id)
    artifacts = airflow.airflow.paths.home / "artifacts" / "airflow-ui"
    artifacts.mkdir(parents=True, exist_ok=True)
    with AirflowUi(airflow.api.url, artifacts) as ui:
        ui.login(ADMIN, json.loads(airflow.airflow.layout.admin_password.read_text())[ADMIN])
        shown = ui.dag_list(expected=len(dag_files()))
        dag_list_png = ui.screenshot(artifacts / "dag-list.png")
        log = ui.task_log(EXPORT_DAG, run_id, EXPORT_TASK, until="brook_summary")
        task_log_png = ui.screenshot(artifacts / "task-log.png")
    print(f"screenshots: {dag_list_png} {task_log_png}")
    assert shown == dict.fromkeys(dag_files(), True), f"DAG list as shown (True: unpaused); see {dag_list_png}"
    assert "jobs.bets.exporter --max-rows" in log and "jobs.bets.exporter done:" in log, task_log_png
    assert dag_list_png.stat().st_size > 0 and task_log_png.stat().st_size > 0


def test_the_demo_exports_through_airflows_bets_export(
    airflow: Running,
    local_env: dict[str, str],
    pg_settings: PostgresSettings,
    s3_settings: S3Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``make demo`` with a local Airflow up: its rows reach Parquet through a bets_export run of that Airflow.

    The demo's own code (BetsDemo, which ``make demo`` runs with ``make airflow``'s instance) on a private schema
    and bucket, with this module's Airflow: the Variable points bets_export at them, the demo's run succeeds, and
    the Parquet rows are exactly the demo's stored rows, as many as its audit counts."""
    suffix = secrets.token_hex(3)
    pg = dataclasses.replace(pg_settings, schema=f"t_demo_{suffix}")
    s3 = dataclasses.replace(s3_settings, bucket=f"t-demo-{suffix}")
    events, faults = 400, 5
    demo = BetsDemo(
        events, 0.0, 11, airflow.airflow.paths, faults, airflow=airflow.api, schema=pg.schema, bucket=s3.bucket
    )
    try:
        code = demo.run(local_env)
        output = capsys.readouterr().out
        variable = json.loads(airflow.api.get(f"/api/v2/variables/{LOCAL_ENV_VARIABLE}")["value"])
    finally:
        demo.stop_children()
        airflow.api.delete(f"/api/v2/variables/{LOCAL_ENV_VARIABLE}")
    try:
        assert code == 0, output[-4000:]
        assert variable == {"BROOK_PG_SCHEMA": pg.schema, "BROOK_S3_BUCKET": s3.bucket}, "left set for later runs"
        assert demo.export_run is not None and demo.export_run.startswith("demo__")
        assert airflow.api.run_state(EXPORT_DAG, demo.export_run) == "success"
        audit = read_summary(output, "bets-demo")
        counts = {check["stage"]: check["count"] for check in audit["checks"]}
        assert audit["passed"], output[-3000:]
        stored = sorted(row[0] for row in sql(pg, "SELECT bet_id::text FROM bets"))
        assert len(stored) == events == counts["stored in Postgres (bets)"]
        assert sorted(parquet_bet_ids(s3)) == stored
        log = task_log(airflow.api, EXPORT_DAG, demo.export_run, EXPORT_TASK)
        assert f"Variable {LOCAL_ENV_VARIABLE} sets BROOK_PG_SCHEMA, BROOK_S3_BUCKET" in log
        assert airflow.api.ui_url(EXPORT_DAG, demo.export_run, EXPORT_TASK) in output
    finally:
        sql(pg_settings, f"DROP SCHEMA IF EXISTS {pg.schema} CASCADE")
        empty_bucket(s3)


def test_cinema_elt_runs_locally_on_the_cinema_pair(
    airflow: Running,
    cinema_fresh: tuple[PostgresSettings, PostgresSettings],  # noqa: F811
) -> None:
    """The DAG that runs as pods in Kubernetes, run by the local runner: the brook_local_env Variable names the two
    databases apart (BROOK_CINEMA_*_PG_*) and the dbt executable; each task maps its database onto BROOK_PG_*."""
    oltp, warehouse = cinema_fresh
    dbt = Path(load(LocalSettings).home).resolve() / "venv" / "dbt" / "bin" / "dbt"
    env = {**scoped_env(OLTP, oltp), **scoped_env(WAREHOUSE, warehouse), "BROOK_CINEMA_DBT_BIN": str(dbt)}
    airflow.api.post("/api/v2/variables", {"key": LOCAL_ENV_VARIABLE, "value": json.dumps(env)})
    try:
        run_id = trigger(airflow.api, "cinema_elt")
        assert wait_for_run(airflow, "cinema_elt", run_id) == "success", why(airflow.api, "cinema_elt", run_id)
    finally:
        airflow.api.delete(f"/api/v2/variables/{LOCAL_ENV_VARIABLE}")
    states = {task: state for task, (state, _) in task_states(airflow.api, "cinema_elt", run_id).items()}
    assert states == dict.fromkeys(("generate", "wait_for_replication", "dbt_build", "notify"), "success")
    [[events]] = sql(oltp, "SELECT count(*) FROM cinema_events")
    [[replicated]] = sql(warehouse, "SELECT count(*) FROM cinema_events")
    [[in_sessions]] = sql(warehouse, "SELECT coalesce(sum(event_count), 0) FROM cinema_marts.fct_watch_sessions")
    assert events > 0 and replicated == events == in_sessions
    assert "jobs.cinema.marts" in task_log(airflow.api, "cinema_elt", run_id, "dbt_build")


def live_members(groups: set[int]) -> list[str]:
    """Processes (not zombies) whose process group is one of ``groups``, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited while we looked
        if fields[0] != "Z" and int(fields[2]) in groups:
            found.append(f"{stat.parent.name} {(stat.parent / 'cmdline').read_bytes()[:80]!r}")
    return found


def test_stopping_leaves_no_process(airflow: Running) -> None:
    """Runs last in the module: stop() ends every process group it started, the executor's workers included."""
    layout = airflow.airflow.layout
    groups = {int(layout.pidfile(p).read_text()) for p in ("api-server", "scheduler", "dag-processor")}
    assert live_members(groups), "the processes to stop are running"
    assert airflow.airflow.stop() is True
    assert airflow.airflow.running() == [] and not airflow.airflow.healthy()
    assert live_members(groups) == []
