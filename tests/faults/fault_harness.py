"""The fault suite's harness: a private set of real services, child processes we can kill, waits, and the audit.

Faults are injected into a *private* Kafka, Postgres and MinIO (their own ``BROOK_HOME`` and ports, started once per
session by ``tests/faults/conftest.py``): stopping a broker must not break other engineers' tests on the shared
services, and nothing else running there can disturb the counts. Jobs run as real ``python -m`` processes, in
their own process group, so that ``kill -9`` takes a whole job (a PyFlink job's gateway JVM included), as when a
pod dies. No assertion depends on timing: every wait has a generous deadline and says what it waited for.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import psycopg2

from jobs.common.audit import Check, passed, render
from jobs.common.cli import read_summary
from jobs.common.kafka import committed_offsets, offset_range
from jobs.common.migrate import migrate
from jobs.common.settings import KafkaSettings, PostgresSettings, S3Settings, load
from jobs.local.ports import free_ports
from jobs.local.services import LocalServices, LocalSettings, Paths

REPO = Path(__file__).resolve().parents[2]
AUDIT_LOG_NAME = "audits.log"


# --- private services ---------------------------------------------------------------------------------------------
class Stack:
    """Kafka, Postgres and MinIO of the fault suite, under ``home``; the binaries and jars are the shared ones.

    ``home`` lives under the shared ``BROOK_HOME`` (not /tmp) because Postgres runs as an unprivileged user that
    must be able to reach its data directory.
    """

    def __init__(self, home: Path, shared: Paths) -> None:
        self.home = home
        (home / "jars").mkdir(parents=True, exist_ok=True)
        for link, target in (
            (home / "jars" / "kafka", shared.kafka_jars),
            (home / "jars" / "flink", shared.flink_jars),
            (home / "jars" / "brook-flink", shared.flink_functions),
        ):
            link.symlink_to(target, target_is_directory=True)
        (home / "bin").symlink_to(shared.minio_bin.parent, target_is_directory=True)
        kafka_port = free_ports(26092, 2)
        self.cfg = LocalSettings(
            home=str(home),
            kafka_port=kafka_port,
            pg_port=free_ports(kafka_port + 2000, 2),
            s3_port=free_ports(kafka_port + 4000, 2),
            start_timeout=180.0,
        )
        self.services = LocalServices(self.cfg)
        self.env: dict[str, str] = {}

    @property
    def logs(self) -> Path:
        return self.services.paths.logs

    def up(self, names: list[str] | None = None) -> None:
        self.env = self.services.up(names)

    def down(self, names: list[str] | None = None) -> None:
        """Stop these services (default: all of this stack's). Always by name: ``down()`` without names also stops
        the shared ``make airflow`` instance, which is not ours."""
        self.services.down(names or list(self.services.services))

    def heal(self) -> None:
        """Start whatever is not healthy (a test that stopped a service and failed before restarting it)."""
        down = [name for name, ok in self.services.status().items() if not ok]
        if down:
            print(f"[faults] restarting {', '.join(down)} after the test", flush=True)
            self.up(down)

    def crash(self, name: str) -> None:
        """kill -9 a service's server process (Kafka, MinIO: the ones started from a pid file)."""
        pidfile = self.services.paths.pidfile(name)
        pid = int(pidfile.read_text().split()[0])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        while Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid):
            time.sleep(0.1)
        pidfile.unlink(missing_ok=True)

    def teardown(self) -> None:
        """Stop everything; the broker is killed (its data is thrown away, and a graceful stop can take a minute)."""
        with contextlib.suppress(FileNotFoundError, ValueError):
            self.crash("kafka")
        self.down()

    @contextlib.contextmanager
    def outage(self, name: str, crash: bool = False) -> Iterator[None]:
        """``name`` is stopped (or, with ``crash``, killed -9) inside the block and started again after it, whatever
        happens inside."""
        began = time.monotonic()
        if crash:
            self.crash(name)
        else:
            self.down([name])
        print(f"[faults] {name} {'killed -9' if crash else 'stopped'}", flush=True)
        try:
            yield
        finally:
            self.up([name])
            print(f"[faults] {name} back after {time.monotonic() - began:.1f}s", flush=True)

    def settings(self) -> tuple[KafkaSettings, PostgresSettings, S3Settings]:
        return load(KafkaSettings, self.env), load(PostgresSettings, self.env), load(S3Settings, self.env)

    def base_env(self) -> dict[str, str]:
        """The environment of a job: this process's, without any BROOK_* it inherited, plus the private services."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("BROOK_")}
        return {**env, **self.env}


def _state(pid: int) -> str:
    """The process state line of /proc/<pid>/status ("" once it is gone)."""
    try:
        return next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("State"))
    except (FileNotFoundError, StopIteration):
        return ""


def private_home(shared: Paths) -> Path:
    home = shared.home / "faults" / secrets.token_hex(3)
    home.mkdir(parents=True)
    return home


def remove_home(home: Path) -> None:
    shutil.rmtree(home, ignore_errors=True)


# --- processes ----------------------------------------------------------------------------------------------------
class Job:
    """One ``python -m module`` process in its own process group, its output in ``log_dir/<name>.log``."""

    def __init__(self, name: str, module: str, env: dict[str, str], log_dir: Path, *args: str) -> None:
        self.name, self.module, self.args = name, module, args
        self.log = log_dir / f"{name}.log"
        if module.startswith("jobs.") and ".flink." in module:  # PyFlink's JVM log: one folder per job, not shared
            env = {**env, "FLINK_LOG_DIR": str(log_dir / f"{name}-jvm")}
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                env=env,
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        print(f"[faults] started {name} (pid {self.proc.pid}): python -m {module} {' '.join(args)}", flush=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return f"--- last lines of {self.log} ---\n" + "\n".join(self.output().splitlines()[-lines:])

    def summary(self, job: str) -> dict[str, Any]:
        return read_summary(self.output(), job)

    def children(self) -> list[int]:
        """The pids of this process's direct children (the consumer's worker processes)."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill(self) -> None:
        """kill -9 the whole process group (a PyFlink job's JVM too): nothing is flushed, closed or committed."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)
        print(f"[faults] killed {self.name} (kill -9)", flush=True)

    def terminate(self, timeout: float = 90.0) -> int:
        """SIGTERM the group and wait: the job drains and exits (SIGKILL if it does not within ``timeout``)."""
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} did not stop within {timeout:.0f}s of SIGTERM\n{self.tail()}") from None

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} did not finish within {timeout:.0f}s\n{self.tail()}") from None

    def succeed(self, timeout: float) -> str:
        """Wait for exit 0 and return the output."""
        code = self.wait(timeout)
        assert code == 0, f"{self.name} exited with {code}\n{self.tail()}"
        return self.output()

    def ensure_stopped(self) -> None:
        if self.running():
            self.kill()


def kill_pid(pid: int) -> None:
    """kill -9 one process (a consumer worker, not its parent)."""
    os.kill(pid, signal.SIGKILL)
    print(f"[faults] kill -9 {pid}", flush=True)


class Deployment:
    """A job that is started again whenever it exits non-zero, as a Kubernetes Deployment (or Job) would.

    The restarted process gets the same command line; :meth:`tend` is called from the test's wait loops.
    """

    def __init__(self, name: str, module: str, env: dict[str, str], log_dir: Path, *args: str) -> None:
        self.name, self.module, self.env, self.log_dir, self.args = name, module, env, log_dir, args
        self.runs: list[Job] = []
        self.start()

    def start(self) -> Job:
        self.runs.append(Job(f"{self.name}-{len(self.runs) + 1}", self.module, self.env, self.log_dir, *self.args))
        return self.runs[-1]

    @property
    def current(self) -> Job:
        return self.runs[-1]

    @property
    def restarts(self) -> int:
        return len(self.runs) - 1

    def tend(self, max_restarts: int = 30) -> None:
        code = self.current.proc.poll()
        if code is None or code == 0:
            return
        print(f"[faults] {self.current.name} exited with {code}: restarting (as Kubernetes would)", flush=True)
        assert self.restarts < max_restarts, f"{self.name} crash-loops\n{self.current.tail()}"
        time.sleep(1.0)  # back-off
        self.start()

    def finished(self) -> bool:
        """The latest run exited 0."""
        self.tend()
        return self.current.proc.poll() == 0

    def stop(self, timeout: float = 90.0) -> int:
        return self.current.terminate(timeout)

    def ensure_stopped(self) -> None:
        for run in self.runs:
            run.ensure_stopped()


def wait_until(
    condition: Callable[[], bool],
    what: str,
    timeout: float,
    tend: Iterable[Deployment] = (),
    diagnose: Callable[[], str] = lambda: "",
) -> None:
    """Poll ``condition`` until it holds; restart crashed deployments meanwhile; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for deployment in tend:
            deployment.tend()
        try:
            if condition():
                return
        except Exception as err:  # a service is still coming back: the deadline reports it
            last = f"{type(err).__name__}: {err}"
        else:
            last = ""
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} {last}\n{diagnose()}".rstrip())


# --- Kafka offsets ------------------------------------------------------------------------------------------------
def committed_total(kafka: KafkaSettings, group: str) -> int:
    return sum(committed_offsets(kafka, group).values())


def end_total(kafka: KafkaSettings, topic: str) -> int:
    return sum(end for _, end in offset_range(kafka, topic).values())


def settled_end_total(kafka: KafkaSettings, topic: str) -> int:
    """The topic's message count once it stops changing (a killed producer's last request may still be landing)."""
    last = -1
    while (now := end_total(kafka, topic)) != last:
        last = now
        time.sleep(1.0)
    return last


def caught_up(kafka: KafkaSettings, topic: str, group: str) -> bool:
    """The group has committed the end offset of every partition of ``topic``."""
    done = committed_offsets(kafka, group)
    return all(done.get(tp, 0) >= end for tp, (_, end) in offset_range(kafka, topic).items())


# --- the audit ----------------------------------------------------------------------------------------------------
def not_run(checks: list[Check], prefixes: tuple[str, ...], why: str) -> list[Check]:
    """The audit rows of stages this test does not run, kept as information only (no expected value)."""
    return [
        Check(f"{c.stage} [not run: {why}]", c.count) if c.stage.strip().startswith(prefixes) else c for c in checks
    ]


def assert_audit(checks: list[Check], fault: str, log_dir: Path) -> None:
    """Print the audit table (pytest -s shows it; it is also appended to the suite's audit log) and require it green."""
    lines: list[str] = []
    render(checks, lines.append)
    table = f"[faults] conservation audit after: {fault}\n" + "\n".join(lines)
    print(table, flush=True)
    with (log_dir.parent / AUDIT_LOG_NAME).open("a") as out:
        out.write(table + "\n\n")
    assert passed(checks), table


def new_schema(stack: Stack, name: str) -> PostgresSettings:
    """A fresh, migrated schema on the private Postgres."""
    pg = stack.settings()[1]
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}")
    settings = dataclasses.replace(pg, schema=name)
    migrate(settings.dsn())
    return settings
