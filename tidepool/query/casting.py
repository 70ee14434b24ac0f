"""Casting filter values (and JSON-ready row values) to the Python value a field's type compares as.

A filter arrives as JSON: numbers may be strings (``"5"``), dates are ISO strings, booleans may be ``1``.
The SQL compiler binds the cast value with the column's SQLAlchemy type, so the driver sends the right
type on every engine; the Python evaluator compares cast values with cast row values, so both paths
compare the same things. ``canonical`` is engine-independent (timestamps are aware UTC datetimes);
``for_dialect`` adapts a canonical value to what one engine stores (naive UTC on SQLite and MySQL).
A value that cannot be cast is ``INVALID_QUERY`` naming the field.

Numbers are bounded here too, once for queries and payloads: ``INTEGER_RANGES`` and ``decimal_fits`` say
what a column can hold (as Directus's ``numberInRange``), and no cast ever turns a huge exponent into an
``int`` (``int(Decimal("1e999999999"))`` would build a billion-digit integer on the event loop).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from tidepool.errors import InvalidQueryError

# What integer columns hold on every engine (PostgreSQL's int4/int8; SQLite would take more, so the other
# engines' limits are kept for every engine alike).
INTEGER_RANGES: dict[str, tuple[int, int]] = {"integer": (-(2**31), 2**31 - 1), "bigInteger": (-(2**63), 2**63 - 1)}
# No numeric column holds a magnitude of 10**309 or more (a double's largest is about 1.8e308), so a value
# whose leading digit sits above this exponent is out of range whatever the column.
MAX_EXPONENT = 308


class CastFailure(ValueError):
    """A value that does not fit the type; turned into ``InvalidQueryError`` by ``canonical``."""


def _number_text(value: Any) -> str:
    """The text of a JSON number or numeric string; booleans count as 1/0 as in JavaScript's ``Number``."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise CastFailure(value)


def _to_decimal(value: Any) -> Decimal:
    try:
        number = Decimal(_number_text(value))
    except InvalidOperation as exc:
        raise CastFailure(value) from exc
    if not number.is_finite() or (number and number.adjusted() > MAX_EXPONENT):
        raise CastFailure(value)
    return number


def _to_integer(value: Any) -> int | float:
    """Integral values become ``int``; ``1.5`` stays a float (it is still a valid comparison)."""
    if type(value) is int:
        return value  # the common case (a JSON integer), without the Decimal round trip
    number = _to_decimal(value)
    return int(number) if number == number.to_integral_value() else float(number)


def integer_digits(number: Decimal) -> int:
    """How many digits ``number`` has before the decimal point, computed from its exponent (no ``int()``)."""
    return max(number.adjusted() + 1, 0) if number else 0


def decimal_fits(number: Decimal, precision: int | None, scale: int | None) -> bool:
    """Whether a ``decimal(precision, scale)`` column holds ``number``: its integer digits (the fraction is
    rounded by the database), and at most ``MAX_EXPONENT`` fractional digits (PostgreSQL's driver cannot
    even send ``1e-999999999``). Without a known precision only the exponent bounds apply."""
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_EXPONENT:
        return False
    if precision is None or scale is None:
        return not number or number.adjusted() <= MAX_EXPONENT
    return integer_digits(number) <= precision - scale


def fits(field_type: str, value: Any, precision: int | None = None, scale: int | None = None) -> bool:
    """Whether a canonical value (``canonical``'s result) fits a column of ``field_type``."""
    bounds = INTEGER_RANGES.get(field_type)
    if bounds is not None and isinstance(value, int | float):
        return bounds[0] <= value <= bounds[1]
    if field_type == "decimal" and isinstance(value, Decimal):
        return decimal_fits(value, precision, scale)
    return True


def _to_float(value: Any) -> float:
    number = float(_to_decimal(value))
    if not math.isfinite(number):
        raise CastFailure(value)
    return number


_BOOLEANS: dict[Any, bool] = {"true": True, "false": False, "1": True, "0": False}


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
        return _BOOLEANS[value.strip().lower()]
    raise CastFailure(value)


def _iso(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CastFailure(value)
    return value.strip()


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        return datetime.fromisoformat(_iso(value))
    except ValueError as exc:
        raise CastFailure(value) from exc


def _to_date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return _to_datetime(value).date()


def _to_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(_iso(value)).replace(tzinfo=None)
    except ValueError as exc:
        raise CastFailure(value) from exc


def _to_naive_datetime(value: Any) -> datetime:
    """``dateTime`` has no zone: an offset in the value is dropped and the wall-clock time kept."""
    return _to_datetime(value).replace(tzinfo=None)


def _to_timestamp(value: Any) -> datetime:
    """``timestamp`` is an instant: naive input is read as UTC, aware input converted to UTC."""
    moment = _to_datetime(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _to_uuid(value: Any) -> str:
    try:
        return str(uuid.UUID(_iso(value)))
    except ValueError as exc:
        raise CastFailure(value) from exc


def to_text(value: Any) -> str:
    """Strings stay; numbers and booleans become their JSON text (``5`` → ``"5"``, ``true`` → ``"true"``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | Decimal):
        return str(value)
    raise CastFailure(value)


def _to_csv_text(value: Any) -> str:
    """A csv field compares as its stored text; a list (as the API returns it) is joined back."""
    if isinstance(value, list | tuple):
        return ",".join(to_text(v) for v in value)
    return to_text(value)


def _as_is(value: Any) -> Any:
    return value


# Directus type → the cast that makes a JSON value comparable with the column.
CASTS: dict[str, Callable[[Any], Any]] = {
    "integer": _to_integer,
    "bigInteger": _to_integer,
    "float": _to_float,
    "decimal": _to_decimal,
    "boolean": _to_boolean,
    "date": _to_date,
    "time": _to_time,
    "dateTime": _to_naive_datetime,
    "timestamp": _to_timestamp,
    "uuid": _to_uuid,
    "string": to_text,
    "text": to_text,
    "hash": to_text,
    "csv": _to_csv_text,
    "unknown": to_text,
    "json": _as_is,
    "alias": _as_is,
}


def canonical(field_type: str, value: Any, field: str) -> Any:
    """Cast one non-null value to ``field_type``; ``INVALID_QUERY`` naming ``field`` when impossible."""
    cast: Callable[[Any], Any] = CASTS.get(field_type) or to_text
    try:
        return cast(value)
    except (ValueError, TypeError, ArithmeticError) as exc:  # CastFailure, and Python's own limits
        raise InvalidQueryError(f'Invalid value for field "{field}" of type "{field_type}"') from exc


def out_of_range(field: str) -> InvalidQueryError:
    """A filter value the compared column cannot hold (the words of Directus's ``VALUE_OUT_OF_RANGE``)."""
    return InvalidQueryError(f'Numeric value for field "{field}" is out of range')


def for_dialect(field_type: str, value: Any, dialect: str) -> Any:
    """Adapt a canonical value to the engine: only PostgreSQL stores zone-aware timestamps."""
    if field_type == "timestamp" and isinstance(value, datetime) and dialect != "postgresql":
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def row_value(field_type: str, value: Any) -> Any:
    """A JSON-ready row value (as the API returns it) as the canonical Python value, ``None`` kept."""
    if value is None:
        return None
    cast: Callable[[Any], Any] = CASTS.get(field_type) or to_text
    try:
        return cast(value)
    except (ValueError, TypeError, ArithmeticError):
        return value
