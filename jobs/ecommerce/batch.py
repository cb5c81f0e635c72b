"""The daily e-commerce batch: PyFlink in batch mode reads one day's logs from S3 and replaces that date's results.

``python -m jobs.ecommerce.batch --date YYYY-MM-DD [--check-only] [--explain]``

One bounded Flink job: four ``filesystem`` sources (``s3://<BROOK_ECOMMERCE_BUCKET>/logs/D/<kind>.jsonl``, format
``raw``: the connector splits the file at ``\n`` and each line is one STRING, so no line can fail the job), the
contract's verdict per line (:func:`jobs.ecommerce.contract.judge_sql`) and the fields of accepted lines
(:func:`jobs.ecommerce.contract.value_sql`), then every result as
one ``UNION ALL`` query in a single tagged row shape, so the sources are read once and one job computes everything.
The rows (hundreds) are collected and written by :func:`jobs.ecommerce.results.replace` in one Postgres
transaction per date (why not the JDBC sink: see that module).

S3 from PyFlink's local mini-cluster: the ``s3-fs-hadoop`` plugin is loaded from the folder of
``BROOK_ECOMMERCE_FLINK_PLUGINS_DIR`` (``make flink-s3-plugin``). PyFlink's launcher overwrites
``FLINK_PLUGINS_DIR`` with its own folder unless ``FLINK_HOME`` is set, and the mini-cluster does not initialise
file systems from plugins itself, so :func:`s3_file_system` does both before the first job: it resolves Flink's
home, sets ``FLINK_PLUGINS_DIR`` and calls ``FileSystem.initialize`` with the endpoint, path-style access and the
credentials of ``BROOK_S3_*``.

``--check-only`` changes nothing: exit 0 when the day's four files exist, 1 otherwise (the DAG's check_files).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from typing import TYPE_CHECKING, Any

import psycopg2
from botocore.exceptions import ClientError

from jobs.common.cli import run, summary
from jobs.common.settings import PostgresSettings, S3Settings, load
from jobs.common.sql_rules import quote
from jobs.ecommerce.contract import (
    ALL,
    CATEGORIES,
    DUPLICATE_ORDER,
    KINDS,
    LINE,
    ORPHAN_LINE,
    columns,
    judge_sql,
    log_key,
    value_sql,
)
from jobs.ecommerce.results import Results, empty, normalise, replace
from jobs.ecommerce.settings import EcommerceSettings
from jobs.flink.environment import connector_jars, with_clause
from jobs.flink.settings import FlinkSettings

if TYPE_CHECKING:
    from pyflink.table import TableEnvironment

JOB = "ecommerce-batch"
# The tagged row every result is cast to: tag, three keys, four counts, one amount.
SHAPE = "tag, k1, k2, k3, n1, n2, n3, n4, amount"


class MissingLogs(RuntimeError):
    """A file of the day is not in the bucket."""


def s3_options(s3: S3Settings) -> dict[str, str]:
    """Flink's S3 file system configuration from the ``BROOK_S3_*`` settings (MinIO: path-style)."""
    return {
        "s3.endpoint": s3.endpoint,
        "s3.path.style.access": "true",
        "s3.access-key": s3.access_key,
        "s3.secret-key": s3.secret_key,
        "s3.endpoint.region": s3.region,
    }


def s3_file_system(s3: S3Settings, eco: EcommerceSettings) -> None:
    """Make ``s3://`` readable in this process's Flink JVM (see the module docstring); before the first job."""
    eco.check_plugins()
    from pyflink.find_flink_home import _find_flink_home

    _find_flink_home()  # sets FLINK_HOME, after which PyFlink leaves FLINK_PLUGINS_DIR alone
    if eco.plugins():
        os.environ["FLINK_PLUGINS_DIR"] = eco.plugins()
    from pyflink.java_gateway import get_gateway

    jvm = get_gateway().jvm
    conf = jvm.org.apache.flink.configuration.Configuration()
    for key, value in s3_options(s3).items():
        conf.setString(key, value)
    plugins = jvm.org.apache.flink.core.plugin.PluginUtils.createPluginManagerFromRootFolder(conf)
    jvm.org.apache.flink.core.fs.FileSystem.initialize(conf, plugins)


def batch_environment(flink: FlinkSettings) -> TableEnvironment:
    """A batch-mode TableEnvironment with the platform's parallelism and jars (jobs.flink's is streaming-only)."""
    from pyflink.table import EnvironmentSettings, TableEnvironment

    t_env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    conf = t_env.get_config()
    conf.set("pipeline.name", JOB)
    conf.set("parallelism.default", str(flink.parallelism))
    jars = connector_jars(flink)
    if jars:
        conf.set("pipeline.jars", ";".join(jars))
    return t_env


def source_ddl(kind: str, path: str) -> str:
    """``kind``'s file at ``path`` (a URI), one row per line: the raw format reads a line as text whatever it holds
    (the ``json`` format would read ``3`` into a STRING column as ``"3"``, or fail the job on a line that is not
    JSON). The connector cuts lines at ``\\n`` and drops a ``\\r`` before it (:func:`jobs.ecommerce.recount.lines`)."""
    options = {"connector": "filesystem", "path": path, "format": "raw"}
    return f"CREATE TEMPORARY TABLE src_{kind} (\n  `{LINE}` STRING\n) {with_clause(options)}"


def judged(kind: str, day: date) -> str:
    """``kind``'s lines with their reason (NULL: accepted) and their fields (meaningful for accepted lines only)."""
    fields = ", ".join(f"{value_sql(name)} AS `{name}`" for name in columns(kind))
    return f"SELECT `{LINE}`, {judge_sql(kind, day)} AS reason, {fields} FROM src_{kind}"


def views(day: date) -> list[str]:
    """The judged and the accepted, typed views (``j_<kind>``, ``ok_<kind>``)."""
    by_kind = [f"CREATE TEMPORARY VIEW j_{kind} AS {judged(kind, day)}" for kind in ("views", "returns")]

    def orders(alias: str) -> str:
        return f"({judged('orders', day)}) AS {alias}({LINE}, r, {', '.join(columns('orders'))})"

    by_kind.append(
        f"""CREATE TEMPORARY VIEW j_orders AS
        SELECT x.`{LINE}`, COALESCE(x.r, CASE WHEN d.n > 1 THEN {quote(DUPLICATE_ORDER)} END) AS reason,
               x.order_id, x.customer_id, x.ts
        FROM {orders("x")}
        LEFT JOIN (SELECT order_id, COUNT(*) AS n FROM {orders("y")} WHERE r IS NULL GROUP BY order_id) AS d
        ON x.r IS NULL AND x.order_id = d.order_id"""
    )
    by_kind.append(
        f"""CREATE TEMPORARY VIEW j_order_lines AS
        SELECT l.*, COALESCE(l.r, CASE WHEN o.order_id IS NULL THEN {quote(ORPHAN_LINE)} END) AS reason,
               o.customer_id, o.ts
        FROM (SELECT * FROM ({judged("order_lines", day)}) AS x({LINE}, r, {", ".join(columns("order_lines"))})) AS l
        LEFT JOIN (SELECT order_id, customer_id, ts FROM j_orders WHERE reason IS NULL) AS o
        ON l.order_id = o.order_id"""
    )
    accepted = [
        "CREATE TEMPORARY VIEW ok_orders AS SELECT order_id, customer_id FROM j_orders WHERE reason IS NULL",
        """CREATE TEMPORARY VIEW ok_lines AS
        SELECT order_id, customer_id, product_id, category, CAST(SUBSTRING(ts, 12, 2) AS INT) AS hr,
               CAST(quantity AS BIGINT) AS quantity,
               CAST(quantity AS BIGINT) * CAST(unit_price AS DECIMAL(10, 2)) AS amount
        FROM j_order_lines WHERE reason IS NULL""",
        "CREATE TEMPORARY VIEW ok_views AS SELECT customer_id, category FROM j_views WHERE reason IS NULL",
        """CREATE TEMPORARY VIEW ok_returns AS SELECT category, CAST(quantity AS BIGINT) AS quantity
        FROM j_returns WHERE reason IS NULL""",
    ]
    return by_kind + accepted


def results_query(top_n: int) -> str:
    """Every result of the day as tagged rows (:data:`SHAPE`); :func:`to_results` sorts them into tables."""
    cats = ", ".join(f"({quote(c)})" for c in CATEGORIES)
    categories = f"(VALUES {cats}) AS c(category)"
    n = "CAST(NULL AS STRING)"
    z = "CAST(0 AS BIGINT)"
    d0 = "CAST(0 AS DECIMAL(16, 2))"
    parts = []
    for kind in KINDS:
        parts.append(
            f"SELECT 'intake', {quote(kind)}, {n}, {n}, COUNT(*), "
            f"SUM(CASE WHEN reason IS NULL THEN 1 ELSE 0 END), {z}, {z}, {d0} FROM j_{kind}"
        )
        parts.append(
            f"SELECT 'reject', {quote(kind)}, reason, {n}, COUNT(*), {z}, {z}, {z}, {d0} "
            f"FROM j_{kind} WHERE reason IS NOT NULL GROUP BY reason"
        )
    parts.append(
        f"SELECT 'revenue', category, CAST(hr AS STRING), {n}, COUNT(*), SUM(quantity), {z}, {z}, "
        "CAST(SUM(amount) AS DECIMAL(16, 2)) FROM ok_lines GROUP BY category, hr"
    )
    parts.append(
        f"""SELECT 'top', CAST(rk AS STRING), product_id, category, units, {z}, {z}, {z}, revenue FROM (
            SELECT product_id, category, units, revenue,
                   ROW_NUMBER() OVER (ORDER BY revenue DESC, product_id) AS rk
            FROM (SELECT product_id, category, SUM(quantity) AS units,
                         CAST(SUM(amount) AS DECIMAL(16, 2)) AS revenue
                  FROM ok_lines GROUP BY product_id, category)
        ) WHERE rk <= {int(top_n)}"""
    )
    parts.append(
        f"""SELECT 'conversion', c.category, {n}, {n}, COALESCE(v.n_views, 0), COALESCE(v.n_viewers, 0),
               COALESCE(o.n_orders, 0), COALESCE(b.n_converted, 0), {d0}
        FROM {categories}
        LEFT JOIN (SELECT category, COUNT(*) AS n_views, COUNT(DISTINCT customer_id) AS n_viewers
                   FROM ok_views GROUP BY category) AS v ON v.category = c.category
        LEFT JOIN (SELECT category, COUNT(DISTINCT order_id) AS n_orders FROM ok_lines GROUP BY category) AS o
               ON o.category = c.category
        LEFT JOIN (SELECT vv.category, COUNT(*) AS n_converted
                   FROM (SELECT DISTINCT category, customer_id FROM ok_views) AS vv
                   JOIN (SELECT DISTINCT category, customer_id FROM ok_lines) AS ll
                   ON vv.category = ll.category AND vv.customer_id = ll.customer_id
                   GROUP BY vv.category) AS b ON b.category = c.category"""
    )
    parts.append(
        f"""SELECT 'conversion', {quote(ALL)}, {n}, {n},
               (SELECT COUNT(*) FROM ok_views), (SELECT COUNT(DISTINCT customer_id) FROM ok_views),
               (SELECT COUNT(*) FROM ok_orders),
               (SELECT COUNT(*) FROM (SELECT DISTINCT customer_id FROM ok_views) AS vv
                WHERE vv.customer_id IN (SELECT customer_id FROM ok_orders)), {d0}"""
    )
    parts.append(
        f"""SELECT 'returns', c.category, {n}, {n}, COALESCE(r.n_returns, 0), COALESCE(r.n_units, 0),
               COALESCE(s.n_units, 0), {z}, {d0}
        FROM {categories}
        LEFT JOIN (SELECT category, COUNT(*) AS n_returns, SUM(quantity) AS n_units FROM ok_returns GROUP BY category)
               AS r ON r.category = c.category
        LEFT JOIN (SELECT category, SUM(quantity) AS n_units FROM ok_lines GROUP BY category) AS s
               ON s.category = c.category"""
    )
    parts.append(
        f"SELECT 'customer', customer_id, {n}, {n}, COUNT(*), {z}, {z}, {z}, {d0} FROM ok_orders GROUP BY customer_id"
    )
    return f"SELECT {SHAPE} FROM (\n" + "\nUNION ALL\n".join(parts) + f"\n) AS r({SHAPE})"


def to_results(rows: list[Any]) -> Results:
    """Sort the tagged rows into the :data:`jobs.ecommerce.results.TABLES` shape."""
    out = empty()
    for tag, k1, k2, k3, n1, n2, n3, n4, amount in rows:
        row: tuple[Any, ...]
        if tag == "intake":
            table, row = "ecommerce_intake", (k1, n1, n2)
        elif tag == "reject":
            table, row = "ecommerce_rejects", (k1, k2, n1)
        elif tag == "revenue":
            table, row = "ecommerce_revenue", (k1, int(k2), n1, n2, amount)
        elif tag == "top":
            table, row = "ecommerce_top_products", (int(k1), k2, k3, n1, amount)
        elif tag == "conversion":
            table, row = "ecommerce_conversion", (k1, n1, n2, n3, n4)
        elif tag == "returns":
            table, row = "ecommerce_returns", (k1, n1, n2, n3)
        else:
            table, row = "ecommerce_customer_days", (k1, n1)
        out[table].add(normalise(row))
    return out


def compute(day: date, s3: S3Settings, eco: EcommerceSettings, flink: FlinkSettings, explain: bool = False) -> Any:
    """Run the Flink job for ``day``; its :data:`Results` (or the plan, with ``explain``)."""
    s3_file_system(s3, eco)
    t_env = batch_environment(flink)
    for kind in KINDS:
        t_env.execute_sql(source_ddl(kind, f"s3://{eco.bucket}/{log_key(day, kind)}"))
    for view in views(day):
        t_env.execute_sql(view)
    query = results_query(eco.top_products)
    if explain:
        return t_env.explain_sql(query)
    with t_env.execute_sql(query).collect() as rows:
        return to_results(list(rows))


def check_files(s3: S3Settings, eco: EcommerceSettings, day: date) -> str:
    """A line naming the day's files and sizes; raise :class:`MissingLogs` if one is absent."""
    client, sizes = s3.client(), {}
    for kind in KINDS:
        key = log_key(day, kind)
        try:
            sizes[kind] = client.head_object(Bucket=eco.bucket, Key=key)["ContentLength"]
        except ClientError as err:
            raise MissingLogs(f"s3://{eco.bucket}/{key} is missing ({err.response['Error'].get('Code')})") from None
    return f"{day}: " + ", ".join(f"{kind} {size} B" for kind, size in sizes.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.ecommerce.batch", description=__doc__.splitlines()[0])
    parser.add_argument("--date", type=date.fromisoformat, required=True, help="the UTC date, YYYY-MM-DD")
    parser.add_argument("--check-only", action="store_true", help="only check that the day's files exist")
    parser.add_argument("--explain", action="store_true", help="print the Flink plan and exit")
    args = parser.parse_args(argv)
    s3, eco = load(S3Settings), load(EcommerceSettings)
    try:
        print(f"[{JOB}] files: {check_files(s3, eco, args.date)}", flush=True)
    except MissingLogs as err:
        print(f"ecommerce batch: {err}", file=sys.stderr)
        return 1
    if args.check_only:
        return 0
    pg, flink = load(PostgresSettings), load(FlinkSettings)
    if args.explain:
        print(compute(args.date, s3, eco, flink, explain=True))
        return 0
    started = time.monotonic()
    results = compute(args.date, s3, eco, flink)
    flink_seconds = time.monotonic() - started
    try:
        written = replace(pg.dsn(), args.date, results)
    except psycopg2.Error as err:
        print(f"ecommerce batch: database error, nothing changed ({err})".strip(), file=sys.stderr)
        return 1
    rows_in = sum(row[1] for row in results["ecommerce_intake"])
    print(f"[{JOB}] {args.date}: {rows_in} rows read, {written} written ({flink_seconds:.1f} s in Flink)", flush=True)
    summary(JOB, date=args.date, rows_in=rows_in, written=written, flink_seconds=round(flink_seconds, 3))
    return 0


if __name__ == "__main__":
    run(main, JOB)
