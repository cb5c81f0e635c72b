"""``make airflow``: Airflow 3 on 127.0.0.1 running Brook's DAGs on the local services (local runner).

``python -m jobs.local.airflow up|down|status [--port 8080]``

Three processes of the locked Airflow venv (``$BROOK_HOME/venv/airflow``) in the background: api-server (UI, REST
API and the Execution API that tasks talk to), scheduler (LocalExecutor: tasks run as its subprocesses) and
dag-processor. No triggerer: no Brook task defers. Their metadata lives in a database and role of their own in the
local Postgres (password generated); config and secrets in ``$BROOK_HOME/data/airflow`` (mode 0600), logs (the
processes' and every task's) in ``$BROOK_HOME/logs/airflow/``. The UI's ``admin`` password is generated once
(Airflow's simple auth manager; this venv has no FAB), printed when created and kept in ``admin-password.json``.

Tasks run with ``BROOK_AIRFLOW_RUNNER=local``: each job is ``python -m <module>`` in the app venv with the local
services' ``BROOK_*`` variables, plus any other ``BROOK_*`` of the caller (e.g. ``BROOK_PG_SCHEMA``,
``BROOK_S3_BUCKET``). Brook's schema there is migrated first, as the chart's migration Job does in Kubernetes.
``make services-down`` stops Airflow before the services it needs (jobs.local.services).
"""

from __future__ import annotations

import argparse
import base64
import configparser
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jobs.common.migrate import migrate
from jobs.common.settings import PostgresSettings, load
from jobs.dags.settings import LOCAL_ENV_VARIABLE
from jobs.local.app_home import (
    ADMIN,
    NOT_SHOWN,
    Layout,
    admin_password,
    command,
    generated_secrets,
    write_private,
)
from jobs.local.services import PG_USER, LocalServices, ServiceError, _credentials, _log_tail, _pid_alive

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "jobs" / "dags"
# Started in this order, stopped in reverse. The api-server answers first: tasks the scheduler starts report to its
# Execution API, and one started against a closed port fails its try.
PROCESSES = ("api-server", "dag-processor", "scheduler")
# The scheduler serves no logs over HTTP: task logs are files the api-server reads from the same disk.
ARGS = {"scheduler": ("--skip-serve-logs",)}
DEFAULT_PORT = 8080
CONFIG_NAME = "airflow.cfg"
START_TIMEOUT = 300.0  # a cold start (migrations, first parse) on two busy cores
API_TIMEOUT = 60.0
FINAL_RUN_STATES = ("success", "failed")


@dataclass(frozen=True, kw_only=True)
class Instance:
    """One local Airflow: ``make airflow``'s (database ``airflow``, port 8080) or a test's private one."""

    database: str = "airflow"  # also the name of its Postgres role
    port: int = DEFAULT_PORT
    env: dict[str, str] = field(default_factory=dict)  # BROOK_* overrides for the jobs (tests: schema, bucket)
    parallelism: int = 2  # task slots: few, the machine is shared

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _secrets(layout: Layout) -> dict[str, str]:
    """Generated once per instance home: the metadata DB password and the keys every process must share."""
    return generated_secrets(
        layout,
        lambda: {
            "db_password": secrets.token_urlsafe(18),
            "jwt_secret": secrets.token_urlsafe(32),  # api-server and scheduler sign/verify task tokens with it
            "api_secret_key": secrets.token_urlsafe(32),
            "fernet_key": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        },
    )


def render_config(instance: Instance, layout: Layout, pg_port: int, values: dict[str, str]) -> str:
    """airflow.cfg: LocalExecutor, metadata in the local Postgres, loopback only, small footprint."""
    db = f"postgresql+psycopg://{instance.database}:{values['db_password']}@127.0.0.1:{pg_port}/{instance.database}"
    sections: dict[str, dict[str, object]] = {
        "core": {
            "dags_folder": DAGS,
            "executor": "LocalExecutor",
            "parallelism": instance.parallelism,
            "load_examples": "False",
            "dags_are_paused_at_creation": "False",  # the DAGs say so themselves too (is_paused_upon_creation)
            "auth_manager": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "simple_auth_manager_users": f"{ADMIN}:admin",
            "simple_auth_manager_passwords_file": layout.admin_password,
            "execution_api_server_url": f"{instance.url}/execution/",
            "fernet_key": values["fernet_key"],
        },
        "database": {"sql_alchemy_conn": db, "sql_alchemy_conn_async": db, "sql_alchemy_pool_size": 2},
        "logging": {
            "base_log_folder": layout.logs,
            "dag_processor_child_process_log_directory": layout.logs / "dag_processor",
        },
        "api": {
            "host": "127.0.0.1",
            "port": instance.port,
            "workers": 1,
            "base_url": instance.url,
            "secret_key": values["api_secret_key"],
        },
        "api_auth": {"jwt_secret": values["jwt_secret"]},
        "dag_processor": {"parsing_processes": 1, "min_file_process_interval": 60, "refresh_interval": 60},
        "scheduler": {"scheduler_heartbeat_sec": 5},
    }
    lines = ["# Written by jobs/local/airflow.py on every start; edit that file instead."]
    for name, options in sections.items():
        lines += ["", f"[{name}]", *(f"{key} = {value}" for key, value in options.items())]
    return "\n".join(lines) + "\n"


class HttpError(ServiceError):
    """The REST API answered with an error status (``code``)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class AirflowApi:
    """The REST API as the admin user (a token from the simple auth manager), for the CLI's report and the tests."""

    def __init__(self, url: str, password: str, user: str = ADMIN) -> None:
        self.url, self._login = url, {"username": user, "password": password}
        self._token: str | None = None

    def _request(self, method: str, path: str, body: object | None = None, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        # A single api-server worker on busy cores can stall for a while: reads are retried, writes are not (a
        # repeated trigger would be a second run).
        attempts = 3 if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            try:
                with urllib.request.urlopen(request, timeout=API_TIMEOUT) as response:
                    text = response.read().decode()
                return json.loads(text) if text else None
            except urllib.error.HTTPError as err:
                detail = err.read().decode(errors="replace")
                raise HttpError(f"{method} {path}: HTTP {err.code} {detail}", err.code) from err
            except (TimeoutError, urllib.error.URLError):
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def token(self) -> str:
        if self._token is None:
            self._token = self._request("POST", "/auth/token", self._login, auth=False)["access_token"]
        return self._token

    def get(self, path: str) -> Any:
        return self._request("GET", path)

    def post(self, path: str, body: object) -> Any:
        return self._request("POST", path, body)

    def patch(self, path: str, body: object) -> Any:
        return self._request("PATCH", path, body)

    def delete(self, path: str) -> Any:
        return self._request("DELETE", path)

    def health(self) -> dict[str, Any]:
        return self._request("GET", "/api/v2/monitor/health", auth=False)

    def dags(self) -> list[dict[str, Any]]:
        return self.get("/api/v2/dags?limit=100")["dags"]

    def import_errors(self) -> list[dict[str, Any]]:
        return self.get("/api/v2/importErrors?limit=100")["import_errors"]

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any] | None = None) -> str:
        """A manual run of ``dag_id`` named ``run_id``, logically now (what the UI's Trigger button makes)."""
        body = {"dag_run_id": run_id, "logical_date": datetime.now(UTC).isoformat(), "conf": conf or {}}
        self.post(f"/api/v2/dags/{dag_id}/dagRuns", body)
        return run_id

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.get(f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")["state"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        """The run's final state (``success`` or ``failed``); still going after ``timeout`` seconds: ServiceError."""
        deadline = time.monotonic() + timeout
        while (state := self.run_state(dag_id, run_id)) not in FINAL_RUN_STATES:
            if time.monotonic() > deadline:
                raise ServiceError(f"{dag_id} run {run_id} still {state} after {timeout:.0f}s: see {self.url}")
            time.sleep(2)
        return state

    def merge_local_env(self, values: dict[str, str]) -> dict[str, str]:
        """Lay ``values`` over the ``brook_local_env`` Variable (the local runner's BROOK_* overrides); the result."""
        path = f"/api/v2/variables/{LOCAL_ENV_VARIABLE}"
        try:
            raw = self.get(path)["value"]
        except HttpError as err:
            if err.code != 404:
                raise
            current = None
        else:
            try:
                current = json.loads(raw)
            except ValueError:
                current = raw
            if not isinstance(current, dict):
                raise ServiceError(
                    f"Airflow Variable {LOCAL_ENV_VARIABLE} is {raw!r}, not a JSON object of BROOK_* values: "
                    f"fix or delete it in the UI (Admin → Variables) at {self.url}."
                )
        merged = {**(current or {}), **values}
        body = {"key": LOCAL_ENV_VARIABLE, "value": json.dumps(merged, sort_keys=True)}
        if current is None:
            self.post("/api/v2/variables", body)
        else:
            self.patch(path, body)
        return merged

    def ui_url(self, dag_id: str, run_id: str, task_id: str | None = None) -> str:
        """Where the UI shows a run (and a task's log, with ``task_id``)."""
        url = f"{self.url}/dags/{dag_id}/runs/{quote(run_id, safe='')}"
        return url if task_id is None else f"{url}/tasks/{task_id}"


def _healthy(report: dict[str, Any]) -> bool:
    """Database, scheduler and dag processor all report healthy (no triggerer runs: nothing defers)."""
    parts = ("metadatabase", "scheduler", "dag_processor")
    return all((report.get(part) or {}).get("status") == "healthy" for part in parts)


class LocalAirflow:
    """Start, stop and describe one local Airflow instance."""

    def __init__(self, instance: Instance | None = None, layout: Layout | None = None) -> None:
        self.services = LocalServices()
        self.paths = self.services.paths
        self.instance = instance or Instance()
        self.layout = layout or Layout.default(self.paths, "airflow", CONFIG_NAME)
        self.airflow = self.paths.home / "venv" / "airflow" / "bin" / "airflow"
        self.app_python = self.paths.home / "venv" / "app" / "bin" / "python"

    # -- environment -------------------------------------------------------------------------------------------

    def job_env(self) -> dict[str, str]:
        """BROOK_* the jobs get: the caller's, the local services' endpoints over them, the instance's over all."""
        caller = {k: v for k, v in os.environ.items() if k.startswith("BROOK_")}
        return {**caller, **self.services.env(), **self.instance.env}

    def process_env(self) -> dict[str, str]:
        """The Airflow processes' environment: nothing of the caller's but PATH/HOME and the jobs' BROOK_*."""
        base = {k: os.environ[k] for k in ("PATH", "HOME", "TMPDIR") if k in os.environ}
        return {
            **base,
            "LANG": "C.UTF-8",
            "AIRFLOW_HOME": str(self.layout.home),
            "PYTHONPATH": str(ROOT),
            **self.job_env(),
            "BROOK_AIRFLOW_RUNNER": "local",
            "BROOK_AIRFLOW_PYTHON": str(self.app_python),
        }

    def api(self) -> AirflowApi:
        return AirflowApi(self.instance.url, admin_password(self.layout)[0])

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def healthy(self) -> bool:
        try:
            return _healthy(AirflowApi(self.instance.url, "").health())
        except (OSError, ValueError, ServiceError):
            return False

    def running(self) -> list[str]:
        return [p for p in PROCESSES if _pid_alive(self.layout.pidfile(p))]

    def up(self) -> None:
        """Start every process (idempotent), then check that each Brook DAG is listed, unpaused, without errors."""
        if self.healthy() and len(self.running()) == len(PROCESSES):
            print(f"[airflow] already running at {self.instance.url}", flush=True)
        else:
            self._start()
        self.report()

    def _start(self) -> None:
        started = time.monotonic()
        self._require_tools()
        self.stop()  # a half-started instance (a process died) restarts whole
        self.layout.ensure()
        values = _secrets(self.layout)
        self._ensure_database(values["db_password"])
        write_private(self.layout.config, render_config(self.instance, self.layout, self.services.cfg.pg_port, values))
        admin_password(self.layout)  # before the api-server starts, or its auth manager would make (and log) one
        self._migrate_brook_schema()
        print(f"[airflow] airflow db migrate ({self.instance.database} in the local Postgres)", flush=True)
        self._cli("db", "migrate")
        print(f"[airflow] parsing {DAGS}", flush=True)
        self._cli("dags", "reserialize")
        self._spawn("api-server")
        self._wait(self._answers, "waiting for the api-server to answer")
        for process in PROCESSES[1:]:
            self._spawn(process)
        self._wait(self.healthy, "waiting for every process to report healthy")
        print(f"[airflow] healthy in {time.monotonic() - started:.0f}s", flush=True)

    def _require_tools(self) -> None:
        for binary in (self.airflow, self.app_python):
            if not binary.exists():
                raise ServiceError(f"{binary} missing: run `make python`.")
        if not self.services.status().get("postgres"):
            raise ServiceError("the local Postgres is not running: run `make services-up` first.")

    def _superuser(self) -> Any:
        import psycopg2

        conn = psycopg2.connect(
            host="127.0.0.1",
            port=self.services.cfg.pg_port,
            dbname="postgres",
            user=PG_USER,
            password=_credentials(self.paths)["pg_password"],
            connect_timeout=5,
        )
        conn.autocommit = True
        return conn

    def _ensure_database(self, password: str) -> None:
        """Airflow's own role and database (never Brook's): created once, the password set to the generated one."""
        from psycopg2 import sql

        name = sql.Identifier(self.instance.database)
        conn = self._superuser()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (self.instance.database,))
                verb = "ALTER" if cur.fetchone() else "CREATE"
                cur.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD %s").format(name), (password,))
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.instance.database,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(name, name))
        finally:
            conn.close()

    def drop_database(self) -> None:
        """Remove the instance's database and role (tests' private instances; never ``make airflow``'s)."""
        from psycopg2 import sql

        name = sql.Identifier(self.instance.database)
        conn = self._superuser()
        try:
            with conn.cursor() as cur:
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
                cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(name))
        finally:
            conn.close()

    def _migrate_brook_schema(self) -> None:
        """Brook's tables in the jobs' schema, as the chart's migration Job makes them before any DAG runs."""
        pg = load(PostgresSettings, self.job_env())
        if pg.schema != "public":
            import psycopg2

            with psycopg2.connect(replace(pg, schema="public").dsn()) as conn, conn.cursor() as cur:
                cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{pg.schema}"')
        applied = migrate(pg.dsn())
        print(f"[airflow] Brook schema {pg.schema}: {len(applied)} migration(s) applied now", flush=True)

    def _cli(self, *args: str) -> None:
        log = self.layout.log("cli")
        with log.open("ab") as out:
            done = subprocess.run(
                [str(self.airflow), *args],
                env=self.process_env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=START_TIMEOUT,
            )
        if done.returncode != 0:
            raise ServiceError(f"airflow {' '.join(args)} failed (exit {done.returncode}).\n{_log_tail(log)}")

    def _spawn(self, process: str) -> None:
        """One detached process in its own session: its pid is its process group, stopped as one."""
        with self.layout.log(process).open("ab") as out:
            proc = subprocess.Popen(
                [str(self.airflow), process, *ARGS.get(process, ())],
                env=self.process_env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.layout.pidfile(process).write_text(str(proc.pid))

    def _answers(self) -> bool:
        try:
            AirflowApi(self.instance.url, "").health()
            return True
        except (OSError, ValueError, ServiceError):
            return False

    def _wait(self, check: Callable[[], bool], what: str) -> None:
        """Poll ``check`` until it holds; fail early, with its log, if a started process died."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            spawned = [p for p in PROCESSES if self.layout.pidfile(p).exists()]
            dead = [p for p in spawned if not _pid_alive(self.layout.pidfile(p))]
            if dead:
                tails = "\n".join(_log_tail(self.layout.log(p)) for p in dead)
                raise ServiceError(f"airflow {', '.join(dead)} exited while starting.\n{tails}")
            if check():
                return
            time.sleep(1)
        tails = "\n".join(_log_tail(self.layout.log(p), 15) for p in PROCESSES)
        raise ServiceError(f"Airflow at {self.instance.url}: {what} took over {START_TIMEOUT:.0f}s.\n{tails}")

    def stop(self) -> bool:
        """SIGTERM each process group (its executor's and api-server's children with it), SIGKILL after 30 s."""
        stopped = False
        for process in reversed(PROCESSES):
            pidfile = self.layout.pidfile(process)
            pid = _pid_alive(pidfile)
            if pid is not None:
                _stop_group(pid, pidfile)
                stopped = True
            pidfile.unlink(missing_ok=True)
        return stopped

    # -- report ------------------------------------------------------------------------------------------------

    def report(self) -> None:
        """Print the URL, the login and each DAG; fail if a DAG file does not import or a DAG is paused."""
        api = self.api()
        errors = api.import_errors()
        dags = api.dags()
        password, fresh = admin_password(self.layout)
        print(f"[airflow] UI: {self.instance.url}  user: {ADMIN}", flush=True)
        if fresh:
            print(f"[airflow] generated password: {password}  (shown once; kept in {self.layout.admin_password})")
            (self.layout.home / NOT_SHOWN).unlink()
        else:
            print(f"[airflow] password: in {self.layout.admin_password}")
        for dag in sorted(dags, key=lambda d: d["dag_id"]):
            state = "PAUSED" if dag["is_paused"] else "unpaused"
            print(f"[airflow]   {dag['dag_id']:16} {state:9} schedule {dag.get('timetable_summary')}", flush=True)
        print(f"[airflow] logs: {self.layout.logs}; stop: make services-down (or make airflow-down)", flush=True)
        if errors:
            details = "\n".join(f"{e['filename']}: {e['stack_trace']}" for e in errors)
            raise ServiceError(f"DAG files that do not import:\n{details}")
        paused = [d["dag_id"] for d in dags if d["is_paused"]]
        if paused:
            raise ServiceError(f"paused DAGs: {', '.join(paused)} (unpause them in the UI)")


def _stop_group(pid: int, pidfile: Path, timeout: float = 30.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(pidfile):
        with contextlib.suppress(ChildProcessError):  # started by this very process (tests): reap, or it lingers
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # stragglers of the group (a task subprocess, a uvicorn worker)


def running_default() -> LocalAirflow | None:
    """``make airflow``'s instance if it answers healthy (its port read from the config it last wrote), else None."""
    layout = Layout.default(LocalServices().paths, "airflow", CONFIG_NAME)
    if not (layout.config.exists() and layout.admin_password.exists()):
        return None
    config = configparser.ConfigParser(interpolation=None)
    config.read(layout.config)
    local = LocalAirflow(Instance(port=config.getint("api", "port", fallback=DEFAULT_PORT)), layout)
    return local if local.healthy() else None


def stop_default() -> bool:
    """Stop ``make airflow``'s instance; called by ``jobs.local.services down``."""
    return LocalAirflow().stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.local.airflow", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="api-server/UI port on 127.0.0.1")
    args = parser.parse_args(argv)
    local = LocalAirflow(Instance(port=args.port))
    return command("airflow", local, args.command)


if __name__ == "__main__":
    sys.exit(main())
