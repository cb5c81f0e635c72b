"""The one way Brook's PyFlink jobs get a TableEnvironment and their connector options.

Local mode ships the connector jars from ``make flink-jars`` with the job (``pipeline.jars``, from
``BROOK_FLINK_JARS``, which ``python -m jobs.local.services env`` prints); in the Flink image they sit on
``/opt/flink/lib`` and nothing is shipped. Checkpointing is always on (exactly-once); its directory
comes from ``BROOK_FLINK_CHECKPOINT_DIR`` locally and from the cluster configuration in Kubernetes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from jobs.common.settings import KafkaSettings, PostgresSettings
from jobs.flink import verdict
from jobs.flink.settings import FlinkSettings

if TYPE_CHECKING:
    from pyflink.table import StatementSet, TableEnvironment, TableResult

SCRAM_MODULE = "org.apache.flink.kafka.shaded.org.apache.kafka.common.security.scram.ScramLoginModule"


def connector_jars(settings: FlinkSettings) -> list[str]:
    """file:// URLs of the jars to ship (BROOK_FLINK_JARS; empty in the Flink image)."""
    return [Path(jar).resolve().as_uri() for jar in settings.jars.split(":") if jar]


def table_environment(settings: FlinkSettings, job_name: str) -> TableEnvironment:
    """A streaming TableEnvironment configured for ``job_name`` (name shown in the Flink UI), with Brook's contract
    functions (``brook_verdict``, ``brook_event_ms``) registered."""
    from pyflink.table import EnvironmentSettings, TableEnvironment

    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    conf = t_env.get_config()
    conf.set("pipeline.name", job_name)
    conf.set("parallelism.default", str(settings.parallelism))
    jars = connector_jars(settings)
    if jars:
        conf.set("pipeline.jars", ";".join(jars))
    conf.set("execution.checkpointing.interval", f"{settings.checkpoint_interval_ms} ms")
    conf.set("execution.checkpointing.mode", "EXACTLY_ONCE")
    if settings.checkpoint_dir:
        conf.set("execution.checkpointing.dir", settings.checkpoint_dir)
    if settings.restore_from:  # Flink 2.0's key (execution.savepoint.path before); state must match the plan
        conf.set("execution.state-recovery.path", settings.restore_from)
    if settings.bounded:
        # A bounded run (tests, demo, bench) must fail with its cause, not restart forever.
        conf.set("restart-strategy.type", "fixed-delay")
        conf.set("restart-strategy.fixed-delay.attempts", "2")
        conf.set("restart-strategy.fixed-delay.delay", "1 s")
    if settings.idle_timeout_seconds:
        conf.set("table.exec.source.idle-timeout", f"{settings.idle_timeout_seconds} s")
    verdict.register(t_env)  # every job's source judges its messages with it (jobs/flink/verdict.py)
    return t_env


def run_statements(statements: StatementSet, name: str, bounded: bool, explain: bool) -> int:
    """What a job module's ``main`` does with its statement set: print the optimised plan (``--explain``), or submit
    and wait (an unbounded job waits for ever; a bounded one until its input ends, raising its failure)."""
    if explain:
        print(statements.explain())
        return 0
    print(f"[{name}] submitting ({'bounded' if bounded else 'unbounded'})", flush=True)
    execute(statements, wait=True)
    print(f"[{name}] finished", flush=True)
    return 0


def execute(statements: StatementSet, wait: bool) -> TableResult:
    """Submit; with ``wait`` block until the job ends and raise its failure (bounded runs, tests, demo)."""
    result = statements.execute()
    if wait:
        result.wait()
    return result


def kafka_source_options(kafka: KafkaSettings, topic: str, group_id: str, settings: FlinkSettings) -> dict[str, str]:
    """WITH options of a JSON Kafka source; malformed JSON is skipped (the consumer's DLQ is where it is kept)."""
    options = {
        "connector": "kafka",
        "topic": topic,
        "properties.bootstrap.servers": kafka.bootstrap,
        "properties.group.id": group_id,
        "properties.security.protocol": kafka.security_protocol,
        "scan.startup.mode": settings.startup_mode,
        "properties.auto.offset.reset": "earliest",
        "format": "json",
        "json.ignore-parse-errors": "true",
        "json.fail-on-missing-field": "false",
    }
    if settings.bounded:
        options["scan.bounded.mode"] = "latest-offset"
    if kafka.security_protocol.startswith("SASL"):
        options["properties.sasl.mechanism"] = kafka.sasl_mechanism
        options["properties.sasl.jaas.config"] = (
            f'{SCRAM_MODULE} required username="{kafka.username}" password="{kafka.password}";'
        )
    if kafka.security_protocol.endswith("SSL") and kafka.ca_file:  # Kafka clients read a PEM truststore as-is
        options["properties.ssl.truststore.type"] = "PEM"
        options["properties.ssl.truststore.location"] = kafka.ca_file
    return options


def jdbc_sink_options(pg: PostgresSettings, table: str, settings: FlinkSettings) -> dict[str, str]:
    """WITH options of an upserting JDBC sink into Brook's Postgres (primary key from the sink DDL)."""
    return {
        "connector": "jdbc",
        "url": pg.jdbc_url(),
        "table-name": table,
        "username": pg.user,
        "password": pg.password,
        "sink.buffer-flush.max-rows": str(settings.sink_flush_rows),
        "sink.buffer-flush.interval": f"{settings.sink_flush_ms} ms",
        "sink.max-retries": "3",
    }


def with_clause(options: dict[str, str]) -> str:
    """Render options as a SQL WITH clause, quoting every key and value."""

    def quote(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    return "WITH (\n  " + ",\n  ".join(f"{quote(k)} = {quote(v)}" for k, v in options.items()) + "\n)"
