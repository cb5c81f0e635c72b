"""Run a local-mode demo on the local services: the child processes of its stages, and the services around it.

:class:`Children` starts each stage as ``python -m <module>`` with its log under ``$BROOK_HOME/logs``, waits for it,
reads its JSON summary line, and stops whatever still runs on exit. :func:`run_demo` starts the services a demo
needs, runs it, and stops on Ctrl-C/SIGTERM what it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

from jobs.common.cli import read_summary
from jobs.common.progress import Progress
from jobs.local.services import LocalServices, Paths, ServiceError


class Children:
    """The child processes of one demo run, and the wall time of each stage."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.children: list[subprocess.Popen] = []
        self.timings: list[tuple[str, int, float]] = []

    # --- processes -------------------------------------------------------------------------------------------
    def spawn(self, name: str, module: str, env: dict[str, str], *args: str) -> subprocess.Popen:
        log = self.paths.log(f"demo-{name}")
        print(f"[demo] starting {name}: python -m {module} {' '.join(args)}  (log: {log})", flush=True)
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env={**os.environ, **env},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the demo only; it stops children in order
        )
        self.children.append(proc)
        return proc

    def finish(self, name: str, proc: subprocess.Popen, timeout: float) -> str:
        """The stage's log once it exited 0; while it runs, its elapsed time (a live line in a terminal)."""
        log = self.paths.log(f"demo-{name}")
        deadline = time.monotonic() + timeout
        progress = Progress(f"demo {name}", None, sys.stdout, unit="")
        while proc.poll() is None:
            left = deadline - time.monotonic()
            if left <= 0:
                progress.close("timed out")
                raise RuntimeError(f"{name} did not finish within {timeout:.0f}s; see {log}")
            try:
                proc.wait(timeout=min(left, 1.0))
            except subprocess.TimeoutExpired:
                progress.update(0, f"running (log: {log})")
        progress.close(f"exited {proc.returncode}")
        output = log.read_text(errors="replace")
        if proc.returncode != 0:
            tail = "\n".join(output.splitlines()[-30:])
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")
        return output

    def stop_children(self) -> None:
        for proc in reversed(self.children):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.children:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    def summary(self, name: str, job: str) -> dict[str, Any]:
        """The JSON summary line that stage ``name`` (job ``job``) printed."""
        return read_summary(self.paths.log(f"demo-{name}").read_text(errors="replace"), job)

    def stage(self, label: str, count: int, name: str, module: str, env: dict[str, str], *args: str) -> str:
        """Run one stage to completion (30 min at most), recording its wall time for ``count`` items."""
        began = time.monotonic()
        output = self.finish(name, self.spawn(name, module, env, *args), 1800)
        self.timings.append((label, count, time.monotonic() - began))
        return output


class DemoRun(Protocol):
    def run(self, env: dict[str, str]) -> int: ...

    def stop_children(self) -> None: ...


def run_demo(build: Callable[[Paths], DemoRun], services_needed: list[str] | None, keep_services: bool) -> int:
    """Exit code of ``build(paths).run(env)``; the services it had to start are stopped again unless kept."""
    services = LocalServices()
    already = services.status()
    try:
        env = services.up(services_needed)
    except ServiceError as err:
        print(f"[demo] local services failed to start:\n{err}", file=sys.stderr)
        return 1
    demo = build(services.paths)

    def on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        return demo.run(env)
    except KeyboardInterrupt:
        print("\n[demo] interrupted: stopping everything it started", file=sys.stderr)
        return 130
    except RuntimeError as err:
        print(f"[demo] failed: {err}", file=sys.stderr)
        return 1
    finally:
        demo.stop_children()
        started_here = [name for name in (services_needed or list(already)) if not already.get(name)]
        if started_here and not keep_services:
            services.down(started_here)
