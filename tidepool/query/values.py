"""Database value → the JSON value Directus returns, one small function per Directus field type.

Drivers disagree on what they hand back (SQLite gives 0/1 for booleans and strings for dates, asyncpg gives
aware datetimes and ``Decimal``, MySQL gives naive datetimes), and clients expect exactly what Directus
sends. So every column read goes through ``serializer_for(field)`` once, picked per field when the read is
planned, never per value by type sniffing.

Choices (the PostgreSQL behaviour of Directus, applied on every engine):

- ``timestamp`` → ``2025-01-01T10:00:00.000Z`` (naive database values are UTC);
- ``dateTime`` → ``2025-01-01T10:00:00``; ``date`` → ``2025-01-01``; ``time`` → ``10:00:00``;
- ``boolean`` → ``true``/``false``; ``json`` parsed; ``csv`` → list of strings;
- ``decimal`` and ``bigInteger`` → strings (PostgreSQL's driver returns both as strings, so Directus does);
- ``hash`` fields and ``conceal`` fields → ``"**********"`` when not null.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
from typing import Any

import orjson

from tidepool.db.schema import FieldInfo

Serializer = Callable[[Any], Any]

CONCEALED = "**********"

# System fields Directus marks ``conceal``/``hash`` whatever directus_fields says.
_SYSTEM_CONCEALED = frozenset(
    {("directus_users", "password"), ("directus_users", "token"), ("directus_users", "tfa_secret")}
)


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    text = str(value).strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return dt.datetime.fromisoformat(text)


def timestamp(value: Any) -> str:
    # ``isoformat`` (C) rather than ``strftime``: several times faster per value, milliseconds truncated as
    # before, and the year always four digits as JavaScript's ``toISOString`` writes it.
    moment = _as_datetime(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"


def date_time(value: Any) -> str:
    return _as_datetime(value).replace(tzinfo=None).isoformat(timespec="seconds")


def date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:10]


def time(value: Any) -> str:
    if isinstance(value, dt.time):
        return f"{value:%H:%M:%S}"
    if isinstance(value, dt.timedelta):  # MySQL TIME
        seconds = int(value.total_seconds())
        return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return str(value)[:8]


def boolean(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "t", "yes")
    return bool(value)


def json_value(value: Any) -> Any:
    if isinstance(value, (str, bytes)):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def csv(value: Any) -> Any:
    if isinstance(value, list):
        return [str(v) for v in value]
    text = str(value)
    return text.split(",") if text else []


def _as_stored(serializer: Serializer) -> Serializer:
    """A numeric serializer that hands back a value it cannot convert as it is stored: SQLite keeps any text
    in a numeric column (a default of ``"abc"`` written before defaults were checked, or SQL by hand), and
    one such row must not turn every read into a 500. Directus on SQLite returns the stored text too."""

    def tolerant(value: Any) -> Any:
        try:
            return serializer(value)
        except (ValueError, ArithmeticError):
            return value

    return tolerant


@_as_stored
def decimal_string(value: Any) -> str:
    return str(value) if isinstance(value, decimal.Decimal) else str(decimal.Decimal(str(value)))


@_as_stored
def integer(value: Any) -> Any:
    return int(value) if isinstance(value, (int, decimal.Decimal, str)) and not isinstance(value, bool) else value


@_as_stored
def number(value: Any) -> Any:
    return float(value) if isinstance(value, (decimal.Decimal, str)) else value


def text(value: Any) -> Any:
    return value if isinstance(value, str) else str(value)


def conceal(value: Any) -> str:
    return CONCEALED


_BY_TYPE: dict[str, Serializer] = {
    "timestamp": timestamp,
    "dateTime": date_time,
    "date": date,
    "time": time,
    "boolean": boolean,
    "json": json_value,
    "csv": csv,
    "decimal": decimal_string,
    "bigInteger": str,
    "integer": integer,
    "float": number,
    "uuid": text,
    "string": text,
    "text": text,
}

_BY_SPECIAL: dict[str, Serializer] = {"cast-json": json_value, "cast-csv": csv, "cast-boolean": boolean}


def serializer_for(field: FieldInfo, collection: str | None = None) -> Serializer:
    """The function turning this field's database value (never None) into its Directus JSON value."""
    if field.concealed or (collection, field.name) in _SYSTEM_CONCEALED:
        return conceal
    for special in field.special:
        if special in _BY_SPECIAL:
            return _BY_SPECIAL[special]
    return _BY_TYPE.get(field.type, _identity)


def _identity(value: Any) -> Any:
    return value


def serialize(field: FieldInfo, value: Any, collection: str | None = None) -> Any:
    """One value, for callers outside the planned read path (events, realtime)."""
    return None if value is None else serializer_for(field, collection)(value)
