"""Where a local web application (``make airflow``, ``make superset``) keeps its files, and its generated secrets.

Both run from their own venv on 127.0.0.1 with their metadata in the local Postgres, and both need the same things
kept across restarts: a config file, secrets generated once (database passwords, signing keys), an ``admin``
password printed once, pid files and logs. One definition here, so the two cannot drift apart in how a secret file
is protected or when the password is shown.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from jobs.local.services import Paths, ServiceError

ADMIN = "admin"
NOT_SHOWN = ".admin-password-not-shown"  # marker: the generated password is printed once, by the first report


@dataclass(frozen=True)
class Layout:
    """One instance's folders: ``home`` (config, secrets), ``logs`` and ``run`` (pid files)."""

    home: Path
    logs: Path
    run: Path
    config_name: str  # the application's own config file in ``home``
    pid_prefix: str = ""  # pid files are <pid_prefix><process>.pid

    @classmethod
    def default(cls, paths: Paths, app: str, config_name: str) -> Layout:
        return cls(
            home=paths.data / app, logs=paths.logs / app, run=paths.run, config_name=config_name, pid_prefix=f"{app}-"
        )

    @classmethod
    def under(cls, root: Path, config_name: str) -> Layout:
        """A private instance's folders below ``root`` (tests)."""
        return cls(home=root / "home", logs=root / "logs", run=root / "run", config_name=config_name)

    @property
    def config(self) -> Path:
        return self.home / self.config_name

    @property
    def secrets(self) -> Path:
        return self.home / "secrets.json"

    @property
    def admin_password(self) -> Path:
        return self.home / "admin-password.json"

    def pidfile(self, process: str) -> Path:
        return self.run / f"{self.pid_prefix}{process}.pid"

    def log(self, process: str) -> Path:
        return self.logs / f"{process}.log"

    def ensure(self) -> None:
        for folder in (self.home, self.logs, self.run):
            folder.mkdir(parents=True, exist_ok=True)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds passwords)."""
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)


def generated_secrets(layout: Layout, generate: Callable[[], dict[str, str]]) -> dict[str, str]:
    """The instance's secrets: generated once by ``generate`` into a private file, then read back on every start
    (a new key would orphan what the old one encrypted or signed)."""
    if layout.secrets.exists():
        return json.loads(layout.secrets.read_text())
    values = generate()
    write_private(layout.secrets, json.dumps(values, indent=2))
    return values


def admin_password(layout: Layout) -> tuple[str, bool]:
    """The ``admin`` user's generated password, kept as ``{"admin": "<password>"}`` (the format of Airflow's simple
    auth manager's passwords file); True until it has been shown once."""
    if not layout.admin_password.exists():
        write_private(layout.admin_password, json.dumps({ADMIN: secrets.token_urlsafe(15)}) + "\n")
        (layout.home / NOT_SHOWN).touch()
    return json.loads(layout.admin_password.read_text())[ADMIN], (layout.home / NOT_SHOWN).exists()


class Served(Protocol):
    """An instance's address."""

    @property
    def url(self) -> str: ...


class LocalApp(Protocol):
    """What ``make airflow``'s and ``make superset``'s instances offer their command line."""

    layout: Layout
    instance: Served

    def up(self) -> None: ...

    def stop(self) -> bool: ...

    def healthy(self) -> bool: ...


def command(name: str, app: LocalApp, verb: str) -> int:
    """``up``, ``down`` or ``status`` of a local app: exit 0 done (status: healthy), 3 status down, 1 a service
    error (its message on stderr)."""
    try:
        if verb == "up":
            app.up()
        elif verb == "down":
            print(f"[{name}] {'stopped' if app.stop() else 'not running'}", flush=True)
        else:
            healthy = app.healthy()
            print(f"{name:<9} {'healthy' if healthy else 'down'}   {app.instance.url}   logs: {app.layout.logs}")
            return 0 if healthy else 3
    except ServiceError as err:
        print(f"[{name}] error: {err}", file=sys.stderr)
        return 1
    return 0
