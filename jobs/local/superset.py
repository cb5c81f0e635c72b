"""``make superset``: Apache Superset on 127.0.0.1 showing Brook's results, its dashboards imported from code.

``python -m jobs.local.superset up|down|status [--port 8088] [--schema demo]``

One gunicorn process of the locked Superset venv (``$BROOK_HOME/venv/superset``) in the background. Its metadata
lives in a database and role of its own in the local Postgres (password generated); its ``SECRET_KEY`` (which
encrypts the stored connection passwords) and the ``admin`` password are generated once and kept in
``$BROOK_HOME/data/superset`` (mode 0600), never defaults. Before the server starts: ``superset db upgrade``,
the admin user, ``superset init`` (roles and permissions), then the dashboards as code
(``charts/brook/dashboards/superset``) are imported by ``charts/brook/dashboards/import_superset.py``.

Superset reads Brook's results as a read-only role of its own (``<database>_reader``), never as Brook's owner:
the connection's ``search_path`` is the results schema (``demo``, what ``make demo`` fills, by default), so the same
assets serve any schema. The role gets SELECT on tables Brook's owner creates later too (default privileges), so a
``make demo`` that recreates its schema stays readable. ``make services-down`` stops Superset first.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jobs.local.app_home import (
    ADMIN,
    NOT_SHOWN,
    Layout,
    admin_password,
    command,
    generated_secrets,
    write_private,
)
from jobs.local.services import (
    PG_DATABASE,
    PG_USER,
    LocalServices,
    ServiceError,
    _credentials,
    _log_tail,
    _pid_alive,
)

ROOT = Path(__file__).resolve().parents[2]
# The assets live with the chart so that Kubernetes (a ConfigMap of the brook chart) and `make superset` import the
# very same files; docs/dashboards.md.
ASSETS = ROOT / "charts" / "brook" / "dashboards" / "superset"
IMPORTER = ASSETS.parent / "import_superset.py"  # shipped with the assets: the Kubernetes init runs it too
DEFAULT_PORT = 8088
PASSWORD_MASK = "X" * 10  # superset.constants.PASSWORD_MASK: what an export writes in place of a password
DEFAULT_SCHEMA = "demo"  # jobs/local/bets_demo.py DEMO_SCHEMA; make demo's results
CONFIG_NAME = "superset_config.py"
START_TIMEOUT = 600.0  # a cold start (migrations, permission sync) on two busy cores
CLI_TIMEOUT = 900.0


@dataclass(frozen=True, kw_only=True)
class Instance:
    """One local Superset: ``make superset``'s (database ``superset``, port 8088) or a test's private one."""

    database: str = "superset"  # also the name of its Postgres role; the reader role is <database>_reader
    port: int = DEFAULT_PORT
    schema: str = DEFAULT_SCHEMA  # the Brook results schema the dashboards read
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def reader(self) -> str:
        return f"{self.database}_reader"


def _secrets(layout: Layout) -> dict[str, str]:
    """Generated once per instance home: both database passwords and Superset's SECRET_KEY."""
    return generated_secrets(
        layout,
        lambda: {
            "db_password": secrets.token_urlsafe(18),
            "reader_password": secrets.token_urlsafe(18),
            # Encrypts the connection passwords stored in the metadata DB: changing it makes them unreadable.
            "secret_key": secrets.token_urlsafe(42),
        },
    )


def render_config(instance: Instance, pg_port: int, values: dict[str, str]) -> str:
    """superset_config.py: metadata in the local Postgres, generated SECRET_KEY, no examples, small footprint."""
    db = f"postgresql+psycopg2://{instance.database}:{quote(values['db_password'], safe='')}@127.0.0.1:{pg_port}/"
    return "\n".join(
        [
            "# Written by jobs/local/superset.py on every start; edit that file instead.",
            f"SECRET_KEY = {values['secret_key']!r}",
            f"SQLALCHEMY_DATABASE_URI = {db + instance.database!r}",
            "SQLALCHEMY_EXAMPLES_URI = SQLALCHEMY_DATABASE_URI  # never used: no examples are loaded",
            "SUPERSET_WEBSERVER_PORT = " + str(instance.port),
            # Loopback over plain HTTP: Talisman's HTTPS redirect and secure cookies would lock the browser out.
            "TALISMAN_ENABLED = False",
            "SESSION_COOKIE_SECURE = False",
            "RATELIMIT_STORAGE_URI = 'memory://'",
            "FEATURE_FLAGS = {'DASHBOARD_RBAC': False}",
            "",
        ]
    )


def results_uri(instance: Instance, pg_port: int) -> str:
    """The Brook results connection with its password masked as in Superset's exports (``XXXXXXXXXX``): only then
    does the import apply the password it is given separately."""
    options = quote(f"-csearch_path={instance.schema}", safe="")
    return (
        f"postgresql+psycopg2://{instance.reader}:{PASSWORD_MASK}@127.0.0.1:{pg_port}/{PG_DATABASE}?options={options}"
    )


class LocalSuperset:
    """Start, stop, import into and describe one local Superset instance."""

    def __init__(self, instance: Instance | None = None, layout: Layout | None = None) -> None:
        self.services = LocalServices()
        self.paths = self.services.paths
        self.instance = instance or Instance()
        self.layout = layout or Layout.default(self.paths, "superset", CONFIG_NAME)
        self.bin = self.paths.home / "venv" / "superset" / "bin"

    def env(self) -> dict[str, str]:
        """The Superset processes' environment: nothing of the caller's but PATH/HOME, and the config path."""
        base = {k: os.environ[k] for k in ("PATH", "HOME", "TMPDIR") if k in os.environ}
        return {
            **base,
            "LANG": "C.UTF-8",
            "SUPERSET_CONFIG_PATH": str(self.layout.config),
            "FLASK_APP": "superset",
            "SUPERSET_HOME": str(self.layout.home),
            **self.instance.env,
        }

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.instance.url + "/health", timeout=10) as response:
                return response.read().strip() == b"OK"
        except (OSError, ValueError):
            return False

    def up(self) -> None:
        """Start (idempotent: a running instance only re-imports the assets), then print the URL and login."""
        if self.healthy() and _pid_alive(self.layout.pidfile("web")):
            print(f"[superset] already running at {self.instance.url}", flush=True)
            self._grant_reader(_secrets(self.layout)["reader_password"])
            self.import_assets()
        else:
            self._start()
        self.report()

    def _start(self) -> None:
        started = time.monotonic()
        self._require_tools()
        self.stop()
        self.layout.ensure()
        values = _secrets(self.layout)
        self._ensure_database(values["db_password"])
        self._grant_reader(values["reader_password"])
        write_private(self.layout.config, render_config(self.instance, self.services.cfg.pg_port, values))
        password, _ = admin_password(self.layout)
        print(f"[superset] superset db upgrade ({self.instance.database} in the local Postgres)", flush=True)
        self._cli("db", "upgrade")
        self._ensure_admin(password)
        print("[superset] superset init (roles, permissions)", flush=True)
        self._cli("init")
        self.import_assets()
        self._spawn()
        self._wait(self.healthy, "waiting for /health")
        print(f"[superset] healthy in {time.monotonic() - started:.0f}s", flush=True)

    def _require_tools(self) -> None:
        if not (self.bin / "superset").exists():
            raise ServiceError(f"{self.bin / 'superset'} missing: run `make superset-venv`.")
        if not self.services.status().get("postgres"):
            raise ServiceError("the local Postgres is not running: run `make services-up` first.")

    def _superuser(self, dbname: str = "postgres") -> Any:
        import psycopg2

        conn = psycopg2.connect(
            host="127.0.0.1",
            port=self.services.cfg.pg_port,
            dbname=dbname,
            user=PG_USER,
            password=_credentials(self.paths)["pg_password"],
            connect_timeout=5,
        )
        conn.autocommit = True
        return conn

    def _ensure_role(self, cur: Any, role: str, password: str) -> None:
        from psycopg2 import sql

        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        verb = "ALTER" if cur.fetchone() else "CREATE"
        cur.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(role)), (password,))

    def _ensure_database(self, password: str) -> None:
        """Superset's own role and database (never Brook's): created once, the password set to the generated one."""
        from psycopg2 import sql

        name = sql.Identifier(self.instance.database)
        conn = self._superuser()
        try:
            with conn.cursor() as cur:
                self._ensure_role(cur, self.instance.database, password)
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.instance.database,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(name, name))
        finally:
            conn.close()

    def _grant_reader(self, password: str) -> None:
        """The read-only role the dashboards query with: SELECT on the results schema, now and on later tables."""
        from psycopg2 import sql

        reader, owner = sql.Identifier(self.instance.reader), sql.Identifier(PG_USER)
        schema = sql.Identifier(self.instance.schema)
        conn = self._superuser(PG_DATABASE)
        try:
            with conn.cursor() as cur:
                self._ensure_role(cur, self.instance.reader, password)
                cur.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(reader))
                cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(PG_DATABASE), reader))
                # make demo drops and recreates its schema: default privileges cover the new schema and tables.
                cur.execute(
                    sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT USAGE ON SCHEMAS TO {}").format(owner, reader)
                )
                cur.execute(
                    sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} GRANT SELECT ON TABLES TO {}").format(owner, reader)
                )
                cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.instance.schema,))
                if cur.fetchone() is not None:
                    cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, reader))
                    cur.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(schema, reader))
        finally:
            conn.close()

    def drop_database(self) -> None:
        """Remove the instance's databases roles (tests' private instances; never ``make superset``'s)."""
        from psycopg2 import sql

        name, reader = sql.Identifier(self.instance.database), sql.Identifier(self.instance.reader)
        conn = self._superuser(PG_DATABASE)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (self.instance.reader,))
                if cur.fetchone():
                    cur.execute(sql.SQL("DROP OWNED BY {}").format(reader))  # its grants and default privileges
                    cur.execute(sql.SQL("DROP ROLE {}").format(reader))
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
                cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(name))
        finally:
            conn.close()

    def _cli(self, *args: str, env: dict[str, str] | None = None, program: str = "superset") -> None:
        log = self.layout.log("cli")
        with log.open("ab") as out:
            done = subprocess.run(
                [str(self.bin / program), *args],
                env={**self.env(), **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=CLI_TIMEOUT,
            )
        if done.returncode != 0:
            shown = " ".join(a for a in args if not a.startswith("--password"))
            raise ServiceError(f"{program} {shown} failed (exit {done.returncode}).\n{_log_tail(log)}")

    def _ensure_admin(self, password: str) -> None:
        """``admin`` with the generated password: created once, its password reset to the file's on every start.

        Both FAB commands exit 0 when they do nothing (user exists / user not found), so both always run."""
        user = ["--username", ADMIN]
        names = ["--firstname", "Brook", "--lastname", "Admin", "--email", "admin@brook.invalid"]
        self._cli("fab", "create-admin", *user, *names, "--password", password)
        self._cli("fab", "reset-password", *user, "--password", password)

    def import_assets(self) -> None:
        """Superset's own import command (ImportAssetsCommand) on the assets folder, in the Superset venv."""
        print(f"[superset] importing dashboards as code from {ASSETS.relative_to(ROOT)}", flush=True)
        values = _secrets(self.layout)
        env = {
            "BROOK_SUPERSET_RESULTS_URI": results_uri(self.instance, self.services.cfg.pg_port),
            "BROOK_SUPERSET_RESULTS_PASSWORD": values["reader_password"],
        }
        self._cli(str(IMPORTER), str(ASSETS), env=env, program="python")

    def _spawn(self) -> None:
        """gunicorn (one worker, a few threads) in its own session: its pid is its process group, stopped as one."""
        bind = f"127.0.0.1:{self.instance.port}"
        args = [
            "-w",
            "1",
            "-k",
            "gthread",
            "--threads",
            "8",
            "--timeout",
            "120",
            "-b",
            bind,
            "superset.app:create_app()",
        ]
        with self.layout.log("superset").open("ab") as out:
            proc = subprocess.Popen(
                [str(self.bin / "gunicorn"), *args],
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.layout.pidfile("web").write_text(str(proc.pid))

    def _wait(self, check: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not _pid_alive(self.layout.pidfile("web")):
                raise ServiceError(f"superset exited while starting.\n{_log_tail(self.layout.log('superset'))}")
            if check():
                return
            time.sleep(1)
        tail = _log_tail(self.layout.log("superset"), 15)
        raise ServiceError(f"Superset at {self.instance.url}: {what} took over {START_TIMEOUT:.0f}s.\n{tail}")

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM the gunicorn group, SIGKILL after ``timeout``."""
        pid = _pid_alive(self.layout.pidfile("web"))
        if pid is None:
            self.layout.pidfile("web").unlink(missing_ok=True)
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _pid_alive(self.layout.pidfile("web")):
            with contextlib.suppress(ChildProcessError):  # started by this very process (tests): reap it
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        self.layout.pidfile("web").unlink(missing_ok=True)
        return True

    def report(self) -> None:
        """Print the URL, the login and the dashboards shipped as code."""
        password, fresh = admin_password(self.layout)
        print(f"[superset] UI: {self.instance.url}  user: {ADMIN}  (results schema: {self.instance.schema})")
        if fresh:
            print(f"[superset] generated password: {password}  (shown once; kept in {self.layout.admin_password})")
            (self.layout.home / NOT_SHOWN).unlink()
        else:
            print(f"[superset] password: in {self.layout.admin_password}")
        for path in sorted((ASSETS / "dashboards").glob("*.yaml")):
            print(f"[superset]   dashboard {path.stem}", flush=True)
        print(f"[superset] logs: {self.layout.logs}; stop: make superset-stop (or make services-down)", flush=True)


def stop_default() -> bool:
    """Stop ``make superset``'s instance; called by ``jobs.local.services down``."""
    return LocalSuperset().stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.local.superset", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="UI port on 127.0.0.1")
    parser.add_argument("--schema", default=DEFAULT_SCHEMA, help="Brook results schema the dashboards read")
    args = parser.parse_args(argv)
    local = LocalSuperset(Instance(port=args.port, schema=args.schema))
    return command("superset", local, args.command)


if __name__ == "__main__":
    sys.exit(main())
