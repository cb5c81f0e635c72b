"""The e-commerce day-log contract (seed 003, docs/ecommerce.md): four kinds of rows, their rules, and the rules'
Flink SQL twin.

A day's logs are four JSON-lines files in the pipeline's bucket, ``logs/YYYY-MM-DD/<kind>.jsonl``, one JSON object
per line, **every value a JSON string** (so a price is ``"12.30"``, exact, never a binary float; and every reader,
Flink's ``json`` format and pyarrow's, reads every column as STRING and judges it here):

| kind | fields |
|---|---|
| ``orders`` | ``order_id``, ``customer_id``, ``ts`` |
| ``order_lines`` | ``order_id``, ``line_no``, ``product_id``, ``category``, ``quantity``, ``unit_price`` |
| ``views`` | ``view_id``, ``customer_id``, ``product_id``, ``category``, ``ts`` |
| ``returns`` | ``return_id``, ``order_id``, ``product_id``, ``category``, ``quantity``, ``ts`` |

A row is rejected with the reason of its first broken rule, in :data:`RULES`' order (one reason per row, so
rejected rows add up); an order line is also rejected (``orphan_line``) when its order is not an accepted order of
the same day. Every rule is one regular expression, used by Python (``re.fullmatch``, :func:`reason`) and by Flink
(``REGEXP`` anchored with ``\\z``, :func:`reason_sql`): one definition, two judges. A line that is not a JSON object
at all fails the batch (Flink's ``json`` format with ``ignore-parse-errors`` off) instead of vanishing uncounted.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from jobs.common import rules
from jobs.common import sql_rules as sql

KINDS = ("orders", "order_lines", "views", "returns")
CATEGORIES = ("books", "electronics", "garden", "grocery", "home", "toys")
ALL = "ALL"  # the conversion row over every category

ID = "[a-z]{1,3}-[0-9a-z-]{1,40}"
TS = "[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z"  # UTC, second precision
QUANTITY = "[1-9][0-9]{0,3}"  # 1..9999 units
LINE_NO = "[1-9][0-9]{0,2}"
PRICE = "(?:0|[1-9][0-9]{0,7})\\.[0-9]{2}"  # exactly two decimals, below 10^8
CATEGORY = "|".join(CATEGORIES)

# (field, pattern, reason) per kind, checked in order; a missing or null field is "missing_<field>".
FIELDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "orders": (("order_id", ID, "bad_id"), ("customer_id", ID, "bad_id"), ("ts", TS, "bad_time")),
    "order_lines": (
        ("order_id", ID, "bad_id"),
        ("line_no", LINE_NO, "bad_line_no"),
        ("product_id", ID, "bad_id"),
        ("category", CATEGORY, "bad_category"),
        ("quantity", QUANTITY, "bad_quantity"),
        ("unit_price", PRICE, "bad_price"),
    ),
    "views": (
        ("view_id", ID, "bad_id"),
        ("customer_id", ID, "bad_id"),
        ("product_id", ID, "bad_id"),
        ("category", CATEGORY, "bad_category"),
        ("ts", TS, "bad_time"),
    ),
    "returns": (
        ("return_id", ID, "bad_id"),
        ("order_id", ID, "bad_id"),
        ("product_id", ID, "bad_id"),
        ("category", CATEGORY, "bad_category"),
        ("quantity", QUANTITY, "bad_quantity"),
        ("ts", TS, "bad_time"),
    ),
}
OTHER_DAY = "other_day"  # a well-formed ts outside the file's date
ORPHAN_LINE = "orphan_line"  # an order line whose order is not an accepted order of the day
_COMPILED = {kind: tuple((name, rules.full(body), why) for name, body, why in specs) for kind, specs in FIELDS.items()}


def columns(kind: str) -> tuple[str, ...]:
    """The fields of ``kind``, in file order."""
    return tuple(name for name, _, _ in FIELDS[kind])


def reason(kind: str, row: dict[str, Any], day: date) -> str | None:
    """Why ``row`` (one decoded line of ``kind`` in ``day``'s folder) is rejected, or None when it is accepted.

    Not the ``orphan_line`` rule, which needs the day's orders (:func:`orphan`)."""
    for name, pattern, why in _COMPILED[kind]:
        value = row.get(name)
        if value is None:
            return f"missing_{name}"
        if not isinstance(value, str) or not pattern.fullmatch(value):
            return why
    if "ts" in row and row["ts"][:10] != day.isoformat():
        return OTHER_DAY
    return None


def reason_sql(kind: str, day: date) -> str:
    """The Flink SQL twin of :func:`reason`: a CASE yielding the reason, NULL when the row is accepted."""
    arms = []
    for name, body, why in FIELDS[kind]:
        arms.append(f"WHEN `{name}` IS NULL THEN {sql.quote('missing_' + name)}")
        arms.append(f"WHEN NOT {sql.full_match(f'`{name}`', body)} THEN {sql.quote(why)}")
    if "ts" in columns(kind):
        arms.append(f"WHEN SUBSTRING(`ts`, 1, 10) <> {sql.quote(day.isoformat())} THEN {sql.quote(OTHER_DAY)}")
    return "CASE " + " ".join(arms) + " ELSE CAST(NULL AS STRING) END"


def hour(ts: str) -> int:
    """The UTC hour of an accepted ``ts``."""
    return int(ts[11:13])


def log_key(day: date, kind: str) -> str:
    """The object key of ``kind``'s file for ``day`` (the folder is ``logs/YYYY-MM-DD/``)."""
    return f"{day_prefix(day)}{kind}.jsonl"


def day_prefix(day: date) -> str:
    return f"logs/{day.isoformat()}/"
