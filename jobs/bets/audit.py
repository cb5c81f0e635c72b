"""Conservation audit (DESIGN §2.4): does every stage of the bets pipeline account for every event?

``python -m jobs.bets.audit [--produced N] [--expect-exported]`` — against any deployment reachable with the
``BROOK_*`` settings. Counts are independent recounts, not the jobs' own counters: the ``bets`` topic is re-read
and re-validated with the contract, the DLQ is counted by distinct source offset (a replayed batch may dead-letter
a message twice), Flink's windows are summed from their tables, and the Parquet objects are read back. Run it on
a quiesced pipeline (producer stopped, consumer and Flink caught up); exits 1 when any check fails.
"""

from __future__ import annotations

import argparse
import io
from dataclasses import dataclass

import psycopg2
import pyarrow.parquet as pq

from jobs.bets.consumer import UNSTORABLE
from jobs.bets.contract import InvalidEvent, parse_bet
from jobs.bets.export_naming import PREFIX as RAW_PREFIX
from jobs.bets.topics import BetsTopics
from jobs.common.audit import Check, as_summary, passed, read_topic, render
from jobs.common.cli import run, summary
from jobs.common.settings import KafkaSettings, PostgresSettings, S3Settings, load


@dataclass(frozen=True)
class KafkaCounts:
    messages: int  # in the bets topic
    invalid: int  # of those, breaking the contract
    valid_distinct: int  # distinct bet_ids of the valid ones
    dlq_invalid: int  # distinct source offsets dead-lettered for a contract reason
    unstorable: int  # distinct bet_ids dead-lettered as `unstorable` (valid, but refused by Postgres)


def kafka_counts(kafka: KafkaSettings, topics: BetsTopics) -> KafkaCounts:
    """The topic and its DLQ, recounted. The DLQ is counted by distinct source offset (a replayed batch may
    dead-letter a message twice); ``unstorable`` messages by bet_id, since a replayed copy of a refused bet is
    refused too while the bet counts once among the valid ones."""
    messages = invalid = 0
    valid_ids: set[str] = set()
    for _, _, value, _ in read_topic(kafka, topics.bets):
        messages += 1
        try:
            valid_ids.add(parse_bet(value).bet_id)
        except InvalidEvent:
            invalid += 1
    sources: set[tuple[bytes | None, bytes | None]] = set()
    unstorable: set[str] = set()
    for _, _, value, headers in read_topic(kafka, topics.dlq):
        if headers.get("brook.error.code") == UNSTORABLE.encode():
            unstorable.add(parse_bet(value).bet_id)
        else:
            sources.add((headers.get("brook.source.partition"), headers.get("brook.source.offset")))
    return KafkaCounts(messages, invalid, len(valid_ids), len(sources), len(unstorable))


def postgres_counts(pg: PostgresSettings) -> dict[str, int]:
    queries = {
        "stored": "SELECT count(*) FROM bets",
        "exported": "SELECT count(*) FROM bets_exported",  # view of migration 007
        "bet_status": "SELECT coalesce(sum(bets), 0) FROM bet_status",
        "top_games": "SELECT coalesce(sum(bets), 0) FROM top_games",
        "avg_bet": "SELECT coalesce(sum(bets), 0) FROM avg_bet",
    }
    with psycopg2.connect(pg.dsn()) as conn, conn.cursor() as cur:
        counts = {}
        for name, sql in queries.items():
            cur.execute(sql)
            counts[name] = int(cur.fetchone()[0])
    return counts


def parquet_counts(s3: S3Settings) -> tuple[int, int, int]:
    """(objects, rows, distinct bet_ids) over every exported Parquet object."""
    client = s3.client()
    objects = rows = 0
    ids: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket, Prefix=RAW_PREFIX + "/"):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=s3.bucket, Key=item["Key"])["Body"].read()
            column = pq.read_table(io.BytesIO(body), columns=["bet_id"]).column("bet_id").to_pylist()
            objects += 1
            rows += len(column)
            ids.update(str(value) for value in column)
    return objects, rows, len(ids)


def audit(
    kafka: KafkaSettings,
    topics: BetsTopics,
    pg: PostgresSettings,
    s3: S3Settings,
    produced: int | None,
    expect_exported: bool,
    flink: bool = True,
) -> list[Check]:
    """The conservation table. ``flink=False`` (a deployment without the Flink jobs, such as the k8s_node profile of
    docs/kubernetes.md) prints Flink's sums without expecting them."""
    k = kafka_counts(kafka, topics)
    db = postgres_counts(pg)
    objects, parquet_rows, parquet_ids = parquet_counts(s3)
    stored = db["stored"]
    valid = k.valid_distinct
    by_flink = valid if flink else None
    return [
        Check("produced", produced if produced is not None else k.messages),
        Check("in Kafka (bets)", k.messages, produced, "= produced"),
        Check("  valid, distinct bet_id", valid),
        Check("  invalid", k.invalid),
        Check("stored in Postgres (bets)", stored, valid - k.unstorable, "= valid distinct - unstorable"),
        Check("in DLQ (distinct source offsets)", k.dlq_invalid, k.invalid, "= invalid"),
        Check("in DLQ as unstorable (distinct bet_id)", k.unstorable),
        # Flink judges by the contract alone: it counts every valid bet, stored or not.
        Check("counted by Flink (sum bet_status.bets)", db["bet_status"], by_flink, "= valid distinct"),
        Check("counted by Flink (sum top_games.bets)", db["top_games"], by_flink, "= valid distinct"),
        Check("counted by Flink (sum avg_bet.bets)", db["avg_bet"], by_flink, "= valid distinct"),
        Check("marked exported", db["exported"], stored if expect_exported else None, "= stored"),
        Check(f"rows in Parquet ({objects} objects)", parquet_rows, db["exported"], "= marked exported"),
        Check("  distinct bet_id in Parquet", parquet_ids, parquet_rows, "= rows (no duplicates)"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bets.audit", description=__doc__.splitlines()[0])
    parser.add_argument("--produced", type=int, help="events the producer reported (checked against Kafka)")
    parser.add_argument("--expect-exported", action="store_true", help="require every stored row to be exported")
    parser.add_argument("--without-flink", action="store_true", help="no Flink jobs run: do not expect their sums")
    args = parser.parse_args(argv)
    kafka, topics, pg, s3 = load(KafkaSettings), load(BetsTopics), load(PostgresSettings), load(S3Settings)
    checks = audit(kafka, topics, pg, s3, args.produced, args.expect_exported, flink=not args.without_flink)
    render(checks)
    summary("bets-audit", **as_summary(checks))
    return 0 if passed(checks) else 1


if __name__ == "__main__":
    run(main, "bets-audit")
