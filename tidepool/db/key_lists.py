"""``column IN <keys>``: how a list of keys (or of filter values) is bound, in one place for every engine.

SQLAlchemy renders ``IN`` with one parameter per value, and every engine bounds the parameters of one
statement: asyncpg at 32,767, SQLite at its build's ``SQLITE_MAX_VARIABLE_NUMBER`` (32,766 by default since
3.32, 250,000 in Debian's build). A write by query over more rows than that (its rule check, ``before`` read,
UPDATE/DELETE and read-back bind every key), or an ``_in`` filter of as many values, was a 500. So a list is
bound as one parameter whatever its length:

- PostgreSQL: one array, ``column = ANY(:keys)`` (``<> ALL`` for ``NOT IN``), planned like the ``IN`` list;
- SQLite: one JSON array text, ``column IN (SELECT value FROM json_each(:keys))``: an index lookup per key
  (the column's affinity applies to each value, as it does to an ``IN`` list's), each value first put in the
  form its column stores by the column type's own bind processing (``_JsonList``);
- MySQL keeps the expanding ``IN``: its driver inlines the values, so there is no parameter to run out of.

Keys always take the one-parameter form (one statement text serves every count of keys, kept in a read
plan). Filter values take it only past ``LONG`` values, so the ordinary ``_in`` keeps the plain ``IN`` list
of the column's own type (the array's element type must be one PostgreSQL can build an array of).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

KEYS = "keys"
LONG = 1_000  # filter values past which a list is one parameter (the default MAX_QUERY_COMPLEXITY)
_UNBOUND: Any = object()


class _JsonList(TypeDecorator[Sequence[Any]]):
    """A list bound as one JSON array text for SQLite's ``json_each``: each value first through ``item``'s bind
    processing (a date as the text the column holds), anything JSON has no form for as its text."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, item: TypeEngine[Any]) -> None:
        super().__init__()
        self.item = item

    def process_bind_param(self, value: Sequence[Any] | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        process = self.item.dialect_impl(dialect).bind_processor(dialect)
        values = [process(v) for v in value] if process else value
        return orjson.dumps(values, default=str, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()


def _one_parameter(
    column: sa.ColumnElement[Any], dialect: str, param: sa.BindParameter[Any], negate: bool
) -> sa.ColumnElement[bool]:
    if dialect == "postgresql":
        return column != sa.all_(param) if negate else column == sa.any_(param)
    values = sa.select(sa.func.json_each(param).table_valued("value").c.value).scalar_subquery()
    return column.not_in(values) if negate else column.in_(values)


def _list_type(dialect: str, item: TypeEngine[Any]) -> TypeEngine[Any]:
    return ARRAY(item) if dialect == "postgresql" else _JsonList(item)


def keys_in(column: sa.ColumnElement[Any], dialect: str, keys: Sequence[Any] = _UNBOUND) -> sa.ColumnElement[bool]:
    """``column`` among ``keys``; without ``keys``, among the ``:keys`` bound at execution (one statement
    object for every set of keys, kept in a read plan)."""
    if dialect == "mysql":
        if keys is _UNBOUND:
            return column.in_(sa.bindparam(KEYS, expanding=True, type_=column.type))
        return column.in_(list(keys))
    list_type = _list_type(dialect, column.type)
    if keys is _UNBOUND:
        return _one_parameter(column, dialect, sa.bindparam(KEYS, type_=list_type), negate=False)
    return _one_parameter(column, dialect, sa.bindparam(None, list(keys), type_=list_type), negate=False)


def values_in(
    column: sa.ColumnElement[Any], dialect: str, values: list[Any], item: TypeEngine[Any], negate: bool = False
) -> sa.ColumnElement[bool]:
    """``column [NOT] IN values`` for a filter's list, each value bound as ``item``: one expanding parameter
    up to ``LONG`` values (and always on MySQL), one parameter past that."""
    if dialect == "mysql" or len(values) <= LONG:
        param = sa.bindparam(None, values, type_=item, expanding=True)
        return column.not_in(param) if negate else column.in_(param)
    return _one_parameter(column, dialect, sa.bindparam(None, values, type_=_list_type(dialect, item)), negate)
