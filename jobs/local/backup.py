"""Backups of the local Postgres into the local MinIO with Barman's cloud tools (docs/backups.md).

``python -m jobs.local.backup configure|backup|restore|status|list [--target-time T] [--port P] [--restart]``

- ``configure``: the bucket, a credentials file only Postgres' OS user reads, the ``archive_command`` wrapper, and
  ``archive_mode``/``archive_command``/``archive_timeout`` by ``ALTER SYSTEM`` (kept in the cluster's
  ``postgresql.auto.conf``, so every later start keeps archiving). ``archive_mode`` needs a restart: ``--restart``
  restarts the local Postgres once (without it, ``configure`` says so and stops).
- ``backup``: ``configure``, then a base backup with ``barman-cloud-backup``.
- ``restore``: the newest base backup that ended before ``--target-time`` (or the newest), restored with
  ``barman-cloud-restore`` into a fresh data directory, WAL replayed from the archive (``barman-cloud-wal-restore``
  as ``restore_command``) up to ``--target-time`` (or to the end of the archive), promoted, running on ``--port``.
- ``status``: ``pg_stat_archiver``; exit 1 while the last archive attempt failed (MinIO down, wrong credentials).

The tools are Debian's ``barman-cli-cloud`` (``make backup-tools``); the WAL archive wrapper exits non-zero on any
failure, so Postgres keeps the segment in ``pg_wal`` and retries it: a WAL segment is never dropped.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg2

from jobs.common.settings import PostgresSettings, S3Settings, load
from jobs.local.services import LocalServices, LocalSettings, Paths, Postgres, ServiceError

BUCKET = "brook-pg-backups"  # the backups' own bucket (nothing else writes there)
SERVER = "brook-local"  # barman's server name: the folder under the bucket
ARCHIVE_TIMEOUT = 60  # seconds: the recovery point objective of an idle-ish cluster (docs/backups.md)
BARMAN_BIN = Path(os.environ.get("BROOK_BARMAN_BIN", "/usr/bin"))
PROFILE = "brook-backup"


class BackupError(RuntimeError):
    """A backup or restore step failed; the message says which and carries the tool's output."""


@dataclasses.dataclass(frozen=True)
class Restored:
    data_dir: Path
    port: int
    backup_id: str
    target_time: str | None
    seconds: float  # barman-cloud-restore + WAL replay until the instance is promoted and accepts writes
    restore_seconds: float  # barman-cloud-restore alone (the base backup's files)


def barman_tools_missing() -> list[str]:
    tools = ("barman-cloud-wal-archive", "barman-cloud-backup", "barman-cloud-restore", "barman-cloud-wal-restore")
    return [t for t in tools if not (BARMAN_BIN / t).exists()]


class LocalBackup:
    """Archiving, base backups and restores of one local Postgres (``services``' own, or a private one)."""

    def __init__(self, services: LocalServices, bucket: str = BUCKET, server: str = SERVER) -> None:
        self.services = services
        self.paths: Paths = services.paths
        self.pg: Postgres = services.services["postgres"]
        self.bucket, self.server = bucket, server
        self.dir = self.paths.home / "backup"
        self.bin = self.dir / "bin"
        self.aws_credentials = self.dir / "aws-credentials"
        self.url = f"s3://{bucket}"
        env = services.env()
        self.pg_settings = load(PostgresSettings, env)
        self.s3 = load(S3Settings, env)

    # --- setup --------------------------------------------------------------------------------------------------
    def _tool_env(self) -> dict[str, str]:
        return {
            "AWS_SHARED_CREDENTIALS_FILE": str(self.aws_credentials),
            "AWS_DEFAULT_REGION": self.s3.region or "us-east-1",
            "AWS_MAX_ATTEMPTS": "2",  # a dead endpoint fails the attempt quickly; Postgres retries the segment
        }

    def _tool(self, name: str, *args: str) -> list[str]:
        common = ["--cloud-provider", "aws-s3", "--endpoint-url", self.s3.endpoint, "-P", PROFILE]
        return [str(BARMAN_BIN / name), *common, *args]

    def _script(self, name: str, tool: list[str], comment: str) -> Path:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self._tool_env().items())
        path = self.bin / name
        header = f"#!/bin/sh\n# {comment}\n# Written by jobs/local/backup.py.\n"
        path.write_text(f'{header}export {env}\nexec {shlex.join(tool)} "$@"\n')
        path.chmod(0o755)
        return path

    def prepare(self) -> None:
        """Bucket, credentials file (Postgres' OS user only) and the archive/restore wrappers."""
        missing = barman_tools_missing()
        if missing:
            raise BackupError(f"{', '.join(missing)} missing in {BARMAN_BIN}: run `make backup-tools`")
        self.bin.mkdir(parents=True, exist_ok=True)
        for folder in (self.dir, self.bin):
            folder.chmod(0o755)
        self.aws_credentials.write_text(
            f"[{PROFILE}]\naws_access_key_id = {self.s3.access_key}\naws_secret_access_key = {self.s3.secret_key}\n"
        )
        self.aws_credentials.chmod(0o600)
        self.pg._chown(self.aws_credentials)
        self._script(
            "archive-wal",
            self._tool("barman-cloud-wal-archive", "--gzip", self.url, self.server),
            "archive_command: non-zero exit = Postgres keeps the WAL segment and retries it",
        )
        self._script(
            "restore-wal",
            self._tool("barman-cloud-wal-restore", self.url, self.server),
            "restore_command: fetch one WAL segment from the archive",
        )
        client = self.s3.client()
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            if self.bucket not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
                client.create_bucket(Bucket=self.bucket)

    def connect(self, port: int | None = None) -> Any:
        """An autocommit connection to the ``brook`` database (``port``: a restored instance); close it."""
        settings = dataclasses.replace(self.pg_settings, schema="public", port=port or self.pg_settings.port)
        conn = psycopg2.connect(settings.dsn(), connect_timeout=5)
        conn.autocommit = True
        return conn

    def query(self, sql: str, params: tuple = (), port: int | None = None) -> list[tuple]:
        with contextlib.closing(self.connect(port)) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def configure(self, restart: bool, archive_timeout: int = ARCHIVE_TIMEOUT, **extra: str) -> None:
        """archive_mode/command/timeout (+ ``extra`` settings) by ALTER SYSTEM; restart once if archive_mode is off."""
        self.prepare()
        wanted = {
            "archive_mode": "on",
            "archive_command": f"{self.bin / 'archive-wal'} %p",
            "archive_timeout": str(archive_timeout),
            **extra,
        }
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
            for name, value in wanted.items():
                cur.execute(f"ALTER SYSTEM SET {name} = %s", (value,))
            cur.execute("SELECT pg_reload_conf()")
            time.sleep(0.2)  # the reload is asynchronous
            cur.execute("SELECT name FROM pg_settings WHERE pending_restart")
            # Only ours: settings given on the server's command line (max_connections...) also show as pending.
            pending = [row[0] for row in cur.fetchall() if row[0] in wanted]
        if pending:
            if not restart:
                raise BackupError(
                    f"{', '.join(pending)} take effect at the next Postgres restart: run again with --restart "
                    "(`make backup RESTART=1`), or restart the local services"
                )
            self.restart()

    def restart(self) -> None:
        cmd = [str(self.pg.bindir() / "pg_ctl"), "-D", str(self.pg.dir), "-m", "fast", "-w", "-t", "120", "restart"]
        log = self.paths.log("postgres")
        with log.open("ab") as out:
            if subprocess.run(self.pg._as_owner(cmd), stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                raise BackupError(f"Postgres did not restart; see {log}")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(psycopg2.OperationalError):
                self.connect().close()
                return
            time.sleep(0.3)
        raise BackupError(f"Postgres did not come back after the restart; see {log}")

    # --- archiving ----------------------------------------------------------------------------------------------
    def archiver(self, port: int | None = None) -> dict[str, Any]:
        """pg_stat_archiver, plus ``failing``: the last attempt failed (after the last success)."""
        row = self.query(
            "SELECT archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal, "
            "last_failed_time, current_setting('archive_mode') FROM pg_stat_archiver",
            port=port,
        )[0]
        names = ("archived_count", "last_archived_wal", "last_archived_time", "failed_count", "last_failed_wal")
        state: dict[str, Any] = dict(zip(names, row[:5], strict=True))
        state["last_failed_time"], state["archive_mode"] = row[5], row[6]
        state["failing"] = row[5] is not None and (row[2] is None or row[5] > row[2])
        return state

    def switch_and_wait(self, timeout: float = 120.0) -> str:
        """Close the current WAL segment (pg_switch_wal) and wait until the archive holds it: everything committed
        before this call is then in the object store."""
        segment = str(self.query("SELECT pg_walfile_name(pg_switch_wal())")[0][0])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.archiver()["last_archived_wal"] or ""
            if last[:24] >= segment:  # same timeline: segment names sort in WAL order
                return segment
            time.sleep(0.3)
        raise BackupError(f"WAL segment {segment} was not archived within {timeout:.0f}s: {self.archiver()}")

    # --- base backups -------------------------------------------------------------------------------------------
    def _run(self, cmd: list[str], what: str, timeout: float = 1800) -> str:
        env = {**os.environ, **self._tool_env(), "PGPASSWORD": self.pg_settings.password}
        proc = subprocess.run(
            self.pg._as_owner(cmd), capture_output=True, text=True, env=env, timeout=timeout, check=False
        )
        if proc.returncode != 0:
            raise BackupError(f"{what} failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        return proc.stdout

    def base_backup(self) -> dict[str, Any]:
        """A base backup into the bucket; returns its id, seconds, the database size and the bytes stored."""
        size = self.database_bytes()
        began = time.monotonic()
        args = ["-h", "127.0.0.1", "-p", str(self.pg.port), "-U", self.pg_settings.user, "-d", "postgres"]
        self._run(self._tool("barman-cloud-backup", *args, "--immediate-checkpoint", self.url, self.server), "backup")
        seconds = time.monotonic() - began
        newest = self.backups()[-1]
        return {"backup_id": newest["backup_id"], "seconds": seconds, "database_bytes": size, **newest}

    def database_bytes(self, port: int | None = None) -> int:
        return int(self.query("SELECT sum(pg_database_size(datname))::bigint FROM pg_database", port=port)[0][0])

    def backups(self) -> list[dict[str, Any]]:
        """The finished base backups in the bucket, oldest first."""
        out = self._run(self._tool("barman-cloud-backup-list", "--format", "json", self.url, self.server), "list")
        done = [b for b in json.loads(out).get("backups_list", []) if b.get("status") == "DONE"]
        return sorted(done, key=lambda b: b["end_time"])

    def choose(self, target_time: str | None) -> dict[str, Any]:
        """The newest backup that ended before ``target_time`` (PITR replays WAL forward from a backup's end)."""
        backups = self.backups()
        if target_time is not None:
            target = parse_time(target_time)
            backups = [b for b in backups if parse_time(b["end_time"]) < target]
        if not backups:
            raise BackupError(f"no base backup in {self.url}/{self.server} ended before {target_time or 'now'}")
        return backups[-1]

    # --- restore ------------------------------------------------------------------------------------------------
    def restore(
        self, data_dir: Path, port: int, target_time: str | None = None, archive: bool = False, timeout: float = 600
    ) -> Restored:
        """Restore into ``data_dir`` (must not exist or be empty), replay WAL to ``target_time`` (None: to the end of
        the archive), promote and leave it running on ``port``. ``archive``: keep archiving after promotion (into
        the same server folder, on the new timeline; only for a restore that replaces the original)."""
        if data_dir.exists() and any(data_dir.iterdir()):
            raise BackupError(f"{data_dir} is not empty: restore into a fresh data directory")
        backup = self.choose(target_time)
        began = time.monotonic()
        data_dir.mkdir(parents=True, exist_ok=True)
        data_dir.chmod(0o700)
        self.pg._chown(data_dir)
        restore = self._tool("barman-cloud-restore", self.url, self.server, backup["backup_id"], str(data_dir))
        self._run(restore, "restore")
        restore_seconds = time.monotonic() - began
        settings = {
            "restore_command": f"{self.bin / 'restore-wal'} %f %p",
            "recovery_target_action": "promote",
            # To a time: on the base backup's timeline. To the end: follow the newest timeline in the archive.
            "recovery_target_timeline": "current" if target_time is not None else "latest",
        }
        if target_time is not None:
            settings["recovery_target_time"] = target_time
        if not archive:
            settings["archive_mode"] = "off"
        with (data_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write("# restore (jobs/local/backup.py)\n")
            conf.writelines(f"{k} = '{v}'\n" for k, v in settings.items())
        (data_dir / "recovery.signal").touch()
        for leftover in ("postmaster.pid", "postmaster.opts"):
            (data_dir / leftover).unlink(missing_ok=True)
        self.pg._chown(data_dir / "recovery.signal", data_dir / "postgresql.auto.conf")
        self.start(data_dir, port, timeout)
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(psycopg2.OperationalError):
                if not self.query("SELECT pg_is_in_recovery()", port=port)[0][0]:
                    break
            if time.monotonic() > deadline:
                raise BackupError(f"the restored instance on port {port} was still recovering after {timeout:.0f}s")
            time.sleep(0.2)
        return Restored(data_dir, port, backup["backup_id"], target_time, time.monotonic() - began, restore_seconds)

    def _log(self, data_dir: Path) -> Path:
        return self.paths.logs / f"postgres-{data_dir.name}.log"

    def start(self, data_dir: Path, port: int, timeout: float = 600) -> None:
        log = self._log(data_dir)
        log.touch()
        self.pg._chown(log)
        # The settings recovery checks against the backed-up primary's (max_connections: jobs/local/services.py).
        opts = f"-p {port} -c listen_addresses=127.0.0.1 -k {self.pg.socket_dir} -c max_connections=200"
        cmd = [str(self.pg.bindir() / "pg_ctl"), "-D", str(data_dir), "-l", str(log), "-o", opts, "-w"]
        proc = subprocess.run(
            self.pg._as_owner([*cmd, "-t", str(int(timeout)), "start"]), capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
            raise BackupError(f"the restored Postgres did not start on port {port}:\n{tail}")

    def stop(self, data_dir: Path, mode: str = "fast") -> None:
        if (data_dir / "postmaster.pid").exists():
            cmd = [str(self.pg.bindir() / "pg_ctl"), "-D", str(data_dir), "-m", mode, "-w", "stop"]
            subprocess.run(self.pg._as_owner(cmd), capture_output=True, check=False)

    def forget(self) -> None:
        """Delete this server's folder from the bucket (private test/bench servers only)."""
        client = self.s3.client()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=f"{self.server}/"):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})


def parse_time(text: str) -> datetime:
    """A timestamp as Postgres/barman print it ('2026-11-27 20:10:00+00', ISO 8601, 'Fri Nov 27 20:10:00 2026')."""
    with contextlib.suppress(ValueError):
        value = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
        return value if value.tzinfo else value.astimezone()
    return datetime.strptime(text.strip(), "%a %b %d %H:%M:%S %Y").astimezone()


@contextlib.contextmanager
def private_postgres(home: Path, port: int, minio_port: int | None = None) -> Iterator[LocalServices]:
    """A throw-away Postgres (and MinIO, if ``minio_port``) under ``home``, for drills and benchmarks: the shared
    local Postgres is never restarted or destroyed. Binaries are the shared ones."""
    shared = LocalServices()
    home.mkdir(parents=True, exist_ok=True)
    if minio_port is not None and not (home / "bin").exists():
        (home / "bin").symlink_to(shared.paths.minio_bin.parent, target_is_directory=True)
    cfg = LocalSettings(
        home=str(home),
        kafka_port=shared.cfg.kafka_port,
        pg_port=port,
        s3_port=minio_port or shared.cfg.s3_port,
        start_timeout=180.0,
    )
    services = LocalServices(cfg)
    if minio_port is None:  # the shared MinIO (its credentials), a private bucket
        creds = json.loads(shared.paths.credentials.read_text())
        services.paths.ensure()
        existing = json.loads(services.paths.credentials.read_text()) if services.paths.credentials.exists() else {}
        merged = {**creds, **{k: v for k, v in existing.items() if k == "pg_password"}}
        services.paths.credentials.write_text(json.dumps(merged))
        services.paths.credentials.chmod(0o600)
    names = ["postgres"] if minio_port is None else ["postgres", "minio"]
    try:
        services.up(names)
        yield services
    finally:
        services.down(names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.local.backup", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("configure", "backup", "restore", "status", "list"))
    parser.add_argument("--restart", action="store_true", help="restart Postgres once if archive_mode must change")
    parser.add_argument("--target-time", default=None, help="restore: recovery target (default: end of the archive)")
    parser.add_argument("--port", type=int, default=0, help="restore: port of the restored instance (default: +1)")
    parser.add_argument("--data-dir", type=Path, default=None, help="restore: data directory (default: a new one)")
    args = parser.parse_args(argv)
    services = LocalServices()
    try:
        backup = LocalBackup(services)
        if args.command == "configure":
            backup.configure(args.restart)
            print(json.dumps(backup.archiver(), default=str))
        elif args.command == "backup":
            backup.configure(args.restart)
            result = backup.base_backup()
            mb = result["database_bytes"] / 1e6
            print(f"[backup] {result['backup_id']}: {mb:.1f} MB in {result['seconds']:.1f}s → {backup.url}/{SERVER}")
            keys = ("backup_id", "seconds", "database_bytes", "begin_time", "end_time", "begin_wal", "end_wal")
            print(json.dumps({"brook_summary": "backup", **{k: result.get(k) for k in keys}}, default=str))
        elif args.command == "list":
            for item in backup.backups():
                print(f"{item['backup_id']}  {item['begin_time']} → {item['end_time']}  {item.get('status')}")
        elif args.command == "status":
            state = backup.archiver()
            print(json.dumps(state, default=str))
            if state["archive_mode"] != "on":
                print("[backup] WAL archiving is off: `make backup RESTART=1` turns it on", file=sys.stderr)
            elif state["failing"]:
                print(f"[backup] archiving FAILS since {state['last_failed_time']}: is MinIO up?", file=sys.stderr)
            return 1 if state["failing"] or state["archive_mode"] != "on" else 0
        else:
            port = args.port or services.cfg.pg_port + 1
            stamp = time.strftime("%Y%m%d-%H%M%S")
            data_dir = args.data_dir or services.paths.data / f"postgres-restore-{stamp}"
            done = backup.restore(data_dir.resolve(), port, args.target_time)
            print(
                f"[restore] {done.backup_id} → {done.data_dir}, target {done.target_time or 'end of archive'}: "
                f"running on 127.0.0.1:{port} after {done.seconds:.1f}s (files {done.restore_seconds:.1f}s). "
                f"Stop it: {Postgres.bindir() / 'pg_ctl'} -D {done.data_dir} stop"
            )
            print(json.dumps({"brook_summary": "restore", **dataclasses.asdict(done)}, default=str))
    except (BackupError, ServiceError, psycopg2.Error) as err:
        print(f"[backup] error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
