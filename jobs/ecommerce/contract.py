"""The e-commerce day-log contract (seed 003, docs/ecommerce.md): four kinds of rows, their rules, and the rules'
Flink SQL twin.

A day's logs are four JSON-lines files in the pipeline's bucket, ``logs/YYYY-MM-DD/<kind>.jsonl``, one JSON object
per line (lines end at ``\n``), **every value a JSON string** (so a price is ``"12.30"``, exact, never a binary
float; ``"quantity": 3`` is a number, not a string, and is rejected):

| kind | fields |
|---|---|
| ``orders`` | ``order_id``, ``customer_id``, ``ts`` |
| ``order_lines`` | ``order_id``, ``line_no``, ``product_id``, ``category``, ``quantity``, ``unit_price`` |
| ``views`` | ``view_id``, ``customer_id``, ``product_id``, ``category``, ``ts`` |
| ``returns`` | ``return_id``, ``order_id``, ``product_id``, ``category``, ``quantity``, ``ts`` |

Every line gets one verdict, the same from every judge (docs/design.md, "Contract rules"): first the platform's
message rules (:mod:`jobs.common.rules`: ``invalid_json`` for bytes that are not UTF-8, bad escapes, nesting, not
one JSON value, duplicate keys; ``bad_value`` for a number beyond 15 digits or an exponent beyond ±99;
``not_object`` for a JSON value that is not an object), then the field rules in :data:`FIELDS`' order (the reason
of the first broken one, so rejected lines add up); an order is also rejected (``duplicate_order``) when another
order of the day that passes the field rules has its ``order_id``, and an order line (``orphan_line``) when its
order is not an accepted order of the same day. Python judges the decoded line (:func:`judge`); Flink reads each
line as raw text and applies the same message rules (:mod:`jobs.common.sql_rules`) and each field rule on the
field's JSON serialisation, which shows its type (``["3"]`` a string, ``[3]`` a number: :func:`judge_sql`). Every
field rule is one regular expression used by both (``re.fullmatch``; ``REGEXP`` anchored with ``\\z``). No line
can fail the batch: a line that is not JSON is a rejected line with its reason.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from jobs.common import rules
from jobs.common import sql_rules as sql
from jobs.common.rules import InvalidEvent

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
NOT_OBJECT = "not_object"  # a JSON line that is not an object
OTHER_DAY = "other_day"  # a well-formed ts outside the file's date
ORPHAN_LINE = "orphan_line"  # an order line whose order is not an accepted order of the day
# Every order whose order_id is on more than one order that passes the field rules: which copy is "the" order is
# undecidable, and joining lines to both would count the lines twice (the recount keys orders by id).
DUPLICATE_ORDER = "duplicate_order"
_COMPILED = {kind: tuple((name, rules.full(body), why) for name, body, why in specs) for kind, specs in FIELDS.items()}


def columns(kind: str) -> tuple[str, ...]:
    """The fields of ``kind``, in file order."""
    return tuple(name for name, _, _ in FIELDS[kind])


def reason(kind: str, row: dict[str, Any], day: date) -> str | None:
    """Why ``row`` (one decoded line of ``kind`` in ``day``'s folder) is rejected by the field rules, or None.

    Not the ``duplicate_order`` and ``orphan_line`` rules, which need the day's orders."""
    for name, pattern, why in _COMPILED[kind]:
        value = row.get(name)
        if value is None:
            return f"missing_{name}"
        if not isinstance(value, str) or not pattern.fullmatch(value):
            return why
    if "ts" in columns(kind) and row["ts"][:10] != day.isoformat():
        return OTHER_DAY
    return None


def judge(kind: str, line: bytes, day: date) -> tuple[str | None, dict[str, Any] | None]:
    """The verdict on one raw line (without its ``\\n``): (reason, None) when rejected, (None, row) when accepted.

    The message rules of :func:`jobs.common.rules.loads` first, then :func:`reason`."""
    try:
        row = rules.loads(line)
    except InvalidEvent as err:
        return err.code, None
    if not isinstance(row, dict):
        return NOT_OBJECT, None
    why = reason(kind, row, day)
    return (why, None) if why is not None else (None, row)


LINE = sql.MESSAGE  # the one column of Flink's raw source: a line as text (the platform's readers' column)


def _field_arms(kind: str, day: date, fields: sql.Fields) -> list[str]:
    arms = []
    for name, body, why in FIELDS[kind]:
        arms.append(f"WHEN {fields.wrapped(name)} IS NULL THEN {sql.quote('missing_' + name)}")
        arms.append(f"WHEN NOT {sql.string_matching(fields.wrapped(name), body)} THEN {sql.quote(why)}")
    if "ts" in columns(kind):
        ts = f"SUBSTRING({fields.text('ts')} FROM 1 FOR 10)"
        arms.append(f"WHEN {ts} <> {sql.quote(day.isoformat())} THEN {sql.quote(OTHER_DAY)}")
    return arms


def _case(arms: list[str]) -> str:
    return "CASE " + " ".join(arms) + " ELSE CAST(NULL AS STRING) END"


def judge_sql(kind: str, day: date) -> str:
    """The Flink SQL twin of :func:`judge` over the raw line ``column``: the reason, NULL when accepted.

    The message rules in :func:`jobs.common.rules.loads`' order; a flat line (:func:`jobs.common.sql_rules.flat`,
    what the generator writes) is then read with the regex reader, any other with Jackson (``JSON_QUERY``)."""
    column, invalid, number = LINE, sql.quote("invalid_json"), sql.quote("bad_value")
    skel = sql.skeleton(column)
    space_then = f"^{rules.JSON_SPACE}*"
    flat = _case(
        [
            f"WHEN {sql.regexp(column, sql.REPLACEMENT_PATTERN)} THEN {invalid}",
            f"WHEN {sql.regexp(sql.replace(column, rules.STRING_TOKEN, chr(34) * 2), rules.LONG_NUMBER)} THEN {number}",
            f"WHEN {sql.regexp(column, sql.FLAT_DUPLICATE)} THEN {invalid}",
            *_field_arms(kind, day, sql.FLAT_FIELDS),
        ]
    )
    other = _case(
        [
            f"WHEN {sql.regexp(column, sql.REPLACEMENT_PATTERN)} THEN {invalid}",
            f"WHEN {sql.regexp(sql.replace(column, rules.NON_U_ESCAPE, ''), rules.BAD_ESCAPE)} THEN {invalid}",
            f"WHEN {sql.regexp(skel, rules.LONG_NUMBER)} THEN {number}",
            f"WHEN NOT {sql.full_match(sql.collapsed(skel), rules.ONE_VALUE)} THEN {invalid}",
            f"WHEN ({column} IS JSON) IS NOT TRUE THEN {invalid}",  # Jackson's parse: what json.loads refuses
            f"WHEN {sql.regexp(column, space_then + '[{[]')} AND ({sql.unique_keys(column)}) IS NOT TRUE "
            f"THEN {invalid}",
            f"WHEN NOT {sql.regexp(column, space_then + '[{]')} THEN {sql.quote(NOT_OBJECT)}",
            *_field_arms(kind, day, sql.JSON_FIELDS),
        ]
    )
    return f"CASE WHEN {sql.flat(column)} THEN {flat} ELSE {other} END"


def value_sql(name: str) -> str:
    """The value of string field ``name`` of a line :func:`judge_sql` accepted (the cheapest exact reader)."""
    return sql.read(lambda fields: fields.text(name), LINE)


def hour(ts: str) -> int:
    """The UTC hour of an accepted ``ts``."""
    return int(ts[11:13])


def log_key(day: date, kind: str) -> str:
    """The object key of ``kind``'s file for ``day`` (the folder is ``logs/YYYY-MM-DD/``)."""
    return f"{day_prefix(day)}{kind}.jsonl"


def day_prefix(day: date) -> str:
    return f"logs/{day.isoformat()}/"
