"""Directus field types and SQL column types, both ways, as tables.

Three different questions, three functions:

- ``sql_type_for``: the SQLAlchemy type a field is *read and written* with, so the driver converts booleans,
  dates and JSON on every engine (a JSON field stored as TEXT on SQLite still round-trips as JSON; a JSON
  ``None`` is written as SQL NULL, never as the JSON text ``null``).
- ``ddl_type_for``: the column type Tidepool *creates* for a new field on a given engine (JSON as TEXT on
  SQLite, whose JSON affinity would turn ``"123"`` into a number; uuid as VARCHAR(36) everywhere so it can
  reference ``directus_users.id``).
- ``directus_type_of``: the Directus type of a column in a table Tidepool did not create (PostgreSQL
  ``timestamptz`` → timestamp, MySQL ``tinyint(1)`` → boolean, native uuid/json ...).

``parse_default`` turns a reflected column default (an SQL expression as text) into the typed value Directus
reports as ``schema.default_value``; ``server_default_for`` goes the other way for DDL, always through
SQLAlchemy's literal rendering, never by formatting user input into SQL.
"""

from __future__ import annotations

import copy
import decimal
import re
from collections.abc import Callable
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from tidepool.db.schema import FIELD_TYPES, FieldInfo
from tidepool.errors import InvalidPayloadError

# Types that never have a column.
ALIAS_TYPES = frozenset({"alias"})
# Specials that mark a field as an alias (no column), as Directus's ALIAS_TYPES.
ALIAS_SPECIALS = frozenset({"alias", "o2m", "o2a", "m2m", "m2a", "files", "translations", "no-data", "group"})
# Types a client may give a column.
COLUMN_TYPES = frozenset(FIELD_TYPES) - {"alias", "unknown"}
DEFAULT_PRECISION, DEFAULT_SCALE = 10, 5

_RUNTIME: dict[str, Callable[[FieldInfo], Any]] = {
    "string": lambda f: sa.String(f.max_length or 255),
    "text": lambda f: sa.Text(),
    "integer": lambda f: sa.Integer(),
    "bigInteger": lambda f: sa.BigInteger(),
    "float": lambda f: sa.Float(),
    "decimal": lambda f: sa.Numeric(f.numeric_precision or DEFAULT_PRECISION, f.numeric_scale or DEFAULT_SCALE),
    "boolean": lambda f: sa.Boolean(),
    "date": lambda f: sa.Date(),
    "time": lambda f: sa.Time(),
    "dateTime": lambda f: sa.DateTime(timezone=False),
    "timestamp": lambda f: sa.DateTime(timezone=True),
    "json": lambda f: sa.JSON(none_as_null=True),
    "uuid": lambda f: sa.String(36),
    "csv": lambda f: sa.Text(),
    "hash": lambda f: sa.String(255),
    "unknown": lambda f: sa.Text(),
}


def sql_type_for(field: FieldInfo, reflected: Any = None) -> Any:
    """The type ``field`` is read and written with; ``reflected`` (the column's own type) refines it.

    A native PostgreSQL ``uuid`` column must be bound as uuid (comparing it with a VARCHAR parameter is an
    error there), so it keeps a ``Uuid`` type that still hands out strings.
    """
    if "cast-json" in field.special and field.type != "json":
        return sa.JSON(none_as_null=True)
    if field.type == "uuid" and isinstance(reflected, sa.Uuid):
        return sa.Uuid(as_uuid=False)
    if field.type == "json" and isinstance(reflected, sa.JSON):
        return _none_as_null(reflected)
    return _RUNTIME.get(field.type, _RUNTIME["unknown"])(field)


def _none_as_null(json_type: sa.JSON) -> sa.JSON:
    """The engine's own JSON type (PostgreSQL ``jsonb`` keeps its operators), writing ``None`` as SQL NULL.

    SQLAlchemy's default binds ``None`` as the JSON text ``null``, which ``IS NULL`` (the ``_null`` filter)
    does not see; Directus stores a null JSON field as SQL NULL.
    """
    if json_type.none_as_null:
        return json_type
    adapted = copy.copy(json_type)
    adapted.none_as_null = True
    return adapted


_DDL: dict[str, Callable[[int | None, int | None, int | None], Any]] = {
    "string": lambda length, p, s: sa.String(length or 255),
    "text": lambda length, p, s: sa.Text(),
    "integer": lambda length, p, s: sa.Integer(),
    "bigInteger": lambda length, p, s: sa.BigInteger(),
    "float": lambda length, p, s: sa.Float().with_variant(mysql.DOUBLE(asdecimal=False), "mysql"),
    "decimal": lambda length, p, s: sa.Numeric(p or DEFAULT_PRECISION, DEFAULT_SCALE if s is None else s),
    "boolean": lambda length, p, s: sa.Boolean(),
    "date": lambda length, p, s: sa.Date(),
    "time": lambda length, p, s: sa.Time(),
    "dateTime": lambda length, p, s: sa.DateTime(timezone=False),
    "timestamp": lambda length, p, s: sa.DateTime(timezone=True),
    "json": lambda length, p, s: sa.JSON(none_as_null=True).with_variant(sa.Text(), "sqlite"),
    "uuid": lambda length, p, s: sa.String(36),
    "csv": lambda length, p, s: sa.Text(),
    "hash": lambda length, p, s: sa.String(255),
}


def ddl_type_for(
    directus_type: str,
    *,
    max_length: int | None = None,
    precision: int | None = None,
    scale: int | None = None,
    auto_increment: bool = False,
) -> Any:
    """The column type to create for a field; ``InvalidPayloadError`` for a type that has no column."""
    make = _DDL.get(directus_type)
    if make is None:
        raise InvalidPayloadError(f'Illegal type passed: "{directus_type}"')
    if auto_increment and directus_type in ("integer", "bigInteger"):
        # SQLite auto-increments only an INTEGER PRIMARY KEY (the rowid alias), never a BIGINT one.
        return make(None, None, None).with_variant(sa.Integer(), "sqlite")
    return make(max_length, precision, scale)


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
# Engine-specific type names the class hierarchy does not tell apart.
_BY_NAME: dict[str, str] = {
    "MEDIUMTEXT": "text",
    "LONGTEXT": "text",
    "TINYTEXT": "text",
    "CLOB": "text",
    "JSONB": "json",
    "MEDIUMINT": "integer",
    "YEAR": "integer",
}


def directus_type_of(sql_type: Any) -> str:
    """The Directus type of a reflected column type (``unknown`` when nothing fits)."""
    if isinstance(sql_type, sa.DateTime) and getattr(sql_type, "timezone", False):
        return "timestamp"
    name = type(sql_type).__name__.upper()
    if name == "TINYINT" and getattr(sql_type, "display_width", None) == 1:
        return "boolean"
    if name == "TIMESTAMP" and type(sql_type).__module__.startswith("sqlalchemy.dialects.mysql"):
        return "timestamp"  # MySQL TIMESTAMP is stored as UTC: Directus's "timestamp"
    if name in _BY_NAME:
        return _BY_NAME[name]
    for cls, directus in _FROM_SQL:
        if isinstance(sql_type, cls):
            return directus
    return "unknown"


def data_type_name(sql_type: Any, dialect: sa.Dialect) -> str:
    """The database's own name for a column type, lower case without arguments (``schema.data_type``)."""
    try:
        compiled = sql_type.compile(dialect=dialect)
    except Exception:  # a reflected type the dialect cannot render (NullType)
        compiled = type(sql_type).__name__
    return re.sub(r"\(.*\)", "", str(compiled)).strip().lower()


# --- defaults -------------------------------------------------------------------------------------------

_NOW = frozenset({"current_timestamp", "now()", "current_timestamp()", "localtimestamp", "getdate()"})
_CASTS = re.compile(r"::[a-z ]+(\[\])?$", re.IGNORECASE)
_PARSE: dict[str, Callable[[str], Any]] = {
    "integer": int,
    "bigInteger": int,
    "float": float,
    "decimal": lambda s: str(decimal.Decimal(s)),
    "boolean": lambda s: s.lower() in ("1", "true", "t", "b'1'"),
    "json": orjson.loads,
}


def parse_default(raw: Any, directus_type: str) -> Any:
    """A reflected default (``'abc'::character varying``, ``'5'``, ``now()``, ``nextval(...)``) as a value."""
    if raw is None:
        return None
    text = str(raw).strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    text = _CASTS.sub("", text)
    if text.lower() in _NOW or text.lower().startswith("current_timestamp"):
        return "CURRENT_TIMESTAMP"
    if text.upper() == "NULL" or text.lower().startswith("nextval("):
        return None
    if len(text) >= 2 and text[0] == text[-1] == "'":
        text = text[1:-1].replace("''", "'")
    parse = _PARSE.get(directus_type)
    if parse is None:
        return text
    try:
        return parse(text)
    except (ValueError, decimal.InvalidOperation, orjson.JSONDecodeError):
        return text


def server_default_for(value: Any, directus_type: str) -> Any:
    """The ``server_default`` for a client-supplied default: rendered by SQLAlchemy, never interpolated."""
    if value is None:
        return None
    if isinstance(value, str) and value.lower() in _NOW:
        return sa.text("CURRENT_TIMESTAMP")
    if isinstance(value, bool):
        return sa.true() if value else sa.false()
    if isinstance(value, int | float | decimal.Decimal):
        number = decimal.Decimal(str(value))
        if not number.is_finite():
            raise InvalidPayloadError("Default value must be a finite number")
        return sa.text(str(number))  # a validated number: only digits, sign, point and exponent
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    if isinstance(value, str):
        return value  # SQLAlchemy renders str defaults as quoted, escaped literals
    raise InvalidPayloadError(f'Invalid default value for type "{directus_type}"')
