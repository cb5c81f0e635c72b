"""The cinema pipeline's two local Postgres instances: the OLTP publisher and the warehouse subscriber.

``python -m jobs.local.cinema_postgres up|down|env``

Each is a private cluster of :class:`jobs.local.services.Postgres` (same Debian binaries, own data folder under
``$BROOK_HOME/cinema/<name>-<port>``, own port, generated password kept with its data), started through
:class:`~jobs.local.services.LocalServices` like the shared one. The shared local Postgres is never touched: it runs
with ``wal_level=replica`` and others use it, while a publisher needs ``wal_level=logical`` (a restart). The OLTP
instance gets ``wal_level=logical`` with ``ALTER SYSTEM`` and one restart on first start; the warehouse reports its
replication progress every second (``wal_receiver_status_interval``) so the lag check settles quickly.
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from jobs.common.settings import PostgresSettings, load, setting, to_env
from jobs.local.services import LocalServices, LocalSettings, Postgres, ServiceError


@dataclass(frozen=True, kw_only=True)
class CinemaLocalSettings:
    oltp_port: int = setting("LOCAL_CINEMA_OLTP_PORT", 15436, help="Local cinema OLTP Postgres (publisher) port.")
    warehouse_port: int = setting(
        "LOCAL_CINEMA_WAREHOUSE_PORT", 15437, help="Local cinema warehouse Postgres (subscriber) port."
    )


@dataclass(frozen=True)
class Instance:
    """One private Postgres: its services object (start/stop) and its connection settings."""

    name: str
    services: LocalServices

    @property
    def pg(self) -> Postgres:
        return self.services.services["postgres"]

    def settings(self) -> PostgresSettings:
        return load(PostgresSettings, self.services.env())

    def running(self) -> bool:
        """Answering on its port (only this Postgres is probed, not the shared Kafka or MinIO)."""
        try:
            return bool(self.pg.healthy())
        except Exception:  # not running, or not yet initialised: both mean "start it"
            return False

    def up(self) -> None:
        self.services.up(["postgres"])

    def down(self) -> None:
        self.services.down(["postgres"])

    def replication_password(self) -> str:
        """The replication role's password, generated once and kept with this instance's data (mode 0600)."""
        path = self.services.paths.data / "replication-password"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(24))
            path.chmod(0o600)
        return path.read_text().strip()

    def ensure(self, name: str, value: str, restart: bool) -> None:
        """``ALTER SYSTEM SET name = value``; reload, or restart once when the setting needs it."""
        conn = psycopg2.connect(self.settings().dsn())
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f"SHOW {name}")
                if cur.fetchone()[0] == value:
                    return
                cur.execute(f"ALTER SYSTEM SET {name} = %s", (value,))
                cur.execute("SELECT pg_reload_conf()")
        finally:
            conn.close()
        if restart:
            cmd = [str(self.pg.bindir() / "pg_ctl"), "-D", str(self.pg.dir), "-m", "fast", "-w", "-t", "120", "restart"]
            with self.services.paths.log("postgres").open("ab") as out:
                if subprocess.run(self.pg._as_owner(cmd), stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                    log = self.services.paths.log("postgres")
                    raise ServiceError(f"{self.name} Postgres did not restart; see {log}")


def instances(ports: tuple[int, int] | None = None) -> tuple[Instance, Instance]:
    """(OLTP, warehouse) on ``ports`` (default: :class:`CinemaLocalSettings`), data under
    ``$BROOK_HOME/cinema/<name>-<port>`` (the tests' pair, on other ports, never shares a folder with the demo's)."""
    shared = load(LocalSettings)
    cinema = load(CinemaLocalSettings)
    oltp_port, warehouse_port = ports or (cinema.oltp_port, cinema.warehouse_port)
    root = Path(shared.home).resolve() / "cinema"
    made = []
    for name, port in (("oltp", oltp_port), ("warehouse", warehouse_port)):
        cfg = LocalSettings(home=str(root / f"{name}-{port}"), pg_port=port, start_timeout=180.0)
        made.append(Instance(name, LocalServices(cfg)))
    return made[0], made[1]


def up(oltp: Instance, warehouse: Instance) -> None:
    """Both instances running and configured for logical replication (idempotent)."""
    for inst in (oltp, warehouse):
        inst.up()
    oltp.ensure("wal_level", "logical", restart=True)
    warehouse.ensure("wal_receiver_status_interval", "1s", restart=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.local.cinema_postgres", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down", "env"))
    args = parser.parse_args(argv)
    oltp, warehouse = instances()
    try:
        if args.command == "up":
            up(oltp, warehouse)
        elif args.command == "down":
            for inst in (warehouse, oltp):
                inst.down()
        else:
            for inst in (oltp, warehouse):
                print(f"# {inst.name}")
                for key, value in to_env(inst.settings()).items():
                    print(f"export {key}={value}")
    except ServiceError as err:
        print(f"[cinema] error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
