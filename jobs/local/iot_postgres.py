"""The IoT pipeline's private Postgres: ``wal_level=logical`` for Debezium, apart from the shared local Postgres.

``python -m jobs.local.iot_postgres up|down|env``

The same kind of instance as the cinema publisher (:class:`jobs.local.cinema_postgres.Instance`, reused as it is):
Debian binaries, own data folder ``$BROOK_HOME/iot/postgres-<port>``, own port, generated password kept with its
data; ``wal_level=logical`` by ``ALTER SYSTEM`` and one restart on first start. The shared Postgres runs with
``wal_level=replica`` and is never restarted for this.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from jobs.common.settings import load, setting, to_env
from jobs.local.cinema_postgres import Instance
from jobs.local.services import LocalServices, LocalSettings, ServiceError


@dataclass(frozen=True, kw_only=True)
class IotLocalSettings:
    pg_port: int = setting("LOCAL_IOT_PG_PORT", 15438, help="Local IoT Postgres (wal_level=logical) port.")
    connect_port: int = setting("LOCAL_IOT_CONNECT_PORT", 18083, help="Local Kafka Connect worker REST port (IoT).")


def instance(port: int | None = None) -> Instance:
    """The IoT Postgres on ``port`` (default :class:`IotLocalSettings`), data under ``$BROOK_HOME/iot/postgres-<port>``
    (the tests' instance, on another port, never shares a folder with the demo's)."""
    shared = load(LocalSettings)
    port = port or load(IotLocalSettings).pg_port
    home = Path(shared.home).resolve() / "iot" / f"postgres-{port}"
    return Instance("iot", LocalServices(LocalSettings(home=str(home), pg_port=port, start_timeout=180.0)))


def up(inst: Instance) -> None:
    """Running with ``wal_level=logical`` (idempotent)."""
    inst.up()
    inst.ensure("wal_level", "logical", restart=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.local.iot_postgres", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down", "env"))
    args = parser.parse_args(argv)
    inst = instance()
    try:
        if args.command == "up":
            up(inst)
        elif args.command == "down":
            inst.down()
        else:
            for key, value in to_env(inst.settings()).items():
                print(f"export {key}={value}")
    except ServiceError as err:
        print(f"[iot] error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
