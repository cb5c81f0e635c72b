"""The telecom pipeline end to end on the local services, ending with its conservation audit.

``python -m jobs.local.telecom_demo [--events N] [--seed S] [--rate R] [--start TIME] [--late-fraction F]``

Starts Kafka and Postgres (if not running), gives the run its own topic and a fresh ``demo_telecom`` schema, then:
generator (N events of simulated history from TIME at R events per simulated second, shaped by the diurnal curve,
a fraction F delayed past the watermark) → the window job as one bounded Flink job (the bounded read ends with a
final watermark, so every window closes) → for each UTC date present: daily batch, then validation → audit
(valid events = Σ event_count + late events; each day's daily_stats = its windows). Exit 0 only when all agree.
Process handling (logs, Ctrl-C, stopping children) is the local runner's (:class:`jobs.local.runner.Children`).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import psycopg2

from jobs.common.audit import as_summary, passed, render
from jobs.common.cli import run, summary
from jobs.common.migrate import migrate
from jobs.common.settings import KafkaSettings, PostgresSettings, load, to_env
from jobs.local.runner import Children, run_demo
from jobs.local.services import Paths
from jobs.telecom.audit import audit
from jobs.telecom.topics import TelecomTopics

DEMO_SCHEMA = "demo_telecom"


class TelecomDemo(Children):
    def __init__(self, events: int, rate: float, seed: int, start: str, late_fraction: float, home: Paths) -> None:
        super().__init__(home)
        self.events, self.rate, self.seed = events, rate, seed
        self.start, self.late_fraction = start, late_fraction

    def fresh_schema(self, pg: PostgresSettings) -> None:
        with psycopg2.connect(dataclasses.replace(pg, schema="public").dsn()) as conn, conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {DEMO_SCHEMA} CASCADE; CREATE SCHEMA {DEMO_SCHEMA}")
        migrate(pg.dsn())

    @staticmethod
    def dates(pg: PostgresSettings) -> list[str]:
        with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
            cur.execute("SELECT DISTINCT window_start::date FROM real_time_metrics ORDER BY 1")
            return [day.isoformat() for (day,) in cur.fetchall()]

    def run(self, base_env: dict[str, str]) -> int:
        run_id = time.strftime("%Y%m%d%H%M%S")
        kafka = load(KafkaSettings, base_env)
        topics = TelecomTopics(events=f"demo-{run_id}.telecom_events")
        pg = dataclasses.replace(load(PostgresSettings, base_env), schema=DEMO_SCHEMA)
        env = {
            **base_env,
            **to_env(kafka, topics, pg),
            "BROOK_TELECOM_LATE_FRACTION": str(self.late_fraction),
            "BROOK_TELECOM_WATERMARK_EMIT": "on-event",  # which events are late must not depend on timing
            "BROOK_FLINK_BOUNDED": "true",
            "BROOK_FLINK_STARTUP_MODE": "earliest-offset",
            "BROOK_FLINK_CHECKPOINT_DIR": (self.paths.home / "flink" / "checkpoints" / f"telecom-{run_id}").as_uri(),
        }
        print(f"[demo] telecom run {run_id}: topic {topics.events}, schema {pg.schema}", flush=True)
        self.fresh_schema(pg)

        generator_args = ["--count", str(self.events), "--seed", str(self.seed), "--rate", str(self.rate)]
        self.stage(
            "generator → Kafka", self.events, "telecom-generator", "jobs.telecom.generator", env,
            *generator_args, "--start", self.start,
        )  # fmt: skip
        produced = self.summary("telecom-generator", "telecom-generator")["sent"]
        self.stage(
            "Flink windows (bounded job incl. startup)", produced, "telecom-flink", "jobs.telecom.flink.metrics", env
        )
        days = self.dates(pg)
        for day in days:
            self.stage(f"daily batch {day}", 1, f"telecom-batch-{day}", "jobs.telecom.daily_batch", env, "--date", day)
            self.stage(f"validate {day}", 1, f"telecom-validate-{day}", "jobs.telecom.validate", env, "--date", day)

        print("\n[demo] stages (this machine, rough)")
        for label, count, seconds in self.timings:
            print(f"  {label:<44} {count:>8} in {seconds:6.1f}s")
        print(f"\n[demo] telecom conservation audit ({len(days)} dates)")
        checks = audit(kafka, topics, pg, produced)
        render(checks)
        summary("telecom-demo", run=run_id, dates=days, **as_summary(checks))
        return 0 if passed(checks) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.local.telecom_demo", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events to generate (default 20000)")
    parser.add_argument("--rate", type=float, default=2.0, help="events per simulated second (default 2: ~3 h)")
    parser.add_argument("--seed", type=int, default=2026, help="generator seed")
    parser.add_argument(
        "--start", default="2026-03-01T22:00:00+00:00", help="simulated start (default: 2 h before a UTC midnight)"
    )
    parser.add_argument("--late-fraction", type=float, default=0.002, help="share of events delayed 3–10 min")
    parser.add_argument("--keep-services", action="store_true", help="leave Kafka/Postgres running")
    args = parser.parse_args(argv)

    return run_demo(
        lambda paths: TelecomDemo(args.events, args.rate, args.seed, args.start, args.late_fraction, home=paths),
        ["kafka", "postgres"],
        args.keep_services,
    )


if __name__ == "__main__":
    run(main, "telecom-demo")
