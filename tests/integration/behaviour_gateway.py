"""A real ``python -m jobs.behaviour.gateway`` process for the behaviour tests: started on a free port with unique
topics, waited for explicitly (its start line, then /readyz), stopped with SIGTERM and its summary line read."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from jobs.behaviour.topics import BehaviourTopics
from jobs.common.audit import read_topic
from jobs.common.cli import read_summary
from jobs.common.settings import KafkaSettings

START_TIMEOUT = 90.0  # a guard against a hang, not an expectation: start is ~2 s


@dataclass
class Gateway:
    process: subprocess.Popen[str]
    token: str
    topics: BehaviourTopics
    lines: list[str] = field(default_factory=list)
    listening: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    pump: threading.Thread | None = None

    @property
    def http(self) -> str:
        return self.url.replace("ws://", "http://").removesuffix("/events")

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if "listening on ws://" in line:
                self.url = line.split("listening on ", 1)[1].strip()
                self.listening.set()
        self.listening.set()  # the process ended: wake the waiter either way

    def status(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        request = urllib.request.Request(self.http + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while self.status("/readyz")[0] != 200:
            assert self.process.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, f"not ready: {self.status('/readyz')}"
            time.sleep(0.1)

    def stop(self) -> tuple[int, dict[str, Any]]:
        """SIGTERM (a no-op if it already ended), wait for the drain to finish; (exit code, summary)."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=120)
        if self.pump is not None:
            self.pump.join(timeout=30)  # every line read (the pipe ends when the process does)
        output = "".join(self.lines)
        return code, read_summary(output, "behaviour-gateway")


def start(env: dict[str, str], topics: BehaviourTopics, **settings: str) -> Gateway:
    """Start a gateway (``settings``: extra BROOK_BEHAVIOUR_GATEWAY_* values, e.g. MAX_IN_FLIGHT="8")."""
    token = secrets.token_hex(20)
    full = {
        **os.environ,
        **env,
        "BROOK_TOPIC_BEHAVIOUR": topics.events,
        "BROOK_TOPIC_BEHAVIOUR_DLQ": topics.dlq,
        "BROOK_BEHAVIOUR_GATEWAY_TOKEN": token,
        "BROOK_BEHAVIOUR_GATEWAY_PORT": "0",
        "BROOK_BEHAVIOUR_GATEWAY_LIVE": "false",
        **{f"BROOK_BEHAVIOUR_GATEWAY_{key.upper()}": value for key, value in settings.items()},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs.behaviour.gateway"],
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    gateway = Gateway(process, token, topics)
    gateway.pump = threading.Thread(target=gateway._pump, daemon=True)
    gateway.pump.start()
    if not gateway.listening.wait(START_TIMEOUT) or not gateway.url:
        process.kill()
        raise AssertionError("gateway did not start:\n" + "".join(gateway.lines))
    gateway.wait_ready()
    return gateway


def event_ids(kafka: KafkaSettings, topic: str) -> Counter[str]:
    """How often each event_id is in ``topic`` (the gateway forwards the client's bytes: read them back)."""
    return Counter(json.loads(value)["event_id"].lower() for _, _, value, _ in read_topic(kafka, topic) if value)


def dead_letters(kafka: KafkaSettings, topic: str) -> list[tuple[bytes | None, dict[str, bytes]]]:
    return [(value, headers) for _, _, value, headers in read_topic(kafka, topic)]
