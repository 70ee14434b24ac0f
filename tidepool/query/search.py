"""``search``: one text matched against the collection's own searchable fields, as Directus does.

String and text fields match case-insensitively anywhere (``LIKE %q%`` with the query's ``%``/``_`` escaped,
so they match literally); numeric fields match by equality when the text parses as a number of that kind;
uuid fields by equality when it is a uuid. Concealed and hash fields never match (searching them would leak
them), nor do fields the caller cannot read; a field readable only on some rows matches only on those.
"""

from __future__ import annotations

import decimal
import math
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from tidepool.db.schema import FieldInfo
from tidepool.query.casting import fits
from tidepool.query.compile import ColumnExpr, Condition, Level
from tidepool.query.operators import WILD, literal_match, too_long_for_sqlite

_LIKE_ESCAPE = "\\"

Matcher = Callable[[ColumnExpr, str, FieldInfo, str], "Condition | None"]


def _like(column: ColumnExpr, query: str, field: FieldInfo, dialect: str) -> Condition | None:
    lowered = sa.func.lower(column)
    if dialect == "sqlite" and too_long_for_sqlite(query):
        return literal_match(lowered, (WILD, query.lower(), WILD), lambda v: sa.literal(v, sa.String()))
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return lowered.like(f"%{escaped.lower()}%", escape=_LIKE_ESCAPE)


def _number(cast: Callable[[str], Any]) -> Matcher:
    """Numeric fields match by equality when the text is a number the column can hold (as Directus's
    ``isNumberValid``); a number it cannot hold matches nothing instead of failing in the driver."""

    def matcher(column: ColumnExpr, query: str, field: FieldInfo, dialect: str) -> Condition | None:
        try:
            value = cast(query)
        except (ValueError, ArithmeticError):
            return None
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, decimal.Decimal) and not value.is_finite():
            return None
        if not fits(field.type, value, field.numeric_precision, field.numeric_scale):
            return None
        condition: Condition = column == value
        return condition

    return matcher


def _uuid(column: ColumnExpr, query: str, field: FieldInfo, dialect: str) -> Condition | None:
    try:
        return column == str(uuid.UUID(query))
    except ValueError:
        return None


_MATCHERS: dict[str, Matcher] = {
    "string": _like,
    "text": _like,
    "integer": _number(int),
    "bigInteger": _number(int),
    "float": _number(float),
    "decimal": _number(decimal.Decimal),
    "uuid": _uuid,
}


def search_condition(level: Level, query: str | None) -> Condition | None:
    """OR over the searchable fields; ``false`` when nothing can match (so the read returns no rows)."""
    if query is None:
        return None
    text = query.strip()
    if not text:
        return None
    terms: list[Condition] = []
    for name, info in level.info.fields.items():
        matcher = _MATCHERS.get(info.type)
        if matcher is None or info.concealed or not level.readable(name):
            continue
        term = matcher(level.column(name), text, info, level.dialect)
        if term is None:
            continue
        visible = level.field_condition(name)
        terms.append(term if visible is None else sa.and_(visible, term))
    return sa.or_(*terms) if terms else sa.false()
