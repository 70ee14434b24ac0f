"""Checking and casting one JSON value per Directus field type, so every engine gets the same value.

Directus relies on the database to reject badly typed values, which gives a different error (or none, on
SQLite) per engine. Tidepool checks and casts every value here instead, once per field type, so the same
bad payload gets the same ``INVALID_PAYLOAD`` (worded like Directus's Joi messages: ``"x" must be a number``)
on SQLite, PostgreSQL and MySQL. Lengths and integer ranges are checked here too, because SQLite enforces
neither; the database's own errors (``tidepool.db.errors``) stay the safety net.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import uuid
from collections.abc import Callable
from typing import Any

import orjson

from tidepool.db.schema import CollectionInfo, FieldInfo
from tidepool.errors import InvalidPayloadError, ValueOutOfRangeError, ValueTooLongError
from tidepool.query.casting import INTEGER_RANGES, decimal_fits
from tidepool.query.complexity import nested_deeper
from tidepool.security import hash_password

Caster = Callable[[FieldInfo, Any], Any]

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?$")


class _Invalid(Exception):
    """A value that does not fit its field; ``reason`` completes ``"<field>" must be ...``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise _Invalid("must be a number")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise _Invalid("must be a number")
        return value
    if isinstance(value, str):
        try:
            parsed = float(value) if any(c in value for c in ".eE") else int(value.strip())
        except ValueError:
            raise _Invalid("must be a number") from None
        if isinstance(parsed, float) and not math.isfinite(parsed):
            raise _Invalid("must be a number")
        return parsed
    raise _Invalid("must be a number")


def _integer(field: FieldInfo, value: Any) -> int:
    number = _number(value)
    if isinstance(number, float):
        if not number.is_integer():
            raise _Invalid("must be an integer")
        number = int(number)
    low, high = INTEGER_RANGES.get(field.type, INTEGER_RANGES["bigInteger"])
    if not low <= number <= high:
        raise _OutOfRange()
    return number


def _float(field: FieldInfo, value: Any) -> float:
    return float(_number(value))


def _decimal(field: FieldInfo, value: Any) -> decimal.Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Invalid("must be a number")
    try:
        parsed = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise _Invalid("must be a number") from None
    if not parsed.is_finite():
        raise _Invalid("must be a number")
    if not decimal_fits(parsed, field.numeric_precision, field.numeric_scale):
        raise _OutOfRange()
    return parsed


def _boolean(field: FieldInfo, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _Invalid("must be a boolean")


def _string(field: FieldInfo, value: Any) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float | decimal.Decimal):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise _Invalid("must be a string")
    if field.max_length is not None and field.type == "string" and len(text) > field.max_length:
        raise _TooLong()
    return text


def _uuid(field: FieldInfo, value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid("must be a valid GUID")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise _Invalid("must be a valid GUID") from None


def _parse_datetime(value: Any) -> dt.datetime:
    """An ISO 8601 string (``Z`` allowed) or epoch milliseconds, as Directus's clients send them."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
        except (OverflowError, ValueError, OSError):  # past year 9999, or not a finite number
            raise _Invalid("must be a valid date") from None
    if not isinstance(value, str):
        raise _Invalid("must be a valid date")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise _Invalid("must be a valid date") from None


def _date(field: FieldInfo, value: Any) -> dt.date:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise _Invalid("must be a valid date") from None
    return _parse_datetime(value).date()


def _time(field: FieldInfo, value: Any) -> dt.time:
    match = _TIME.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise _Invalid("must be a valid time")
    hour, minute, second, fraction = match.groups()
    try:
        return dt.time(int(hour), int(minute), int(second or 0), int((fraction or "0").ljust(6, "0")))
    except ValueError:
        raise _Invalid("must be a valid time") from None


def _date_time(field: FieldInfo, value: Any) -> dt.datetime:
    """``dateTime`` has no zone: the wall-clock part is stored as sent (Directus ignores an offset)."""
    return _parse_datetime(value).replace(tzinfo=None)


def _timestamp(field: FieldInfo, value: Any) -> dt.datetime:
    """``timestamp`` is an instant: normalized to UTC (a value without offset is taken as UTC)."""
    parsed = _parse_datetime(value)
    try:
        return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)
    except OverflowError:  # an offset that moves 9999-12-31 past the last representable instant
        raise _Invalid("must be a valid date") from None


# Objects and lists one inside another that a JSON field's value may hold, the same on every engine. MariaDB's
# JSON (a CHECK json_valid) holds at most 31 levels, and a tracked write's revision keeps the value one level
# down (``{"field": value}``): deeper values failed there with a 500 (CHECK constraint 4025), a 300-level one
# on SQLite and PostgreSQL was stored and then its write answered 500 (orjson writes at most 254 levels; a
# committed write reported as failed, and every later read of the row failed too).
MAX_JSON_NESTING = 30


def _json(field: FieldInfo, value: Any) -> Any:
    if isinstance(value, dict | list) and nested_deeper(value, MAX_JSON_NESTING):
        raise _Invalid(f"is nested too deeply: more than {MAX_JSON_NESTING} levels")
    return value


def _csv(field: FieldInfo, value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(_csv_item(v) for v in value)
    if isinstance(value, str):
        return value
    raise _Invalid("must be an array")


def _csv_item(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return orjson.dumps(value).decode()
    raise _Invalid("must be an array of strings")


def _hash(field: FieldInfo, value: Any) -> str:
    """Argon2 of the value; an empty string stays empty (Directus hashes only a value that is set)."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise _Invalid("must be a string")
    return hash_password(str(value)) if value != "" else ""


def _unknown(field: FieldInfo, value: Any) -> Any:
    if isinstance(value, dict | list):
        return orjson.dumps(_json(field, value)).decode()
    return value


class _TooLong(Exception):
    pass


class _OutOfRange(Exception):
    pass


# One caster per Directus type: check the JSON value and turn it into what the column's SQL type binds.
CASTERS: dict[str, Caster] = {
    "string": _string,
    "text": _string,
    "integer": _integer,
    "bigInteger": _integer,
    "float": _float,
    "decimal": _decimal,
    "boolean": _boolean,
    "date": _date,
    "time": _time,
    "dateTime": _date_time,
    "timestamp": _timestamp,
    "json": _json,
    "uuid": _uuid,
    "csv": _csv,
    "hash": _hash,
    "unknown": _unknown,
}

# Specials that change how a value is cast, whatever the declared type (checked in this order).
_SPECIAL_CASTERS: tuple[tuple[str, Caster], ...] = (
    ("hash", _hash),
    ("cast-json", _json),
    ("cast-csv", _csv),
    ("cast-boolean", _boolean),
)


def caster_for(field: FieldInfo) -> Caster:
    for special, caster in _SPECIAL_CASTERS:
        if special in field.special:
            return caster
    return CASTERS.get(field.type, _unknown)


def cast_value(collection: CollectionInfo, field: FieldInfo, value: Any) -> Any:
    """The storable form of one JSON value, or the Directus error naming the field."""
    if value is None:
        return None
    try:
        return caster_for(field)(field, value)
    except _Invalid as exc:
        raise InvalidPayloadError(f'"{field.name}" {exc.reason}', field=field.name) from None
    except _TooLong:
        raise ValueTooLongError(collection.name, field.name) from None
    except _OutOfRange:
        raise ValueOutOfRangeError(collection.name, field.name) from None


def cast_key(collection: CollectionInfo, key: Any) -> Any:
    """A primary key as the column stores it; ``None`` when it cannot be one (callers answer FORBIDDEN).

    Keys from URLs are strings ("5"); integer keys are cast, as Directus's key validation does.
    """
    field = collection.fields[collection.primary_key]
    if key is None or isinstance(key, bool | dict | list):
        return None
    try:
        return caster_for(field)(field, key)
    except (_Invalid, _TooLong, _OutOfRange):
        return None
