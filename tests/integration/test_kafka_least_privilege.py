"""Least privilege, proven on a real secured broker: the chart's KafkaUsers and ACLs, enforced.

A private secured broker (``jobs.local.kafka_secured``: SASL_SSL/SCRAM-SHA-512, a local CA, the StandardAuthorizer
denying what no ACL allows) runs for this module on its own ports and data folder; the plaintext broker other tests
use is not touched. Its users and ACLs come from ``helm template`` of the chart, the one source. Each workload user
does what its job needs (the real jobs where they are bounded) and is refused what it must not do, with Kafka's
authorization errors. docs/security.md has the table these tests prove.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest
import yaml
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaError,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailedError,
)

from jobs.behaviour.topics import BehaviourTopics
from jobs.bets.audit import kafka_counts
from jobs.bets.contract import encode_bet
from jobs.bets.generator import BetGenerator
from jobs.bets.topics import BetsTopics
from jobs.common.cli import read_summary
from jobs.common.settings import ConfigError, KafkaSettings, PostgresSettings, load, to_env
from jobs.local import kafka_acls
from jobs.local.kafka_secured import ADMIN, SecuredKafka
from jobs.local.ports import free_ports
from jobs.local.services import LocalServices, LocalSettings
from jobs.telecom.topics import TelecomTopics

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "brook"
HELM = Path(load(LocalSettings).home).resolve() / "bin" / "helm"


def chart_topics() -> dict[str, int]:
    """Every KafkaTopic the chart can deploy (all pipelines on), name → partitions: its ACLs are literal on them."""
    proc = subprocess.run(kafka_acls.render_args(HELM), capture_output=True, text=True, timeout=120, check=True)
    objects = [o for o in yaml.safe_load_all(proc.stdout) if o]
    return {o["spec"]["topicName"]: o["spec"]["partitions"] for o in objects if o["kind"] == "KafkaTopic"}


AUTHZ = (
    TopicAuthorizationFailedError,
    GroupAuthorizationFailedError,
    ClusterAuthorizationFailedError,
    TransactionalIdAuthorizationFailedError,
)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredKafka]:
    """A private secured broker (own BROOK_HOME-like folder and ports), stopped at the end of the module."""
    home = tmp_path_factory.mktemp("brook-secured")
    main = Path(load(LocalSettings).home).resolve()
    for shared in ("jars", "bin"):  # the Kafka jars and helm of `make setup`, read-only
        (home / shared).symlink_to(main / shared)
    cfg = LocalSettings(home=str(home), kafka_secured=True, kafka_secured_port=free_ports(24092, 2), start_timeout=240)
    local = LocalServices(cfg)
    local.up(["kafka"])
    kafka: SecuredKafka = local.services["kafka"]
    admin = kafka.admin()
    try:
        admin.create_topics([NewTopic(name, partitions, 1) for name, partitions in chart_topics().items()])
    finally:
        admin.close()
    yield kafka
    local.down(["kafka"])


def settings(broker: SecuredKafka, user: str) -> KafkaSettings:
    """A workload user's settings, as the job loads them (KafkaSettings with the CA file)."""
    return load(KafkaSettings, broker.user_env(user))


def admin_settings(broker: SecuredKafka) -> KafkaSettings:
    """The super user's settings: the tests' own verification reads, never a workload."""
    return load(
        KafkaSettings,
        {
            **broker.connection_env(),
            "BROOK_KAFKA_USERNAME": ADMIN,
            "BROOK_KAFKA_PASSWORD": broker.users.password(ADMIN),
        },
    )


def produce(kafka: KafkaSettings, topic: str, idempotent: bool = True, **extra: object) -> None:
    producer = KafkaProducer(
        acks="all", enable_idempotence=idempotent, max_block_ms=10_000, **kafka.client_options(), **extra
    )
    try:
        producer.send(topic, b'{"probe": true}').get(timeout=15)
    finally:
        producer.close(timeout=5)


def consume(kafka: KafkaSettings, topic: str, group: str) -> int:
    """Read ``topic`` from the start in ``group`` and commit; returns messages read."""
    consumer = KafkaConsumer(
        topic, group_id=group, auto_offset_reset="earliest", consumer_timeout_ms=6000, **kafka.client_options()
    )
    try:
        read = sum(1 for _ in consumer)
        consumer.commit()
        return read
    finally:
        consumer.close()


def read_without_group(kafka: KafkaSettings, topic: str) -> int:
    """Fetch partition 0 of ``topic`` by assignment (no group), as the audit does: Describe and Read on the topic.

    The offsets are asked first: without Describe, kafka-python's metadata just lacks the topic and a poll returns
    nothing, while ListOffsets answers with the authorization error."""
    consumer = KafkaConsumer(enable_auto_commit=False, **kafka.client_options())
    try:
        partition = TopicPartition(topic, 0)
        consumer.end_offsets([partition])
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        return sum(len(records) for records in consumer.poll(timeout_ms=3000).values())
    finally:
        consumer.close()


def with_admin(kafka: KafkaSettings, action: Callable[[KafkaAdminClient], object]) -> object:
    admin = KafkaAdminClient(client_id="brook-probe", **kafka.client_options())
    try:
        return action(admin)
    finally:
        admin.close()


def create_topic(kafka: KafkaSettings) -> object:
    return with_admin(kafka, lambda a: a.create_topics([NewTopic("brook-not-allowed", 1, 1)]))


def delete_topic(kafka: KafkaSettings, topic: str = "bets") -> object:
    return with_admin(kafka, lambda a: a.delete_topics([topic]))


def add_partitions(kafka: KafkaSettings, topic: str = "bets") -> object:
    return with_admin(kafka, lambda a: a.create_partitions({topic: NewPartitions(8)}))


def list_acls(kafka: KafkaSettings) -> object:
    """DescribeAcls: needs Describe on the cluster."""
    return with_admin(kafka, lambda a: a.describe_acls(kafka_acls.every_acl_filter()))


def alter_topic_config(kafka: KafkaSettings, topic: str = "bets") -> None:
    """AlterConfigs answers per resource; an authorization error there is raised as one."""
    resource = ConfigResource(ConfigResourceType.TOPIC, topic, {"retention.ms": "1000"})
    result = with_admin(kafka, lambda a: a.alter_configs([resource], raise_on_unknown=False))
    error = str(result["topic"][topic] or "")
    if "AuthorizationFailed" in error:
        raise TopicAuthorizationFailedError(error)
    if error:
        raise KafkaError(error)


def broker_configs(kafka: KafkaSettings) -> dict:
    """Broker 1's configuration as this user may see it (kafka-python drops an unauthorized resource's entries)."""
    resource = ConfigResource(ConfigResourceType.BROKER, "1")
    return with_admin(kafka, lambda a: a.describe_configs([resource], config_filter="all"))["broker"]["1"]


def begin_transaction(kafka: KafkaSettings, transactional_id: str) -> None:
    producer = KafkaProducer(transactional_id=transactional_id, max_block_ms=10_000, **kafka.client_options())
    try:
        producer.init_transactions()
    finally:
        producer.close(timeout=5)


def denied(action: Callable[[], object]) -> None:
    """``action`` must fail with one of Kafka's authorization errors (not a timeout, not success)."""
    with pytest.raises(AUTHZ):
        action()


def run_job(module: str, env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, f"{module} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


# --- one source: the broker holds exactly the chart's users and ACLs -------------------------------------------------


def test_broker_acls_are_the_charts(broker: SecuredKafka) -> None:
    """Read back through the admin API, the broker's bindings equal a fresh render of the chart's KafkaUsers."""
    chart = kafka_acls.chart_bindings(kafka_acls.rendered_kafka_users(broker.helm))
    on_broker = with_admin(admin_settings(broker), kafka_acls.broker_bindings)
    assert on_broker == chart
    users = with_admin(admin_settings(broker), lambda a: a.describe_user_scram_credentials())
    assert set(users) == {ADMIN} | {b.user for b in chart}, "a SCRAM credential per chart user, and the admin"


def test_the_docs_table_of_users_is_generated_from_the_chart() -> None:
    """docs/security.md's user → allowed table is the chart's render (``python -m jobs.local.kafka_acls``)."""
    table = kafka_acls.markdown_table(kafka_acls.rendered_kafka_users(HELM))
    text = kafka_acls.DOC.read_text()
    assert kafka_acls.updated_doc(text, table) == text, "stale: run `python -m jobs.local.kafka_acls`"


def test_a_resync_removes_what_the_chart_does_not_have(broker: SecuredKafka) -> None:
    """A binding added by hand (drift) is deleted by the next start's sync, so local can never exceed the chart."""
    admin = admin_settings(broker)
    drift = kafka_acls.Binding("User:brook-producer", "TOPIC", "bets.dlq", "LITERAL", "READ")
    with_admin(admin, lambda a: a.create_acls(kafka_acls.to_kafka([drift])))
    assert drift in with_admin(admin, kafka_acls.broker_bindings)
    broker.sync_chart_users()
    assert drift not in with_admin(admin, kafka_acls.broker_bindings)


def test_authentication_needs_the_password_and_the_ca(broker: SecuredKafka, tmp_path: Path) -> None:
    """kafka-python reports both only as "Unable to bootstrap"; the broker's log says which one it was."""
    log = broker.paths.log(broker.name)
    good = settings(broker, "brook-producer")
    fast = {**broker.user_env("brook-producer"), "BROOK_KAFKA_CONNECT_TIMEOUT_MS": "3000"}
    wrong_password = load(KafkaSettings, {**fast, "BROOK_KAFKA_PASSWORD": "wrong"})
    with pytest.raises(KafkaError):
        KafkaAdminClient(**wrong_password.client_options()).list_topics()
    assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in log.read_text()
    other_ca = tmp_path / "other-ca.crt"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=not Brook"),
            *("-keyout", str(tmp_path / "k"), "-out", str(other_ca)),
        ],
        capture_output=True,
        check=True,
    )
    wrong_ca = load(KafkaSettings, {**fast, "BROOK_KAFKA_CA_FILE": str(other_ca)})
    with pytest.raises(KafkaError):
        KafkaAdminClient(**wrong_ca.client_options()).list_topics()
    assert "(SSL handshake failed)" in log.read_text()
    assert "bets" in with_admin(good, lambda a: a.list_topics())


def test_a_missing_ca_file_fails_at_start_naming_the_variable(tmp_path: Path) -> None:
    env = {"BROOK_KAFKA_BOOTSTRAP": "127.0.0.1:1", "BROOK_KAFKA_SECURITY_PROTOCOL": "SSL"}
    with pytest.raises(ConfigError, match="BROOK_KAFKA_CA_FILE"):
        load(KafkaSettings, {**env, "BROOK_KAFKA_CA_FILE": str(tmp_path / "absent.crt")})


# --- the producer ----------------------------------------------------------------------------------------------------


def test_producer_writes_bets_idempotently_with_the_real_job(broker: SecuredKafka) -> None:
    proc = run_job("jobs.bets.producer", broker.user_env("brook-producer"), "--count", "200", "--seed", "7")
    done = read_summary(proc.stdout, "producer")
    assert (done["sent"], done["failed"]) == (200, 0)
    produce(settings(broker, "brook-producer"), "bets")  # idempotent producer: IdempotentWrite on the cluster


def test_producer_is_denied_everything_else(broker: SecuredKafka) -> None:
    kafka = settings(broker, "brook-producer")
    denied(lambda: produce(kafka, "telecom_events"))
    denied(lambda: produce(kafka, "bets.dlq"))
    denied(lambda: read_without_group(kafka, "bets"))
    denied(lambda: consume(kafka, "bets", "brook-producer"))
    denied(lambda: begin_transaction(kafka, "brook-producer-tx"))
    denied(lambda: create_topic(kafka))
    denied(lambda: delete_topic(kafka))
    denied(lambda: alter_topic_config(kafka))
    denied(lambda: list_acls(kafka))
    assert broker_configs(kafka) == {}, "no DescribeConfigs on the cluster"


# --- the consumer ----------------------------------------------------------------------------------------------------


def bets_file(path: Path, valid: int, invalid: list[bytes]) -> Path:
    lines = [encode_bet(event) for _, event in zip(range(valid), BetGenerator(seed=11, rate=0), strict=False)]
    path.write_bytes(b"\n".join(lines + invalid) + b"\n")
    return path


def test_consumer_reads_bets_in_its_group_and_dead_letters_with_the_real_jobs(
    broker: SecuredKafka, pg_schema: PostgresSettings, tmp_path: Path
) -> None:
    """Producer then consumer, each as its own user; the audit's recount, as the audit's user, balances."""
    invalid = [b"not json", b'{"bet_id": "x"}', b'{"amount": -1}']
    events = bets_file(tmp_path / "bets.jsonl", 120, invalid)
    run_job("jobs.bets.producer", broker.user_env("brook-producer"), "--input", str(events))
    pg_env = to_env(pg_schema)
    run_job("jobs.bets.consumer", {**broker.user_env("brook-consumer"), **pg_env}, "--exit-when-idle", "5")
    counts = kafka_counts(settings(broker, "brook-audit"), BetsTopics())
    messages, bad, valid_distinct, dlq_sources = (
        counts.messages,
        counts.invalid,
        counts.valid_distinct,
        counts.dlq_invalid,
    )
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM bets")
        stored = cur.fetchone()[0]
    assert bad >= len(invalid) and dlq_sources == bad, "every invalid event is dead-lettered by the consumer's user"
    assert stored == valid_distinct and messages >= 120 + len(invalid)


def test_consumer_is_denied_everything_else(broker: SecuredKafka) -> None:
    kafka = settings(broker, "brook-consumer")
    denied(lambda: consume(kafka, "bets", "brook-consumer-other"))
    denied(lambda: consume(kafka, "bets.dlq", "brook-consumer"))
    denied(lambda: read_without_group(kafka, "bets.dlq"))
    denied(lambda: produce(kafka, "bets"))
    denied(lambda: produce(kafka, "telecom_events"))
    denied(lambda: read_without_group(kafka, "telecom_events"))
    denied(lambda: create_topic(kafka))
    denied(lambda: delete_topic(kafka, "bets.dlq"))
    denied(lambda: add_partitions(kafka))
    denied(lambda: alter_topic_config(kafka))
    denied(lambda: list_acls(kafka))


# --- Flink -----------------------------------------------------------------------------------------------------------


def test_flink_reads_bets_and_telecom_in_its_group_prefix(broker: SecuredKafka) -> None:
    """The Flink jobs' group naming (brook-flink-<tables>, brook-flink-all; telecom: brook-flink-*)."""
    kafka = settings(broker, "brook-flink")
    produce(settings(broker, "brook-producer"), "bets")
    assert consume(kafka, "bets", "brook-flink-top_games") > 0
    assert consume(kafka, "bets", "brook-flink-all") > 0
    produce(settings(broker, "brook-telecom"), "telecom_events")
    assert consume(kafka, "telecom_events", "brook-flink-telecom-metrics") > 0


@pytest.mark.timeout(900)  # PyFlink's mini-cluster: a minute alone, several on two busy cores
def test_a_bounded_pyflink_job_reads_bets_as_brook_flink(
    broker: SecuredKafka, pg_schema: PostgresSettings, tmp_path: Path
) -> None:
    """A real PyFlink job through jobs/flink/environment.py: SASL_SSL, the SCRAM JAAS line, the PEM truststore, its
    group brook-flink-bet_status. Conservation: what it counts is what the audit (as brook-audit) recounts as valid
    and distinct."""
    env = {
        **broker.user_env("brook-flink"),
        **to_env(pg_schema),
        "BROOK_FLINK_BOUNDED": "true",
        "BROOK_FLINK_STARTUP_MODE": "earliest-offset",
        "BROOK_FLINK_CHECKPOINT_DIR": (tmp_path / "checkpoints").as_uri(),
    }
    run_job("jobs.bets.flink.bet_status", env, timeout=840)
    valid_distinct = kafka_counts(settings(broker, "brook-audit"), BetsTopics()).valid_distinct
    with psycopg2.connect(pg_schema.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT coalesce(sum(bets), 0) FROM bet_status")
        counted = cur.fetchone()[0]
    assert counted == valid_distinct > 0


def test_flink_is_denied_everything_else(broker: SecuredKafka) -> None:
    kafka = settings(broker, "brook-flink")
    denied(lambda: consume(kafka, "bets", "brook-consumer"))
    denied(lambda: consume(kafka, "bets", "flink-without-prefix"))
    denied(lambda: read_without_group(kafka, "bets.dlq"))
    denied(lambda: produce(kafka, "bets", idempotent=False))
    denied(lambda: begin_transaction(kafka, "brook-flink-tx"))
    denied(lambda: create_topic(kafka))
    denied(lambda: alter_topic_config(kafka))
    denied(lambda: list_acls(kafka))


# --- telecom ---------------------------------------------------------------------------------------------------------


def test_telecom_generator_writes_its_topic_with_the_real_job(broker: SecuredKafka) -> None:
    env = {**broker.user_env("brook-telecom"), "BROOK_TELECOM_MASK_KEY": "a-test-mask-key-of-some-length"}
    done = read_summary(
        run_job("jobs.telecom.generator", env, "--count", "100", "--seed", "3").stdout, "telecom-generator"
    )
    assert (done["sent"], done["failed"]) == (100, 0)
    kafka = settings(broker, "brook-telecom")
    denied(lambda: produce(kafka, "bets"))
    denied(lambda: read_without_group(kafka, "telecom_events"))
    denied(lambda: create_topic(kafka))


# --- the Kafka UI ----------------------------------------------------------------------------------------------------


def test_ui_is_read_only(broker: SecuredKafka) -> None:
    kafka = settings(broker, "brook-ui")
    assert read_without_group(kafka, "bets") >= 0
    assert "bets.dlq" in with_admin(kafka, lambda a: a.list_topics())
    assert broker_configs(kafka), "DescribeConfigs on the cluster"
    assert "brook-consumer" in {g["group_id"] for g in with_admin(kafka, lambda a: a.list_groups())}
    denied(lambda: produce(kafka, "bets", idempotent=False))
    denied(lambda: consume(kafka, "bets", "brook-ui"))
    denied(lambda: create_topic(kafka))
    denied(lambda: delete_topic(kafka))
    denied(lambda: add_partitions(kafka))
    denied(lambda: alter_topic_config(kafka))


# --- the audit command of NOTES.txt ----------------------------------------------------------------------------------


def rendered_notes_and_objects(tmp_path: Path) -> tuple[str, list[dict]]:
    """NOTES.txt rendered (``helm template`` skips it: a copy of the chart wraps it in a ConfigMap) + the objects."""
    chart = tmp_path / "brook"
    shutil.copytree(CHART, chart)
    notes = (chart / "templates" / "NOTES.txt").read_text()
    (chart / "templates" / "NOTES.txt").unlink()
    (chart / "templates" / "_notes.tpl").write_text('{{- define "test.notes" -}}\n' + notes + "\n{{- end -}}\n")
    (chart / "templates" / "zz-notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: test-notes}\ndata:\n"
        '  notes: {{ include "test.notes" . | toJson }}\n'
    )
    args = [str(chart) if arg == str(CHART) else arg for arg in kafka_acls.render_args(HELM)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    objects = [doc for doc in yaml.safe_load_all(proc.stdout) if doc]
    rendered = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "test-notes")
    return rendered["data"]["notes"], objects


def notes_audit_users(tmp_path: Path) -> dict[str, str]:
    """Pipeline → the KafkaUser its NOTES.txt audit command runs as: the Secret the command's pod (or the CronJob
    it creates the Job from) mounts, and that Secret's BROOK_KAFKA_USERNAME."""
    notes, objects = rendered_notes_and_objects(tmp_path)
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    users: dict[str, str] = {}
    for line in notes.splitlines():
        pipeline = re.search(r"jobs\.(\w+)\.audit|Audit pipeline (\w+)", line)
        secret = re.search(r'"secretRef":\{"name":"([^"]+)"\}', line)
        cronjob = re.search(r"--from=cronjob/([a-z0-9-]+)", line)
        if cronjob:
            spec = by_name[("CronJob", cronjob.group(1))]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            refs = [
                e["secretRef"]["name"] for c in spec["containers"] for e in c.get("envFrom", []) if "secretRef" in e
            ]
            secret_name = refs[0] if refs else None
            pipeline = re.search(r"brook-audit-(\w+)", cronjob.group(1))
        else:
            secret_name = secret.group(1) if secret else None
        if pipeline and secret_name:
            name = next(g for g in pipeline.groups() if g)
            users[name] = by_name[("Secret", secret_name)]["stringData"]["BROOK_KAFKA_USERNAME"]
    return users


def test_the_notes_audit_user_reads_what_the_audit_reads(broker: SecuredKafka, tmp_path: Path) -> None:
    """The audit recounts bets and bets.dlq (telecom: its topic); the user NOTES.txt runs it as must read them.
    (The first NOTES ran it as brook-flink, which may not read bets.dlq: this test failed on it.)"""
    users = notes_audit_users(tmp_path)
    assert "bets" in users, "NOTES.txt has no audit command for the bets pipeline"
    # What each pipeline's audit recounts: its topics settings (jobs/<pipeline>/topics.py, the audits' input).
    reads = {
        pipeline: list(dataclasses.asdict(topics()).values())
        for pipeline, topics in (("bets", BetsTopics), ("telecom", TelecomTopics), ("behaviour", BehaviourTopics))
    }
    assert set(users) <= set(reads), f"NOTES.txt audits a pipeline this test does not know: {set(users) - set(reads)}"
    for pipeline, user in users.items():
        for topic in reads[pipeline]:
            read_without_group(settings(broker, user), topic)


def test_the_audit_user_only_reads(broker: SecuredKafka) -> None:
    """brook-audit recounts without a consumer group (nothing committed) and changes nothing."""
    kafka = settings(broker, "brook-audit")
    denied(lambda: produce(kafka, "bets", idempotent=False))
    denied(lambda: produce(kafka, "bets.dlq", idempotent=False))
    denied(lambda: consume(kafka, "bets", "brook-audit"))
    denied(lambda: create_topic(kafka))
    denied(lambda: delete_topic(kafka, "bets.dlq"))
    denied(lambda: alter_topic_config(kafka))
    denied(lambda: list_acls(kafka))


def test_the_audit_fails_loudly_when_it_may_not_read_a_topic(broker: SecuredKafka) -> None:
    with pytest.raises(AUTHZ):
        kafka_counts(settings(broker, "brook-flink"), BetsTopics())
