"""Real Kafka (KRaft), PostgreSQL and MinIO on 127.0.0.1 (or `BROOK_LOCAL_ADDRESS`), run by Brook (local mode).

``python -m jobs.local.services up|down|status|env [service ...] [--secured [--user NAME]]``

Everything lives under ``$BROOK_HOME`` (default ``.brook``): data in ``data/<service>``, logs in
``logs/<service>.log``, pid files and ``run/endpoints.env`` (the ``BROOK_*`` variables that point jobs at these
services). Credentials are generated once per data directory and kept with it, so a restart keeps them.
The binaries come from ``make setup`` (Kafka jars from Maven Central, Postgres from Debian, MinIO from its Go module).
``--secured`` (or ``BROOK_LOCAL_KAFKA_SECURED=true``) swaps Kafka for the secured broker of
``jobs.local.kafka_secured`` (own port and data folder; docs/security.md).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from base64 import urlsafe_b64encode
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jobs.common.settings import load, setting


@dataclass(frozen=True, kw_only=True)
class LocalSettings:
    home: str = setting("HOME", ".brook", help="Root of everything local mode installs and runs.")
    kafka_port: int = setting("LOCAL_KAFKA_PORT", 19092, help="Local Kafka broker port (controller: +1).")
    pg_port: int = setting("LOCAL_PG_PORT", 15432, help="Local Postgres port.")
    s3_port: int = setting("LOCAL_S3_PORT", 19000, help="Local MinIO API port (console: +1).")
    start_timeout: float = setting("LOCAL_START_TIMEOUT", 90.0, help="Seconds to wait for a service to be healthy.")
    address: str = setting(
        "LOCAL_ADDRESS",
        "127.0.0.1",
        help="The one address Kafka, Postgres and MinIO listen on and advertise. Another local address (e.g. the "
        "bridge of `make cluster`, whose pods cannot reach this machine's loopback) serves a cluster; never 0.0.0.0.",
    )
    pg_clients: str = setting(
        "LOCAL_PG_CLIENTS",
        "",
        help="An extra network (CIDR) Postgres accepts password logins from, e.g. a cluster's pod network; empty = "
        "only this machine (initdb's loopback rules).",
    )
    kafka_secured: bool = setting(
        "LOCAL_KAFKA_SECURED",
        False,
        help="Run the secured broker (SASL_SSL/SCRAM, local CA, the chart's users and ACLs) instead of the plaintext "
        "one: docs/security.md. Same as `up --secured`.",
    )
    kafka_secured_port: int = setting(
        "LOCAL_KAFKA_SECURED_PORT", 19192, help="Secured local Kafka broker port (controller: +1)."
    )
    kafka_user: str = setting(
        "LOCAL_KAFKA_USER",
        "",
        help="Secured mode: the chart KafkaUser whose credentials `env` prints (empty: connection settings only).",
    )


class ServiceError(RuntimeError):
    """A local service failed to install, start or answer; the message carries its log tail."""


PG_USER = "brook"
PG_DATABASE = "brook"
PG_OS_USER = "brookpg"  # postgres refuses to run as root; CI runs as root


class Paths:
    """The folder layout under BROOK_HOME."""

    def __init__(self, home: str) -> None:
        self.home = Path(home).resolve()
        self.data = self.home / "data"
        self.logs = self.home / "logs"
        self.run = self.home / "run"
        self.kafka_jars = self.home / "jars" / "kafka"
        self.flink_jars = self.home / "jars" / "flink"
        self.flink_functions = self.home / "jars" / "brook-flink"  # Brook's own Flink functions (make flink-jars)
        self.minio_bin = self.home / "bin" / "minio"
        self.credentials = self.data / "credentials.json"
        self.endpoints = self.run / "endpoints.env"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def pidfile(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def ensure(self) -> None:
        for d in (self.data, self.logs, self.run):
            d.mkdir(parents=True, exist_ok=True)


def _credentials(paths: Paths) -> dict[str, str]:
    """Generated once per data folder and reused on restart (Postgres keeps its password in its cluster)."""
    if paths.credentials.exists():
        return json.loads(paths.credentials.read_text())
    creds = {
        "pg_password": secrets.token_urlsafe(18),
        "s3_access_key": "brook-" + secrets.token_hex(6),
        "s3_secret_key": secrets.token_urlsafe(30),
    }
    paths.credentials.write_text(json.dumps(creds, indent=2))
    paths.credentials.chmod(0o600)
    return creds


def _log_tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"(no log at {path})"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return f"--- last {len(text)} lines of {path} ---\n" + "\n".join(text)


def _port_open(port: int, address: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((address, port)) == 0


def _pid_alive(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().split()[0])
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


def _wait(
    check: Callable[[], bool], timeout: float, what: str, log: Path, proc: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServiceError(f"{what} exited with code {proc.returncode} while starting.\n{_log_tail(log)}")
        try:
            if check():
                return
        except Exception:  # not healthy yet; the deadline reports it
            pass
        time.sleep(0.5)
    raise ServiceError(f"{what} was not healthy after {timeout:.0f}s.\n{_log_tail(log)}")


def _spawn(cmd: list[str], log: Path, pidfile: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start a detached server (own session, so Ctrl-C in a terminal does not kill it half-way)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True
        )
    pidfile.write_text(str(proc.pid))
    return proc


def _reap(pid: int) -> None:
    """Collect a server this very process started (a test session): an exited child stays a zombie, which
    ``kill(pid, 0)`` still finds, until its parent waits for it."""
    with contextlib.suppress(ChildProcessError):  # not our child: init reaps it
        os.waitpid(pid, os.WNOHANG)


def _stop_pid(pidfile: Path, timeout: float = 30.0) -> bool:
    pid = _pid_alive(pidfile)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not _pid_alive(pidfile):
            break
        time.sleep(0.2)
    if _pid_alive(pidfile):
        os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)
    return True


class Kafka:
    """A single KRaft broker+controller from the Maven Central jars (no ZooKeeper)."""

    name = "kafka"

    def __init__(self, paths: Paths, cfg: LocalSettings) -> None:
        self.paths, self.port, self.address = paths, cfg.kafka_port, cfg.address
        self.dir = paths.data / "kafka"
        self.config = self.dir / "server.properties"

    def env(self, creds: dict[str, str]) -> dict[str, str]:
        return {"BROOK_KAFKA_BOOTSTRAP": f"{self.address}:{self.port}", "BROOK_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}

    def healthy(self) -> bool:
        if not _port_open(self.port, self.address):
            return False
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=f"{self.address}:{self.port}", request_timeout_ms=3000)
        try:
            admin.list_topics()
            return True
        finally:
            admin.close()

    def _classpath(self) -> str:
        if not glob.glob(str(self.paths.kafka_jars / "kafka_2.13-*.jar")):
            raise ServiceError(
                f"Kafka jars missing in {self.paths.kafka_jars}: run `make setup` (or `make kafka-jars`)."
            )
        return str(self.paths.kafka_jars / "*")

    def _write_config(self) -> None:
        ctrl = self.port + 1
        self.config.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.bootstrap.servers={self.address}:{ctrl}",
                    f"listeners=PLAINTEXT://{self.address}:{self.port},CONTROLLER://{self.address}:{ctrl}",
                    f"advertised.listeners=PLAINTEXT://{self.address}:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    f"log.dirs={self.dir / 'logs'}",
                    "num.partitions=3",
                    "auto.create.topics.enable=true",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=3",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "",
                ]
            )
        )
        (self.dir / "log4j2.properties").write_text(
            "rootLogger.level=INFO\nrootLogger.appenderRef.out.ref=out\nappender.out.type=Console\n"
            "appender.out.name=out\nappender.out.layout.type=PatternLayout\n"
            "appender.out.layout.pattern=[%d] %p %m (%c)%n\n"
        )

    def _java(self) -> list[str]:
        return [
            "java",
            "-Xms256m",
            "-Xmx768m",
            f"-Dlog4j2.configurationFile={self.dir / 'log4j2.properties'}",
            "-cp",
            self._classpath(),
        ]

    def start(self, creds: dict[str, str], timeout: float) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        log = self.paths.log(self.name)
        if not (self.dir / "logs" / "meta.properties").exists():
            cluster_id = urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            fmt = [
                *self._java(),
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(self.config),
                "--standalone",
            ]
            with log.open("ab") as out:
                if subprocess.run(fmt, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                    raise ServiceError(f"Kafka storage format failed.\n{_log_tail(log)}")
        proc = _spawn([*self._java(), "kafka.Kafka", str(self.config)], log, self.paths.pidfile(self.name))
        _wait(self.healthy, timeout, f"Kafka on {self.address}:{self.port}", log, proc)

    def stop(self) -> bool:
        return _stop_pid(self.paths.pidfile(self.name), timeout=60)


class Postgres:
    """A private PostgreSQL cluster (initdb under BROOK_HOME), not the system one."""

    name = "postgres"

    def __init__(self, paths: Paths, cfg: LocalSettings) -> None:
        self.paths, self.port, self.address, self.clients = paths, cfg.pg_port, cfg.address, cfg.pg_clients
        self.dir = paths.data / "postgres"
        self.socket_dir = paths.run / "pgsocket"

    def env(self, creds: dict[str, str]) -> dict[str, str]:
        return {
            "BROOK_PG_HOST": self.address,
            "BROOK_PG_PORT": str(self.port),
            "BROOK_PG_DATABASE": PG_DATABASE,
            "BROOK_PG_USER": PG_USER,
            "BROOK_PG_PASSWORD": creds["pg_password"],
            "BROOK_PG_SSLMODE": "disable",
        }

    @staticmethod
    def bindir() -> Path:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
        if not candidates:
            raise ServiceError("PostgreSQL server binaries not found: run `make setup` (apt-get install postgresql).")
        return Path(candidates[-1]).parent

    def _as_owner(self, cmd: list[str]) -> list[str]:
        """Postgres refuses root: run it as a dedicated system user when we are root."""
        if os.geteuid() != 0:
            return cmd
        return ["setpriv", f"--reuid={PG_OS_USER}", f"--regid={PG_OS_USER}", "--init-groups", "--", *cmd]

    @staticmethod
    def _ensure_os_user() -> None:
        if os.geteuid() != 0:
            return
        try:
            pwd.getpwnam(PG_OS_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_OS_USER], check=True
            )

    def _chown(self, *paths: Path) -> None:
        if os.geteuid() == 0:
            for p in paths:
                shutil.chown(p, PG_OS_USER, PG_OS_USER)

    def healthy(self) -> bool:
        import psycopg2

        env = self.env(_credentials(self.paths))
        conn = psycopg2.connect(
            host=self.address,
            port=self.port,
            dbname=PG_DATABASE,
            user=PG_USER,
            password=env["BROOK_PG_PASSWORD"],
            connect_timeout=3,
        )
        conn.close()
        return True

    def start(self, creds: dict[str, str], timeout: float) -> None:
        bindir = self.bindir()
        self._ensure_os_user()
        log = self.paths.log(self.name)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        log.touch()
        if not (self.dir / "PG_VERSION").exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            pwfile = self.paths.run / "pg.pw"
            pwfile.write_text(creds["pg_password"])
            self._chown(self.dir, pwfile)
            init = [
                str(bindir / "initdb"),
                "-D",
                str(self.dir),
                "-U",
                PG_USER,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
            with log.open("ab") as out:
                done = subprocess.run(self._as_owner(init), stdout=out, stderr=subprocess.STDOUT)
            pwfile.unlink()
            if done.returncode != 0:
                shutil.rmtree(self.dir, ignore_errors=True)
                raise ServiceError(f"initdb failed.\n{_log_tail(log)}")
        self._chown(self.socket_dir, log)
        self._allow_clients()
        opts = (
            f"-p {self.port} -c listen_addresses={self.address} -k {self.socket_dir} "
            "-c max_connections=200 -c shared_buffers=256MB -c synchronous_commit=on -c fsync=on"
        )
        start = [
            str(bindir / "pg_ctl"),
            "-D",
            str(self.dir),
            "-l",
            str(log),
            "-o",
            opts,
            "-w",
            "-t",
            str(int(timeout)),
            "start",
        ]
        with log.open("ab") as out:
            if subprocess.run(self._as_owner(start), stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                raise ServiceError(f"Postgres failed to start on {self.address}:{self.port}.\n{_log_tail(log)}")
        self._ensure_database(creds)
        _wait(self.healthy, timeout, f"Postgres on {self.address}:{self.port}", log)

    def _allow_clients(self) -> None:
        """initdb's pg_hba.conf admits loopback only: add the listen address and ``pg_clients`` (password logins)."""
        hba = self.dir / "pg_hba.conf"
        wanted = [net for net in (f"{self.address}/32", self.clients) if net and not net.startswith("127.")]
        lines = hba.read_text().splitlines()
        missing = [f"host all all {net} scram-sha-256" for net in wanted]
        missing = [line for line in missing if line not in lines]
        if missing:
            hba.write_text("\n".join([*lines, *missing]) + "\n")

    def _ensure_database(self, creds: dict[str, str]) -> None:
        import psycopg2

        conn = psycopg2.connect(
            host=self.address,
            port=self.port,
            dbname="postgres",
            user=PG_USER,
            password=creds["pg_password"],
            connect_timeout=5,
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{PG_DATABASE}"')
        conn.close()

    def stop(self) -> bool:
        if not (self.dir / "postmaster.pid").exists():
            return False
        stop = [str(self.bindir() / "pg_ctl"), "-D", str(self.dir), "-m", "fast", "-w", "stop"]
        with self.paths.log(self.name).open("ab") as out:
            subprocess.run(self._as_owner(stop), stdout=out, stderr=subprocess.STDOUT)
        return True


class MinIO:
    """MinIO server built from its Go module, loopback only, generated root credentials."""

    name = "minio"

    def __init__(self, paths: Paths, cfg: LocalSettings) -> None:
        self.paths, self.port, self.address = paths, cfg.s3_port, cfg.address
        self.dir = paths.data / "minio"

    def env(self, creds: dict[str, str]) -> dict[str, str]:
        return {
            "BROOK_S3_ENDPOINT": f"http://{self.address}:{self.port}",
            "BROOK_S3_ACCESS_KEY": creds["s3_access_key"],
            "BROOK_S3_SECRET_KEY": creds["s3_secret_key"],
            "BROOK_S3_REGION": "us-east-1",
        }

    def healthy(self) -> bool:
        with urllib.request.urlopen(f"http://{self.address}:{self.port}/minio/health/ready", timeout=2) as resp:
            return resp.status == 200

    def start(self, creds: dict[str, str], timeout: float) -> None:
        if not self.paths.minio_bin.exists():
            raise ServiceError(f"MinIO binary missing at {self.paths.minio_bin}: run `make setup` (or `make tools`).")
        self.dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "MINIO_ROOT_USER": creds["s3_access_key"],
            "MINIO_ROOT_PASSWORD": creds["s3_secret_key"],
            "MINIO_UPDATE": "off",
            "MINIO_CI": "on",
        }
        cmd = [
            str(self.paths.minio_bin),
            "server",
            str(self.dir),
            "--address",
            f"{self.address}:{self.port}",
            "--console-address",
            f"{self.address}:{self.port + 1}",
            "--quiet",
        ]
        log = self.paths.log(self.name)
        proc = _spawn(cmd, log, self.paths.pidfile(self.name), env)
        _wait(self.healthy, timeout, f"MinIO on {self.address}:{self.port}", log, proc)

    def stop(self) -> bool:
        return _stop_pid(self.paths.pidfile(self.name))


SERVICE_TYPES = (Kafka, Postgres, MinIO)


class LocalServices:
    """Start, stop and describe the local services as one unit."""

    def __init__(self, cfg: LocalSettings | None = None) -> None:
        self.cfg = cfg or load(LocalSettings)
        self.paths = Paths(self.cfg.home)
        self.services = {t.name: t(self.paths, self.cfg) for t in SERVICE_TYPES}
        if self.cfg.kafka_secured:  # a separate instance: the plaintext broker (if running) is left alone
            from jobs.local.kafka_secured import SecuredKafka

            self.services[Kafka.name] = SecuredKafka(self.paths, self.cfg)
        # Secured mode writes its own endpoints file: the plaintext one other processes source stays as it is.
        self.endpoints = self.paths.run / "endpoints-secured.env" if self.cfg.kafka_secured else self.paths.endpoints

    def _select(self, names: list[str] | None) -> list:
        unknown = sorted(set(names or []) - set(self.services))
        if unknown:
            raise ServiceError(f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(self.services)}")
        return [self.services[n] for n in (names or list(self.services))]

    def status(self) -> dict[str, bool]:
        result = {}
        for name, svc in self.services.items():
            try:
                result[name] = bool(svc.healthy())
            except Exception:
                result[name] = False
        return result

    def env(self) -> dict[str, str]:
        creds = _credentials(self.paths)
        env: dict[str, str] = {"BROOK_HOME": str(self.paths.home)}
        for svc in self.services.values():
            env.update(svc.env(creds))
        jars = sorted(str(jar) for jar in self.paths.flink_jars.glob("*.jar"))
        jars += sorted(str(jar) for jar in self.paths.flink_functions.glob("*.jar"))
        if jars:  # `make flink-jars`: PyFlink jobs ship these (in the Flink image they are on /opt/flink/lib)
            env["BROOK_FLINK_JARS"] = ":".join(jars)
        return env

    def up(self, names: list[str] | None = None) -> dict[str, str]:
        self.paths.ensure()
        creds = _credentials(self.paths)
        for svc in self._select(names):
            try:
                healthy = svc.healthy()
            except Exception:
                healthy = False
            if healthy:
                print(f"[services] {svc.name}: already running", flush=True)
                reconcile = getattr(svc, "reconcile", None)  # e.g. the secured broker re-syncs the chart's users
                if reconcile is not None:
                    reconcile()
                continue
            started = time.monotonic()
            print(f"[services] {svc.name}: starting", flush=True)
            svc.start(creds, self.cfg.start_timeout)
            print(f"[services] {svc.name}: healthy in {time.monotonic() - started:.1f}s", flush=True)
        env = self.env()
        self.endpoints.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        self.endpoints.chmod(0o600)
        return env

    def down(self, names: list[str] | None = None) -> None:
        if not names:  # `make airflow`'s Airflow keeps its metadata in Postgres: it stops first
            from jobs.local.airflow import stop_default

            print(f"[services] airflow: {'stopped' if stop_default() else 'not running'}", flush=True)
            from jobs.local.superset import stop_default as stop_superset

            print(f"[services] superset: {'stopped' if stop_superset() else 'not running'}", flush=True)
        for svc in reversed(self._select(names)):
            stopped = svc.stop()
            print(f"[services] {svc.name}: {'stopped' if stopped else 'not running'}", flush=True)
        if not names:
            self.endpoints.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.local.services", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("up", "down", "status", "env"))
    parser.add_argument("services", nargs="*", help="kafka, postgres, minio (default: all)")
    parser.add_argument(
        "--secured", action="store_true", help="Kafka is the secured broker (BROOK_LOCAL_KAFKA_SECURED=true)"
    )
    parser.add_argument("--user", default="", help="secured mode: print this chart KafkaUser's credentials (env)")
    args = parser.parse_args(argv)
    cfg = load(LocalSettings)
    if args.secured or args.user:
        cfg = dataclasses.replace(cfg, kafka_secured=True, kafka_user=args.user or cfg.kafka_user)
    local = LocalServices(cfg)
    try:
        if args.command == "up":
            local.up(args.services)
            print(f"[services] endpoints: {local.endpoints} (source it, or `python -m jobs.local.services env`)")
        elif args.command == "down":
            local.down(args.services)
        elif args.command == "status":
            state = local.status()
            for name, ok in state.items():
                log = local.paths.log(local.services[name].name)
                print(f"{name:9} {'healthy' if ok else 'down'}   log: {log}")
            return 0 if all(state.values()) else 3
        else:
            for key, value in local.env().items():
                print(f"export {key}={value}")
    except ServiceError as err:
        print(f"[services] error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
