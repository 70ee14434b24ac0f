"""``search``: one text matched against the collection's own searchable fields, as Directus does.

String and text fields match case-insensitively anywhere (``LIKE %q%`` with the query's ``%``/``_`` escaped,
so they match literally); numeric fields match by equality when the text parses as a number of that kind;
uuid fields by equality when it is a uuid. Concealed and hash fields never match (searching them would leak
them), nor do fields the caller cannot read; a field readable only on some rows matches only on those.
"""

from __future__ import annotations

import decimal
import uuid
from collections.abc import Callable

import sqlalchemy as sa

from tidepool.query.compile import ColumnExpr, Condition, Level

_LIKE_ESCAPE = "\\"


def _like(column: ColumnExpr, query: str) -> Condition | None:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return sa.func.lower(column).like(f"%{escaped.lower()}%", escape=_LIKE_ESCAPE)


def _integer(column: ColumnExpr, query: str) -> Condition | None:
    try:
        return column == int(query)
    except ValueError:
        return None


def _float(column: ColumnExpr, query: str) -> Condition | None:
    try:
        return column == float(query)
    except ValueError:
        return None


def _decimal(column: ColumnExpr, query: str) -> Condition | None:
    try:
        value = decimal.Decimal(query)
    except decimal.InvalidOperation:
        return None
    return column == value if value.is_finite() else None


def _uuid(column: ColumnExpr, query: str) -> Condition | None:
    try:
        return column == str(uuid.UUID(query))
    except ValueError:
        return None


_MATCHERS: dict[str, Callable[[ColumnExpr, str], Condition | None]] = {
    "string": _like,
    "text": _like,
    "integer": _integer,
    "bigInteger": _integer,
    "float": _float,
    "decimal": _decimal,
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
        term = matcher(level.column(name), text)
        if term is None:
            continue
        visible = level.field_condition(name)
        terms.append(term if visible is None else sa.and_(visible, term))
    return sa.or_(*terms) if terms else sa.false()
