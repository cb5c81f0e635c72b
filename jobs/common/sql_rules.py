"""The Flink SQL twins of :mod:`jobs.common.rules`: each rule once, as a SQL expression over the raw message.

A pipeline's Kafka source has one physical column, ``message``: the record value as one STRING (format ``raw``).
Flink's JSON *format* cannot be the judge: it reads ``"12"`` and ``12`` alike, keeps the last of duplicate keys
silently and ignores data after the object. Instead the rules run on the message text:

- the message rules are the *same regular expressions* as in Python (``REGEXP`` is ``Matcher.find``, as
  ``re.search``; ``REGEXP_REPLACE`` is ``replaceAll``, as ``re.sub``; Flink inserts the replacement literally);
- duplicate keys: Jackson keeps one value per key, so a document with duplicates loses members when re-serialised
  (``JSON_QUERY(message, '$')``): the number of ``:`` outside strings shrinks;
- each field is read *with an array wrapper* (``JSON_QUERY … WITH UNCONDITIONAL ARRAY WRAPPER``): ``["12"]`` is
  a string, ``[12]`` a number, ``[[12]]`` an array, NULL absent or null. Flink's JSON functions read numbers as
  ``BigDecimal``, so the text is exact;
- numbers are compared as ``DECIMAL(38, 24)`` on both sides of every comparison (Flink compares decimals of
  different scales in a common type that may round), and ``TRY_CAST`` never fails a job on a row.

Two readers, one set of rules (:class:`Fields`). Flink generates code for every reference to an expression anew
(no common subexpressions) and every ``JSON_QUERY``/``JSON_VALUE`` parses the whole message, so reading each field
through Jackson cost ~50 parses per message. A *flat* message (one compact object of scalars without escapes,
:data:`FLAT_OBJECT`, which is what Brook's producers write) is read instead by one ``REGEXP_SUBSTR`` per reference
over the raw text: its raw tokens are exactly what Jackson would write, so each rule gives the same answer with
either reader. :func:`verdict` picks the reader per message (``CASE`` evaluates only the branch taken); every other
message still goes through Jackson. Flink 2.0 caches the patterns of ``REGEXP`` and ``REGEXP_SUBSTR`` but compiles
those of ``REGEXP_EXTRACT`` and ``REGEXP_REPLACE`` on every call, hence :func:`substr`.

A pipeline's contract composes these into its field rules; :func:`source_ddl` computes the event-time attribute
only for events that pass them (others get -1 ms), so an invalid event can never move the watermark.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from jobs.common import rules

MESSAGE = "message"
DECIMAL = "DECIMAL(38, 24)"  # 14 integer digits: above every bound of every contract; 24 decimals
REJECTED_MS = -1  # the rowtime of an invalid event: before TIME_MIN, so "accepted" is ts >= epoch 0
REPLACEMENT_PATTERN = "\\ufffd"  # Java's regex reads \uFFFD: the character rules.REPLACEMENT_CHAR


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def all_of(predicates: Iterable[str]) -> str:
    return " AND ".join(f"({p})" for p in predicates)


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


def lexical_ok(column: str = MESSAGE) -> str:
    """Twin of :func:`rules.decode` (U+FFFD) and :func:`rules.lexical`."""
    skel = skeleton(column)
    return all_of(
        [
            "NOT " + regexp(column, REPLACEMENT_PATTERN),
            f"NOT {regexp(replace(column, rules.NON_U_ESCAPE, ''), rules.BAD_ESCAPE)}",
            f"NOT {regexp(skel, rules.LONG_NUMBER)}",
            full_match(collapsed(skel), rules.ONE_VALUE),
        ]
    )


def _colons(expr: str) -> str:
    return f"CHAR_LENGTH({replace(expr, '[^:]', '')})"


def unique_keys(column: str = MESSAGE) -> str:
    """Twin of the duplicate-key rule of :func:`rules.loads` (see the module docstring)."""
    canonical = f"JSON_QUERY({column}, '$')"
    return f"{_colons(skeleton(column))} = {_colons(skeleton(canonical))}"


def message_ok(column: str = MESSAGE) -> str:
    """Everything :func:`rules.loads` checks before fields are read. A non-object root leaves every field NULL."""
    return all_of([lexical_ok(column), unique_keys(column)])


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


def string_value(field: str) -> str:
    """The value of a string field checked with :func:`string_matching` or :func:`one_of`."""
    return substr(field, '(?<=^\\[").*(?="\\]\\z)')


def one_of(field: str, values: tuple[str, ...]) -> str:
    """Twin of :func:`rules.one_of` (values with no character Jackson escapes)."""
    literals = ", ".join(quote('["' + value + '"]') for value in values)
    return f"{field} IN ({literals})"


def is_string(field: str) -> str:
    return f"SUBSTRING({field} FROM 1 FOR 2) = '[\"'"


def text(name: str, fields: Fields | None = None) -> str:
    """Twin of :func:`rules.text`."""
    fields = fields or JSON_FIELDS
    value = fields.text(name)
    return all_of([is_string(fields.wrapped(name)), full_match(value, rules.TEXT_BODY), regexp(value, rules.NOT_BLANK)])


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


def flat_message_ok(column: str = MESSAGE) -> str:
    """:func:`message_ok` for a message known to be :func:`flat`: it is one JSON value nested once, without
    escapes, so what is left of the message rules is U+FFFD, long numbers and duplicate keys."""
    return all_of(
        [
            "NOT " + regexp(column, REPLACEMENT_PATTERN),
            "NOT " + regexp(replace(column, rules.STRING_TOKEN, '""'), rules.LONG_NUMBER),  # the skeleton: no escapes
            "NOT " + regexp(column, FLAT_DUPLICATE),
        ]
    )


_FLAT_TOKEN = f"(?:{FLAT_STRING}|{FLAT_NUMBER}|true|false)"  # null reads as absent, as in JSON_QUERY


def _flat_wrapped(name: str, column: str = MESSAGE) -> str:
    """Jackson's ``[value]`` of a flat message's member: its raw token, which is how Jackson writes it."""
    return f"CONCAT('[', {_flat_member(name, _FLAT_TOKEN, column)}, ']')"


def _flat_text(name: str, column: str = MESSAGE) -> str:
    """The value of a flat message's string member: its raw text (a flat string has no escapes)."""
    return _flat_member(name, '[^"]*', column, skip='"')


FLAT_FIELDS = Fields(wrapped=_flat_wrapped, text=_flat_text)


def verdict(field_rules: Callable[[Fields], str], then: Callable[[Fields], str], column: str = MESSAGE) -> str:
    """``then`` (read with the fitting reader) when the message passes the message rules and ``field_rules``, else
    NULL. Flat messages take the regex reader, all others the JSON one; both apply the same rules, and Flink
    evaluates only the branch taken."""

    def branch(message: str, fields: Fields) -> str:
        return f"CASE WHEN {all_of([message, field_rules(fields)])} THEN {then(fields)} END"

    flat_branch = branch(flat_message_ok(column), FLAT_FIELDS)
    json_branch = branch(message_ok(column), JSON_FIELDS)
    return f"CASE WHEN {flat(column)} THEN {flat_branch} ELSE {json_branch} END"


def valid(field_rules: Callable[[Fields], str], column: str = MESSAGE) -> str:
    """The contract as one predicate: the message rules and ``field_rules`` hold (never NULL)."""
    return f"({verdict(field_rules, lambda _: 'TRUE', column)}) IS TRUE"


def read(value: Callable[[Fields], str], column: str = MESSAGE) -> str:
    """A field value of a message the contract accepted, read with the cheapest exact reader.

    An accepted message of :func:`flat_shape` is a flat object, perhaps with spaces: the flat reader finds its
    members unless spaces surround the ``:`` (then NULL, and the JSON reader reads it; accepted fields are never
    NULL)."""
    flat_value = value(FLAT_FIELDS)  # read twice, but cheap; CASE is lazy where COALESCE may not be
    return (
        f"CASE WHEN {flat_shape(column)} AND {flat_value} IS NOT NULL THEN {flat_value} ELSE {value(JSON_FIELDS)} END"
    )


def is_number(field: str) -> str:
    """Twin of :func:`rules.number`'s type check: a JSON number, not a string holding one."""
    return full_match(field, f"\\[{rules.NUMBER_BODY}\\]")


def number_text(field: str) -> str:
    return substr(field, "(?<=^\\[).*(?=\\]\\z)")


def decimal(field: str) -> str:
    """The number of a field as DECIMAL(38, 24); NULL when it does not fit (never an error)."""
    return f"TRY_CAST({number_text(field)} AS {DECIMAL})"


def literal(value: Decimal | int) -> str:
    return f"CAST({quote(str(value))} AS {DECIMAL})"


def bounded(field: str, low: Decimal | int, high: Decimal | int, low_inclusive: bool = True) -> str:
    """Twin of :func:`rules.bounded`."""
    value = decimal(field)
    return f"{value} {'>=' if low_inclusive else '>'} {literal(low)} AND {value} <= {literal(high)}"


def places(field: str, most: int) -> str:
    """Twin of :func:`rules.places`, exact: a value with digits beyond 24 decimals is below 1e-9 (at most 15
    digits), so it either has more than ``most`` decimals after rounding too, or rounds to 0, and is then refused
    unless its text is a zero."""
    value = decimal(field)
    return (
        f"{value} = CAST(CAST({value} AS DECIMAL(38, {most})) AS {DECIMAL}) AND "
        f"({value} <> {literal(0)} OR {full_match(number_text(field), rules.ZERO_BODY)})"
    )


def number(field: str, low: Decimal | int, high: Decimal | int, most: int, low_inclusive: bool = True) -> str:
    """A JSON number within bounds with at most ``most`` decimals."""
    return all_of([is_number(field), bounded(field, low, high, low_inclusive), places(field, most)])


# --- event time ---------------------------------------------------------------------------------------------------
_DAYS_BEFORE_MONTH = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


def _part(text: str, start: int, length: int) -> str:
    return f"TRY_CAST(SUBSTRING({text} FROM {start} FOR {length}) AS BIGINT)"


def _days(text: str) -> str:
    """Days since 1970-01-01 of a valid yyyy-mm-dd, in integer arithmetic (no lenient date parser involved).

    Valid years are 1969..2100; in that range a year is leap iff divisible by 4, except 2100, whose valid
    instants are all refused by the range check anyway."""
    year, month = _part(text, 1, 4), _part(text, 6, 2)
    before = " ".join(f"WHEN {n} THEN {days}" for n, days in enumerate(_DAYS_BEFORE_MONTH, start=1))
    return (
        f"(({year} - 1970) * 365 + ({year} - 1969) / 4 + CASE {month} {before} END + "
        f"CASE WHEN {month} > 2 AND MOD({year}, 4) = 0 THEN 1 ELSE 0 END + {_part(text, 9, 2)} - 1)"
    )


def _offset_minutes(text: str) -> str:
    hours = "TRY_CAST(" + substr(text, "[0-9]{2}(?=:[0-9]{2}\\z)") + " AS BIGINT)"
    minutes = "TRY_CAST(" + substr(text, "[0-9]{2}\\z") + " AS BIGINT)"
    sign = f"CASE WHEN REGEXP({text}, '-[0-9]{{2}}:[0-9]{{2}}$') THEN -1 ELSE 1 END"
    return f"(CASE WHEN {text} LIKE '%Z' THEN 0 ELSE {sign} * ({hours} * 60 + {minutes}) END)"


def epoch_ms(text: str) -> str:
    """Milliseconds since the epoch (UTC) of a valid event-time text; fraction digits beyond 3 are truncated.

    Truncation keeps the window of every event equal to Python's: windows are whole seconds, and Python's
    microseconds floor into the same second as Flink's milliseconds."""
    fraction = "COALESCE(" + substr(text, "(?<=\\.)[0-9]+") + ", '')"
    millis = f"TRY_CAST(SUBSTRING(RPAD({fraction}, 3, '0') FROM 1 FOR 3) AS BIGINT)"
    return (
        f"({_days(text)} * 86400000 + {_part(text, 12, 2)} * 3600000 + {_part(text, 15, 2)} * 60000 + "
        f"{_part(text, 18, 2)} * 1000 + {millis} - {_offset_minutes(text)} * 60000)"
    )


def event_time(name: str = "event_time", fields: Fields | None = None) -> str:
    """Twin of :func:`rules.event_time`: a string matching the pattern (calendar-valid), then the UTC range."""
    fields = fields or JSON_FIELDS
    low, high = (int(t.timestamp() * 1000) for t in (rules.TIME_MIN, rules.TIME_MAX))
    millis = epoch_ms(fields.text(name))
    return all_of(
        [string_matching(fields.wrapped(name), rules.EVENT_TIME_BODY), f"{millis} BETWEEN {low} AND {high - 1}"]
    )


# --- sources ------------------------------------------------------------------------------------------------------
def interval(seconds: int) -> str:
    """A Flink SQL interval literal of any length: ``INTERVAL 'n' SECOND`` is capped at 99 s (SECOND(2))."""
    days, rest = divmod(seconds, 86_400)
    return f"INTERVAL '{days} {rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}' DAY TO SECOND"


def event_ts(field_rules: Callable[[Fields], str], time_name: str = "event_time") -> str:
    """The event-time attribute: the event's time if the contract holds, else -1 ms (never NULL, never a window)."""
    valid_ms = verdict(field_rules, lambda fields: epoch_ms(fields.text(time_name)))
    return f"TO_TIMESTAMP_LTZ(COALESCE({valid_ms}, {REJECTED_MS}), 3)"


def accepted(ts: str = "ts") -> str:
    """Rows whose event-time attribute says the contract accepted them (see :func:`event_ts`)."""
    return f"{ts} >= TO_TIMESTAMP_LTZ(0, 3)"


_JSON_OPTION = re.compile(r"\n  'json\.[^']*' = '[^']*',?")
_FORMAT = "'format' = 'json'"


def raw_value(with_clause: str) -> str:
    """A Kafka source WITH clause (``jobs.flink.environment``) reading the value as one raw UTF-8 STRING."""
    if _FORMAT not in with_clause and "'format' = 'raw'" not in with_clause:
        raise ValueError("expected a Kafka source with format 'json' or 'raw'")
    clause = _JSON_OPTION.sub("", with_clause.replace(_FORMAT, "'format' = 'raw'"))
    return clause.replace(",\n)", "\n)")


def source_ddl(
    name: str,
    with_clause: str,
    field_rules: Callable[[Fields], str],
    watermark_delay_seconds: int,
    metadata: tuple[str, ...] = (),
) -> str:
    """A Kafka source of raw messages with the event-time attribute ``ts`` (-1 ms unless the message rules and
    ``field_rules`` hold).

    ``metadata`` adds Kafka metadata columns, e.g. ``("`offset` BIGINT METADATA VIRTUAL",)``."""
    return raw_source_ddl(name, with_clause, event_ts(field_rules), watermark_delay_seconds, metadata)


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
