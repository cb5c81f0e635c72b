"""The user-behaviour pipeline end to end on the local services, ending with its conservation audit.

``python -m jobs.local.behaviour_demo [--users N] [--events M] [--invalid-rate R] [--seed S] [--port P]``

Starts Kafka and Postgres (if not running), gives the run its own topics, a fresh ``demo_behaviour`` schema and a
freshly generated gateway token, then: the WebSocket gateway (``jobs.behaviour.gateway``) → the emulator
(``jobs.behaviour.emulator``: N concurrent users, M frames, a share R of them hostile) → the gateway stopped with
SIGTERM (it drains, then prints what it acknowledged and dead-lettered) → the session job as one bounded Flink job →
audit (``jobs.behaviour.audit``: acknowledged = in Kafka = Σ session events = Σ minute counts). Exit 0 only when
every check passes. Process handling (logs, Ctrl-C, stopping children) is the local runner's.

The emulator compresses hours of simulated event time per user into seconds of wall time, so in each partition the
users' event times interleave out of order by up to that span. The demo's Flink run therefore sets the watermark
delay (``BROOK_WATERMARK_DELAY_SECONDS``) to :data:`DEMO_WATERMARK_SECONDS`: in a bounded run it costs nothing (the
end of input closes every window) and no event is late. Real clients send event time ≈ now, where the default of a
few seconds holds.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import secrets
import signal
import subprocess
import time

import psycopg2

from jobs.behaviour.audit import audit
from jobs.behaviour.topics import BehaviourTopics
from jobs.common.audit import as_summary, passed, render
from jobs.common.cli import run, summary
from jobs.common.migrate import migrate
from jobs.common.settings import KafkaSettings, PostgresSettings, load, to_env
from jobs.local.runner import Children, run_demo
from jobs.local.services import Paths

DEMO_SCHEMA = "demo_behaviour"
DEMO_WATERMARK_SECONDS = 7 * 86_400  # above the simulated span of any demo run (see the module docstring)
GATEWAY = "behaviour-gateway"
LISTENING = re.compile(r"\[behaviour-gateway\] listening on (ws://\S+)")


class BehaviourDemo(Children):
    def __init__(self, paths: Paths, users: int, events: int, invalid_rate: float, seed: int, port: int) -> None:
        super().__init__(paths)
        self.users, self.events, self.invalid_rate, self.seed, self.port = users, events, invalid_rate, seed, port

    def fresh_schema(self, pg: PostgresSettings) -> None:
        with psycopg2.connect(dataclasses.replace(pg, schema="public").dsn()) as conn, conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {DEMO_SCHEMA} CASCADE; CREATE SCHEMA {DEMO_SCHEMA}")
        migrate(pg.dsn())

    def start_gateway(self, env: dict[str, str], timeout: float = 120) -> tuple[subprocess.Popen, str]:
        """Start the gateway and wait for its ``listening on`` line; return the process and its /events URL."""
        proc = self.spawn(GATEWAY, "jobs.behaviour.gateway", env)
        log = self.paths.log(f"demo-{GATEWAY}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = LISTENING.search(log.read_text(errors="replace")) if log.exists() else None
            if found:
                return proc, found.group(1)
            if proc.poll() is not None:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"the gateway exited with {proc.returncode}:\n{tail}")
            time.sleep(0.2)
        raise RuntimeError(f"the gateway did not listen within {timeout:.0f}s; see {log}")

    def run(self, base_env: dict[str, str]) -> int:
        run_id = time.strftime("%Y%m%d%H%M%S")
        kafka = load(KafkaSettings, base_env)
        name = f"demo-{run_id}.behaviour_events"
        topics = BehaviourTopics(events=name, dlq=f"{name}.dlq")
        pg = dataclasses.replace(load(PostgresSettings, base_env), schema=DEMO_SCHEMA)
        env = {
            **base_env,
            **to_env(kafka, topics, pg),
            "BROOK_BEHAVIOUR_GATEWAY_TOKEN": secrets.token_hex(24),  # this run's only; never written anywhere
            "BROOK_BEHAVIOUR_GATEWAY_PORT": str(self.port),
            "BROOK_WATERMARK_DELAY_SECONDS": str(DEMO_WATERMARK_SECONDS),
            "BROOK_FLINK_STARTUP_MODE": "earliest-offset",
            "BROOK_FLINK_CHECKPOINT_DIR": (self.paths.home / "flink" / "checkpoints" / f"behaviour-{run_id}").as_uri(),
        }
        print(f"[demo] behaviour run {run_id}: topic {topics.events}, schema {pg.schema}", flush=True)
        self.fresh_schema(pg)

        began = time.monotonic()
        gateway, url = self.start_gateway(env)
        self.timings.append(("gateway start", 1, time.monotonic() - began))
        self.stage(
            "emulator → gateway → Kafka", self.events, "behaviour-emulator", "jobs.behaviour.emulator", env,
            "--users", str(self.users), "--events", str(self.events), "--url", url, "--seed", str(self.seed),
            "--start", "2026-03-10T08:00:00Z", "--invalid-rate", str(self.invalid_rate),
        )  # fmt: skip
        emulated = self.summary("behaviour-emulator", "behaviour-emulator")
        began = time.monotonic()
        gateway.send_signal(signal.SIGTERM)  # drain: everything acknowledged is in Kafka before it exits
        self.finish(GATEWAY, gateway, 120)
        self.timings.append(("gateway drain (SIGTERM)", 1, time.monotonic() - began))
        counts = self.summary(GATEWAY, GATEWAY)
        self.stage(
            "Flink sessions (bounded job incl. startup)", counts["acknowledged"], "behaviour-flink",
            "jobs.behaviour.flink.sessions", env, "--bounded",
        )  # fmt: skip

        print("\n[demo] stages (this machine, rough)")
        for label, count, seconds in self.timings:
            print(f"  {label:<44} {count:>8} in {seconds:6.1f}s")
        print(f"\n[demo] emulator: {emulated}")
        print("\n[demo] behaviour conservation audit")
        checks = audit(kafka, topics, pg, counts["acknowledged"], counts["dead_lettered"])
        render(checks)
        summary("behaviour-demo", run=run_id, **as_summary(checks))
        return 0 if passed(checks) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.local.behaviour_demo", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20, help="concurrent emulated users (default 20)")
    parser.add_argument("--events", type=int, default=2000, help="frames the emulator sends in all (default 2000)")
    parser.add_argument("--invalid-rate", type=float, default=0.05, help="share of hostile frames (default 0.05)")
    parser.add_argument("--seed", type=int, default=2026, help="emulator seed")
    parser.add_argument("--port", type=int, default=0, help="gateway port (default 0: any free port)")
    parser.add_argument("--keep-services", action="store_true", help="leave Kafka/Postgres running")
    args = parser.parse_args(argv)

    return run_demo(
        lambda paths: BehaviourDemo(paths, args.users, args.events, args.invalid_rate, args.seed, args.port),
        ["kafka", "postgres"],
        args.keep_services,
    )


if __name__ == "__main__":
    run(main, "behaviour-demo")
