"""Directus field functions: ``year(date_created)``, ``count(comments)`` ... in filter keys, groupBy, fields and
sort, and ``json(field, path)`` (a value inside a JSON field) in fields and sort.

Date parts are integers with one meaning on every engine (and in Python, for the evaluator):
``week`` is the ISO-8601 week (1-53), ``weekday`` is 0 = Sunday ... 6 = Saturday, ``timestamp`` fields are
read in UTC. ``count(o2m)`` is a correlated subquery counting the related rows (the caller passes the
related collection's read rule so a count never reveals rows the caller cannot read).

``json(field, path)`` follows Directus 12.4.1 (``helpers/fn/json``): the path is ``a.b``, ``a[0].b`` or
``[0]`` (no wildcards, ``..``, negative indexes, at most ``MAX_JSON_QUERY_DEPTH`` = 10 steps), the output key
is the call with ``.``/``[``/``]``/``,``/spaces turned into ``_`` plus ``_json`` (``json(data, a.b)`` →
``data_a_b_json``), and the value is the JSON value found there (objects and arrays included), ``null`` when
the path is missing. Each step is a bound parameter, never SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa

from tidepool.errors import InvalidQueryError

_CALL = re.compile(r"^([a-zA-Z]+)\(([^()]*)\)$")
MAX_JSON_QUERY_DEPTH = 10

DAY_PARTS = ("year", "month", "week", "day", "weekday")
TIME_PARTS = ("hour", "minute", "second")

# Function → the field types it applies to. Every function returns an integer.
FUNCTION_TYPES: dict[str, frozenset[str]] = {
    **{name: frozenset({"date", "dateTime", "timestamp"}) for name in DAY_PARTS},
    **{name: frozenset({"time", "dateTime", "timestamp"}) for name in TIME_PARTS},
    "count": frozenset({"alias"}),
    "json": frozenset({"json"}),
}
OUTPUT_TYPE = "integer"


@dataclass(frozen=True)
class FunctionCall:
    name: str
    field: str
    path: tuple[str | int, ...] = ()  # json(): the steps (keys, and ints for array indexes)
    text: str = ""  # json(): the call's argument text, for the output key

    @property
    def key(self) -> str:
        return f"{self.name}({self.text or self.field})"

    @property
    def output_key(self) -> str:
        """Directus's ``applyFunctionToColumnName``: ``date_created_year``, ``data_a_b_json``."""
        if self.name != "json":
            return f"{self.field}_{self.name}"
        slug = re.sub(r"[.\[\],\s]+", "_", self.text)
        return f"{slug}{'' if slug.endswith('_') else '_'}json"


def parse_function(key: str) -> FunctionCall | None:
    """``year(date_created)`` → FunctionCall; ``None`` for a plain field name; unknown names are errors."""
    found = _CALL.match(key)
    if found is None:
        return None
    name, field = found.group(1), found.group(2).strip()
    if name not in FUNCTION_TYPES:
        raise InvalidQueryError(f'Invalid function "{name}" used in "{key}"')
    if name == "json":
        return _json_call(field)
    return FunctionCall(name, field)


def _json_call(content: str) -> FunctionCall:
    """Directus's ``parseJsonFunction`` and ``parseJsonPath``, with its messages."""
    if not content:
        raise InvalidQueryError("Invalid json() syntax")
    field, comma, path = content.partition(",")
    if not comma:
        raise InvalidQueryError("Invalid json() syntax: requires json(field, path) format")
    field, path = field.strip(), path.strip()
    if not field:
        raise InvalidQueryError("Invalid json() syntax: missing field name")
    if not path:
        raise InvalidQueryError("Invalid json() syntax: missing path")
    return FunctionCall("json", field, json_path(path), content)


_UNSUPPORTED_PATH = re.compile(r"\[\]|\.\.|[*?@$]|\[-")
_PATH_CHARACTERS = re.compile(r"^[\w.\[\]]+$")
_PATH_STEP = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def json_path(path: str) -> tuple[str | int, ...]:
    """``a.b[0]`` → ``("a", "b", 0)``; Directus's errors for what it refuses."""
    normalized = path if path.startswith("[") else f".{path}"
    if _UNSUPPORTED_PATH.search(normalized) or not _PATH_CHARACTERS.match(normalized):
        raise InvalidQueryError("Invalid JSON path: unsupported path expression")
    depth = normalized.count(".") + normalized.count("[")
    if depth > MAX_JSON_QUERY_DEPTH:
        raise InvalidQueryError(f"JSON path depth ({depth}) exceeds allowed maximum of {MAX_JSON_QUERY_DEPTH}")
    steps: list[str | int] = []
    for index, key in _PATH_STEP.findall(normalized):
        steps.append(int(index) if index else (int(key) if key.isdigit() and str(int(key)) == key else key))
    if not steps:
        raise InvalidQueryError("Invalid JSON path: unsupported path expression")
    return tuple(steps)


def check_type(call: FunctionCall, field_type: str) -> None:
    """Directus's ``getColumn`` refusal (fields, sort, groupBy) for a function the field's type lacks."""
    if field_type not in FUNCTION_TYPES[call.name]:
        raise InvalidQueryError(f'Invalid function specified "{call.name}"')


def check_filter_type(call: FunctionCall, field_type: str, collection: str) -> None:
    """The same refusal in a filter key, worded as Directus's filter validation words it."""
    if field_type not in FUNCTION_TYPES[call.name]:
        raise InvalidQueryError(f'Invalid filter key "{call.key}" on "{collection}"')


# ------------------------------------------------------------------ SQL, per dialect

_SQLITE_FORMATS = {
    "year": "%Y",
    "month": "%m",
    "day": "%d",
    "weekday": "%w",
    "hour": "%H",
    "minute": "%M",
    "second": "%S",
}


def _sqlite(name: str, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    if name == "week":  # ISO week: day-of-year of this week's Thursday, in weeks
        thursday = sa.func.date(expr, "-3 days", "weekday 4")
        day_of_year = sa.cast(sa.func.strftime("%j", thursday), sa.Integer)
        return sa.cast((day_of_year - 1) / 7 + 1, sa.Integer)
    return sa.cast(sa.func.strftime(_SQLITE_FORMATS[name], expr), sa.Integer)


_PG_FIELDS = {"weekday": "dow"}


def _postgresql(name: str, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    return sa.cast(sa.func.floor(sa.extract(_PG_FIELDS.get(name, name), expr)), sa.Integer)


_MYSQL: dict[str, Callable[[sa.ColumnElement[Any]], sa.ColumnElement[Any]]] = {
    "year": sa.func.year,
    "month": sa.func.month,
    "day": sa.func.dayofmonth,
    "hour": sa.func.hour,
    "minute": sa.func.minute,
    "second": sa.func.second,
    "week": lambda e: sa.func.week(e, 3),
    "weekday": lambda e: sa.func.dayofweek(e) - 1,
}


def _mysql(name: str, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    return sa.cast(_MYSQL[name](expr), sa.Integer)


_DIALECTS: dict[str, Callable[[str, sa.ColumnElement[Any]], sa.ColumnElement[int]]] = {
    "sqlite": _sqlite,
    "postgresql": _postgresql,
    "mysql": _mysql,
}


def date_part(name: str, expr: sa.ColumnElement[Any], field_type: str, dialect: str) -> sa.ColumnElement[int]:
    """``name`` of a date/time column as an integer expression on ``dialect``."""
    if dialect == "postgresql" and field_type == "timestamp":
        expr = sa.func.timezone("UTC", expr)
    return _DIALECTS.get(dialect, _sqlite)(name, expr)


# ------------------------------------------------------------------ json(field, path)
# The SQL that reads a value at a path lives in ``tidepool.query.json_filter``, beside its Python twin.


def json_path_text(path: tuple[str | int, ...]) -> str:
    """``$.a.b[0]`` for SQLite and MySQL; every key is a word (``json_path`` allows nothing else)."""
    return "$" + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)


def relational_count(
    child: sa.FromClause,
    child_fk: str,
    parent_key: sa.ColumnElement[Any],
    rule: sa.ColumnElement[bool] | None = None,
) -> sa.ScalarSelect[int]:
    """``(SELECT count(*) FROM child WHERE child.fk = parent.pk [AND rule])`` correlated to the parent row."""
    condition = child.c[child_fk] == parent_key
    if rule is not None:
        condition = sa.and_(condition, rule)
    return sa.select(sa.func.count()).select_from(child).where(condition).scalar_subquery()


# ------------------------------------------------------------------ Python, for the evaluator

_PYTHON: dict[str, Callable[[Any], int]] = {
    "year": lambda v: int(v.year),
    "month": lambda v: int(v.month),
    "day": lambda v: int(v.day),
    "week": lambda v: int(v.isocalendar().week),
    "weekday": lambda v: int(v.isoweekday() % 7),
    "hour": lambda v: int(v.hour),
    "minute": lambda v: int(v.minute),
    "second": lambda v: int(v.second),
}


def python_date_part(name: str, value: date | datetime | time | None) -> int | None:
    """The same date part computed on a canonical Python value (``None`` stays ``None``)."""
    return None if value is None else _PYTHON[name](value)
