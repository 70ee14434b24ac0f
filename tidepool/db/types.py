"""Directus field types and SQL column types, both ways, as tables.

``sql_type_for`` gives the SQLAlchemy type a Directus field is read and written with (so the driver
converts booleans, dates and JSON on every engine). ``directus_type_of`` guesses the Directus type of a
column in a table Tidepool did not create.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from tidepool.db.schema import FieldInfo

_SQL_TYPES: dict[str, Callable[[FieldInfo], Any]] = {
    "string": lambda f: sa.String(f.max_length or 255),
    "text": lambda f: sa.Text(),
    "integer": lambda f: sa.Integer(),
    "bigInteger": lambda f: sa.BigInteger(),
    "float": lambda f: sa.Float(),
    "decimal": lambda f: sa.Numeric(f.numeric_precision or 10, f.numeric_scale or 5, asdecimal=True),
    "boolean": lambda f: sa.Boolean(),
    "date": lambda f: sa.Date(),
    "time": lambda f: sa.Time(),
    "dateTime": lambda f: sa.DateTime(timezone=False),
    "timestamp": lambda f: sa.DateTime(timezone=True),
    "json": lambda f: sa.JSON(),
    "uuid": lambda f: sa.String(36),
    "csv": lambda f: sa.Text(),
    "hash": lambda f: sa.String(255),
    "unknown": lambda f: sa.Text(),
}


def sql_type_for(field: FieldInfo) -> Any:
    if "cast-json" in field.special and field.type not in ("json",):
        return sa.JSON()
    return _SQL_TYPES.get(field.type, _SQL_TYPES["unknown"])(field)


# Checked in order: the first class the reflected type is an instance of wins.
_FROM_SQL: tuple[tuple[type[Any], str], ...] = (
    (sa.Boolean, "boolean"),
    (sa.BigInteger, "bigInteger"),
    (sa.SmallInteger, "integer"),
    (sa.Integer, "integer"),
    (sa.Float, "float"),
    (sa.Numeric, "decimal"),
    (sa.DateTime, "dateTime"),
    (sa.Date, "date"),
    (sa.Time, "time"),
    (sa.JSON, "json"),
    (sa.Uuid, "uuid"),
    (sa.Text, "text"),
    (sa.String, "string"),
)


def directus_type_of(sql_type: Any) -> str:
    if isinstance(sql_type, sa.DateTime) and getattr(sql_type, "timezone", False):
        return "timestamp"
    name = type(sql_type).__name__.upper()
    if name in ("TINYINT",) and getattr(sql_type, "display_width", None) == 1:
        return "boolean"
    if name in ("TEXT", "MEDIUMTEXT", "LONGTEXT", "CLOB"):
        return "text"
    for cls, directus in _FROM_SQL:
        if isinstance(sql_type, cls):
            return directus
    return "unknown"
