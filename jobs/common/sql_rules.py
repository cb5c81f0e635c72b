"""Flink SQL pieces: the raw-message source and upsert sink DDL, intervals, literals, and the SQL twins of the
message rules of :mod:`jobs.common.rules` with two readers of a message's fields.

The streaming jobs judge messages with Brook's verdict function (:mod:`jobs.flink.verdict`: one Java call per
message). The twins below remain for e-commerce's batch job (:mod:`jobs.ecommerce.contract`), which needs a
*reason* for every refused line and composes its own ``CASE`` from them.

A source has one physical column, ``message``: the record value as one STRING (format ``raw``). Flink's JSON
*format* cannot be the judge: it reads ``"12"`` and ``12`` alike, keeps the last of duplicate keys silently and
ignores data after the object. Instead the rules run on the message text:

- the message rules are the *same regular expressions* as in Python (``REGEXP`` is ``Matcher.find``, as
  ``re.search``; ``REGEXP_REPLACE`` is ``replaceAll``, as ``re.sub``; Flink inserts the replacement literally);
- duplicate keys: Jackson keeps one value per key, so a document with duplicates loses members when re-serialised
  (``JSON_QUERY(message, '$')``): the number of ``:`` outside strings shrinks;
- each field is read *with an array wrapper* (``JSON_QUERY … WITH UNCONDITIONAL ARRAY WRAPPER``): ``["12"]`` is
  a string, ``[12]`` a number, ``[[12]]`` an array, NULL absent or null.

Two readers, one set of rules (:class:`Fields`). Flink generates code for every reference to an expression anew
(no common subexpressions) and every ``JSON_QUERY``/``JSON_VALUE`` parses the whole message. A *flat* message (one
compact object of scalars without escapes, :data:`FLAT_OBJECT`, which is what Brook's producers write) is read
instead by one ``REGEXP_SUBSTR`` per reference over the raw text: its raw tokens are exactly what Jackson would
write, so each rule gives the same answer with either reader. Flink 2.0 caches the patterns of ``REGEXP`` and
``REGEXP_SUBSTR`` but compiles those of ``REGEXP_EXTRACT`` and ``REGEXP_REPLACE`` on every call, hence
:func:`substr`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from jobs.common import rules

MESSAGE = "message"
REPLACEMENT_PATTERN = "\\ufffd"  # Java's regex reads \uFFFD: the character rules.REPLACEMENT_CHAR


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def regexp(expr: str, pattern: str) -> str:
    """Some substring of ``expr`` matches ``pattern`` (Python: ``re.search``)."""
    return f"REGEXP({expr}, {quote(pattern)})"


def full_match(expr: str, body: str) -> str:
    """The whole of ``expr`` matches ``body`` (Python: ``re.fullmatch``; ``\\z``, not ``$``: see rules)."""
    return regexp(expr, f"^(?:{body})\\z")


def substr(expr: str, pattern: str) -> str:
    """The first substring of ``expr`` matching ``pattern``, NULL if none (Python: ``re.search(...).group()``).

    ``REGEXP_SUBSTR``, not ``REGEXP_EXTRACT``: Flink 2.0 compiles REGEXP_EXTRACT's pattern on every call (as it
    does REGEXP_REPLACE's), and caches REGEXP's and REGEXP_SUBSTR's."""
    return f"REGEXP_SUBSTR({expr}, {quote(pattern)})"


def replace(expr: str, pattern: str, replacement: str) -> str:
    return f"REGEXP_REPLACE({expr}, {quote(pattern)}, {quote(replacement)})"


# --- the message --------------------------------------------------------------------------------------------------
def skeleton(column: str = MESSAGE) -> str:
    """Twin of :func:`rules.skeleton`."""
    return replace(replace(column, rules.ANY_ESCAPE, ""), rules.STRING_TOKEN, '""')


def collapsed(skel: str) -> str:
    """Twin of :func:`rules.collapsed` (always MAX_DEPTH passes; Python stops early when nothing changes)."""
    for _ in range(rules.MAX_DEPTH):
        skel = replace(skel, rules.INNERMOST, "0")
    return skel


def _colons(expr: str) -> str:
    return f"CHAR_LENGTH({replace(expr, '[^:]', '')})"


def unique_keys(column: str = MESSAGE) -> str:
    """Twin of the duplicate-key rule of :func:`rules.loads` (see the module docstring)."""
    canonical = f"JSON_QUERY({column}, '$')"
    return f"{_colons(skeleton(column))} = {_colons(skeleton(canonical))}"


# --- fields -------------------------------------------------------------------------------------------------------
def wrapped(name: str, column: str = MESSAGE) -> str:
    """Field ``name`` serialised by Jackson inside ``[...]``: its JSON type is visible; NULL if absent or null, or
    if the message is not a JSON object."""
    return f"JSON_QUERY({column}, {quote('$.' + name)} WITH UNCONDITIONAL ARRAY WRAPPER)"


def string_matching(field: str, body: str) -> str:
    """Twin of :func:`rules.matching`: a JSON string whose whole value matches ``body``.

    ``body`` must only match characters Jackson writes unescaped (not ``"``, ``\\`` or controls): then the
    serialised string is the value itself."""
    return full_match(field, f'\\["(?:{body})"\\]')


def text_value(name: str, column: str = MESSAGE) -> str:
    """The unescaped value of a string field."""
    return f"JSON_VALUE({column}, {quote('$.' + name)})"


# --- two readers of the same fields ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fields:
    """How a predicate reads field ``name``: ``wrapped`` (its JSON serialisation inside ``[...]``, NULL if absent
    or null) and ``text`` (the unescaped value of a string field).

    Flink generates code for every reference to an expression anew (no common subexpressions), so each reference
    costs what the reader costs: a JSON parse per reference for :data:`JSON_FIELDS`, one regular expression over
    the message for :data:`FLAT_FIELDS`. A rule is written once and applied with either reader."""

    wrapped: Callable[[str], str]
    text: Callable[[str], str]


JSON_FIELDS = Fields(wrapped=wrapped, text=text_value)

# A *flat* message: one compact JSON object of scalar members (no whitespace between tokens, as ``rules.encode``
# writes), strings without escapes or control characters, numbers in JSON's own grammar, at most FLAT_MAX
# characters. For such a message the rules can read the raw text directly, and every raw token is what Jackson would
# write (no escape or space to differ on):
FLAT_STRING = '"[^"\\\\\\u0000-\\u001f]*"'
FLAT_NUMBER = "-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"
FLAT_SCALAR = f"(?:{FLAT_STRING}|{FLAT_NUMBER}|true|false|null)"
_MEMBER = f"{FLAT_STRING}:{FLAT_SCALAR}"
FLAT_OBJECT = f"\\{{(?:{_MEMBER}(?:,{_MEMBER})*)?\\}}"
# Two members with the same key (keys without escapes compare as text); anchored, so keys align with members.
FLAT_DUPLICATE = f"^\\{{(?:{_MEMBER},)*?({FLAT_STRING}):{FLAT_SCALAR}(?:,{_MEMBER})*?,\\1:"
FLAT_MAX = 2048  # Java's regex recurses once per repeated group: bounded input, bounded stack
# Cheap necessary shape (character classes only, no recursion): one "{", no "[", no backslash.
_FLAT_SHAPE = "^[^{\\[\\\\]*\\{[^{\\[\\\\]*\\z"


def _flat_member(name: str, value: str, column: str, skip: str = "") -> str:
    """The value of member ``name`` of a flat message: in one, ``"name":`` is always that key (a string value is
    followed by ``,`` or ``}``, and no string holds a ``"``), and keys are unique. The pattern starts with the key,
    a literal Java finds fast; the value is what follows the key (and ``skip``, a literal start of ``value``)."""
    if not re.fullmatch("[a-z_]+", name):
        raise ValueError(f"field name {name!r}: the flat reader only takes [a-z_]+ names")
    key = f'"{name}":'
    return f"SUBSTRING({substr(column, key + skip + value)} FROM {len(key + skip) + 1})"


def flat_shape(column: str = MESSAGE) -> str:
    """True when ``column`` may be flat: one ``{``, no ``[``, no backslash. For a message the contract accepted,
    this alone makes the flat reader exact (it is valid JSON with unique keys)."""
    return regexp(column, _FLAT_SHAPE)


def flat(column: str = MESSAGE) -> str:
    """``column`` is a flat JSON object (see FLAT_OBJECT): the shape, the length bound, then the grammar."""
    return (
        f"CASE WHEN {flat_shape(column)} AND CHAR_LENGTH({column}) <= {FLAT_MAX} "
        f"THEN {full_match(column, FLAT_OBJECT)} ELSE FALSE END"
    )


_FLAT_TOKEN = f"(?:{FLAT_STRING}|{FLAT_NUMBER}|true|false)"  # null reads as absent, as in JSON_QUERY


def _flat_wrapped(name: str, column: str = MESSAGE) -> str:
    """Jackson's ``[value]`` of a flat message's member: its raw token, which is how Jackson writes it."""
    return f"CONCAT('[', {_flat_member(name, _FLAT_TOKEN, column)}, ']')"


def _flat_text(name: str, column: str = MESSAGE) -> str:
    """The value of a flat message's string member: its raw text (a flat string has no escapes)."""
    return _flat_member(name, '[^"]*', column, skip='"')


FLAT_FIELDS = Fields(wrapped=_flat_wrapped, text=_flat_text)


def read(value: Callable[[Fields], str], column: str = MESSAGE) -> str:
    """A field value of a message the contract accepted, read with the cheapest exact reader.

    An accepted message of :func:`flat_shape` is a flat object, perhaps with spaces: the flat reader finds its
    members unless spaces surround the ``:`` (then NULL, and the JSON reader reads it; accepted fields are never
    NULL)."""
    flat_value = value(FLAT_FIELDS)  # read twice, but cheap; CASE is lazy where COALESCE may not be
    return (
        f"CASE WHEN {flat_shape(column)} AND {flat_value} IS NOT NULL THEN {flat_value} ELSE {value(JSON_FIELDS)} END"
    )


# --- event time ---------------------------------------------------------------------------------------------------


# --- sources ------------------------------------------------------------------------------------------------------
def interval(seconds: int) -> str:
    """A Flink SQL interval literal of any length: ``INTERVAL 'n' SECOND`` is capped at 99 s (SECOND(2))."""
    days, rest = divmod(seconds, 86_400)
    return f"INTERVAL '{days} {rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}' DAY TO SECOND"


_JSON_OPTION = re.compile(r"\n  'json\.[^']*' = '[^']*',?")
_FORMAT = "'format' = 'json'"


def raw_value(with_clause: str) -> str:
    """A Kafka source WITH clause (``jobs.flink.environment``) reading the value as one raw UTF-8 STRING."""
    if _FORMAT not in with_clause and "'format' = 'raw'" not in with_clause:
        raise ValueError("expected a Kafka source with format 'json' or 'raw'")
    clause = _JSON_OPTION.sub("", with_clause.replace(_FORMAT, "'format' = 'raw'"))
    return clause.replace(",\n)", "\n)")


def raw_source_ddl(
    name: str, with_clause: str, ts: str, watermark_delay_seconds: int, metadata: tuple[str, ...] = ()
) -> str:
    """A Kafka source of raw messages whose event-time attribute ``ts`` is the expression ``ts`` over them, with
    the watermark ``watermark_delay_seconds`` behind it."""
    extra = "".join(f"  {column},\n" for column in metadata)
    return (
        f"CREATE TEMPORARY TABLE {name} (\n  `{MESSAGE}` STRING,\n{extra}  ts AS {ts},\n"
        f"  WATERMARK FOR ts AS ts - {interval(watermark_delay_seconds)}\n) {raw_value(with_clause)}"
    )


def upsert_sink_ddl(table: str, columns: Iterable[tuple[str, str]], key: Iterable[str], with_clause: str) -> str:
    """The Flink sink ``sink_<table>`` of one result table: its Postgres columns (name, Flink type) and primary key,
    so the JDBC connector upserts (a replayed window overwrites its row instead of failing on the key)."""
    body = ",\n  ".join(f"`{name}` {kind}" for name, kind in columns)
    keys = ", ".join(f"`{name}`" for name in key)
    return f"CREATE TEMPORARY TABLE sink_{table} (\n  {body},\n  PRIMARY KEY ({keys}) NOT ENFORCED\n) {with_clause}"
