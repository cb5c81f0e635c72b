"""A local Kafka Connect worker in distributed mode, from the Maven jars of the pinned Kafka, with Debezium's
Postgres connector on its plugin path.

``python -m jobs.local.iot_connect up|down|status``

Distributed mode, even with one worker: connector configs, source offsets (Debezium's LSN) and statuses live in
three compacted Kafka topics named after the worker group, so a stopped and restarted worker resumes where its
connector left off. The worker talks to the shared local Kafka (``BROOK_KAFKA_*``, started if down), listens on
127.0.0.1 only (``BROOK_LOCAL_IOT_CONNECT_PORT``) and keeps config, pid and log under ``$BROOK_HOME/iot``.
Jars: ``make connect-jars`` (``$BROOK_HOME/jars/connect``, ``$BROOK_HOME/connect-plugins``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from jobs.common.settings import KafkaSettings, load
from jobs.local.iot_postgres import IotLocalSettings
from jobs.local.services import LocalServices, LocalSettings, ServiceError, _log_tail, _spawn, _stop_pid, _wait

PLUGIN = "debezium-connector-postgres"


class ConnectWorker:
    """One Connect worker: ``port`` for its REST API, ``group`` names its group and its three internal topics."""

    def __init__(self, home: Path, port: int, bootstrap: str) -> None:
        self.home, self.port, self.bootstrap = home.resolve(), port, bootstrap
        self.dir = self.home / "iot" / f"connect-{port}"
        self.group = f"brook-iot-connect-{port}"
        self.jars = self.home / "jars" / "connect"
        self.plugins = self.home / "connect-plugins"
        self.log = self.dir / "connect.log"
        self.pidfile = self.dir / "connect.pid"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def topics(self) -> dict[str, str]:
        """The worker's internal topics (config, offsets, status)."""
        return {kind: f"_{self.group}-{kind}" for kind in ("configs", "offsets", "status")}

    def healthy(self) -> bool:
        """The REST API answers and the worker has joined its group (``GET /connectors`` needs the herder)."""
        with urllib.request.urlopen(f"{self.url}/connectors", timeout=3) as resp:
            return resp.status == 200 and isinstance(json.loads(resp.read()), list)

    def running(self) -> bool:
        try:
            return self.healthy()
        except Exception:  # not listening (yet): both mean "not running"
            return False

    def _check_jars(self) -> None:
        if not list(self.jars.glob("connect-runtime-*.jar")):
            raise ServiceError(f"Kafka Connect jars missing in {self.jars}: run `make connect-jars`.")
        if not list((self.plugins / PLUGIN).glob(f"{PLUGIN}-*.jar")):
            raise ServiceError(f"Debezium plugin missing in {self.plugins / PLUGIN}: run `make connect-jars`.")

    def _write_config(self) -> Path:
        topics = self.topics()
        lines = [
            f"bootstrap.servers={self.bootstrap}",
            f"group.id={self.group}",
            f"config.storage.topic={topics['configs']}",
            f"offset.storage.topic={topics['offsets']}",
            f"status.storage.topic={topics['status']}",
            "config.storage.replication.factor=1",
            "offset.storage.replication.factor=1",
            "status.storage.replication.factor=1",
            "offset.storage.partitions=1",
            "status.storage.partitions=1",
            # Offsets are flushed every second: a stop loses at most a second of progress, which Debezium re-reads
            # from its slot (the change events are re-sent: at-least-once, keyed by reading_id and LSN).
            "offset.flush.interval.ms=1000",
            "key.converter=org.apache.kafka.connect.json.JsonConverter",
            "value.converter=org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable=false",
            "value.converter.schemas.enable=false",
            f"listeners=http://127.0.0.1:{self.port}",
            "rest.advertised.host.name=127.0.0.1",
            f"rest.advertised.port={self.port}",
            f"plugin.path={self.plugins}",
            # Every plugin here ships ServiceLoader manifests: skipping the reflective scan saves ~30 s per start.
            "plugin.discovery=service_load",
            "",
        ]
        config = self.dir / "worker.properties"
        config.write_text("\n".join(lines))
        (self.dir / "log4j2.properties").write_text(
            "rootLogger.level=INFO\nrootLogger.appenderRef.out.ref=out\nappender.out.type=Console\n"
            "appender.out.name=out\nappender.out.layout.type=PatternLayout\n"
            "appender.out.layout.pattern=[%d] %p %m (%c)%n\nlogger.reflections.name=org.reflections\n"
            "logger.reflections.level=ERROR\n"
        )
        return config

    def start(self, timeout: float = 180.0) -> None:
        """Start and wait until the REST API answers (idempotent: a running worker is left alone)."""
        if self.running():
            return
        self._check_jars()
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        cmd = [
            "java",
            "-Xms128m",
            "-Xmx512m",
            f"-Dlog4j2.configurationFile={self.dir / 'log4j2.properties'}",
            "-cp",
            str(self.jars / "*"),
            "org.apache.kafka.connect.cli.ConnectDistributed",
            str(config),
        ]
        proc = _spawn(cmd, self.log, self.pidfile)
        _wait(self.healthy, timeout, f"Kafka Connect on {self.url}", self.log, proc)

    def stop(self) -> bool:
        """SIGTERM (the worker commits its offsets and leaves its group), SIGKILL after 60 s."""
        return _stop_pid(self.pidfile, timeout=60)

    def tail(self) -> str:
        return _log_tail(self.log)


def worker(port: int | None = None) -> ConnectWorker:
    """The worker for ``port`` (default ``BROOK_LOCAL_IOT_CONNECT_PORT``), on the shared local Kafka (started if
    down)."""
    local = LocalServices()
    local.up(["kafka"])
    kafka = load(KafkaSettings, local.env())
    return ConnectWorker(local.paths.home, port or load(IotLocalSettings).connect_port, kafka.bootstrap)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.local.iot_connect", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down", "status"))
    args = parser.parse_args(argv)
    try:
        if args.command == "down":
            home = Path(load(LocalSettings).home)
            w = ConnectWorker(home, load(IotLocalSettings).connect_port, "")
            print(f"[connect] {'stopped' if w.stop() else 'not running'}")
            return 0
        w = worker()
        if args.command == "up":
            w.start()
            print(f"[connect] worker {w.group} on {w.url} (log: {w.log})")
        else:
            ok = w.running()
            print(f"connect   {'healthy' if ok else 'down'}   {w.url}   log: {w.log}")
            return 0 if ok else 3
    except (ServiceError, subprocess.SubprocessError) as err:
        print(f"[connect] error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
