"""Directus field functions: ``year(date_created)``, ``count(comments)`` ... in filter keys, groupBy and fields.

Date parts are integers with one meaning on every engine (and in Python, for the evaluator):
``week`` is the ISO-8601 week (1-53), ``weekday`` is 0 = Sunday ... 6 = Saturday, ``timestamp`` fields are
read in UTC. ``count(o2m)`` is a correlated subquery counting the related rows (the caller passes the
related collection's read rule so a count never reveals rows the caller cannot read).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa

from tidepool.errors import InvalidQueryError

_CALL = re.compile(r"^([a-zA-Z]+)\(([^()]+)\)$")

DAY_PARTS = ("year", "month", "week", "day", "weekday")
TIME_PARTS = ("hour", "minute", "second")

# Function → the field types it applies to. Every function returns an integer.
FUNCTION_TYPES: dict[str, frozenset[str]] = {
    **{name: frozenset({"date", "dateTime", "timestamp"}) for name in DAY_PARTS},
    **{name: frozenset({"time", "dateTime", "timestamp"}) for name in TIME_PARTS},
    "count": frozenset({"alias"}),
}
OUTPUT_TYPE = "integer"


@dataclass(frozen=True)
class FunctionCall:
    name: str
    field: str

    @property
    def key(self) -> str:
        return f"{self.name}({self.field})"


def parse_function(key: str) -> FunctionCall | None:
    """``year(date_created)`` → FunctionCall; ``None`` for a plain field name; unknown names are errors."""
    found = _CALL.match(key)
    if found is None:
        return None
    name, field = found.group(1), found.group(2).strip()
    if name not in FUNCTION_TYPES:
        raise InvalidQueryError(f'Invalid function "{name}" used in "{key}"')
    return FunctionCall(name, field)


def check_type(call: FunctionCall, field_type: str) -> None:
    if field_type not in FUNCTION_TYPES[call.name]:
        raise InvalidQueryError(f'Function "{call.name}" can\'t be used on field "{call.field}" of type "{field_type}"')


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
