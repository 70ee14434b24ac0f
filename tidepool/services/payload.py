"""Turning a client's JSON payload into values the collection's typed table can store.

Directus relies on the database to reject badly typed values, which gives a different error (or none, on
SQLite) per engine. Tidepool checks and casts every value here instead, once per field type, so the same
bad payload gets the same ``INVALID_PAYLOAD`` (worded like Directus's Joi messages: ``"x" must be a number``)
on SQLite, PostgreSQL and MySQL. Lengths and integer ranges are checked here too, because SQLite enforces
neither; the database's own errors (``tidepool.db.errors``) stay the safety net.

Special fields follow Directus's payload transformers: they run for every field that carries them, even
when the payload omits the field, and overwrite what the client sent (``date-created``, ``user-updated``...).
Unknown fields are dropped silently, as Directus does; alias fields (o2m lists) have no column and are
dropped too (nested relational writes are not supported).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import orjson

from tidepool.context import Accountability
from tidepool.db.schema import CollectionInfo, FieldInfo, SchemaOverview
from tidepool.errors import FailedValidationError, InvalidPayloadError, ValueOutOfRangeError, ValueTooLongError
from tidepool.security import hash_password

WriteAction = Literal["create", "update"]
Caster = Callable[[FieldInfo, Any], Any]

_INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "bigInteger": (-(2**63), 2**63 - 1)}
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?$")


class _Invalid(Exception):
    """A value that does not fit its field; ``reason`` completes ``"<field>" must be ...``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def require_object(data: Any) -> Mapping[str, Any]:
    """Every item payload is a JSON object."""
    if not isinstance(data, Mapping):
        raise InvalidPayloadError('"value" must be of type object')
    return data


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
    low, high = _INT_RANGES.get(field.type, _INT_RANGES["bigInteger"])
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
    precision, scale = field.numeric_precision, field.numeric_scale
    if precision is not None and scale is not None:
        integer_digits = len(str(abs(int(parsed)))) if int(parsed) else 0
        if integer_digits > precision - scale:
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
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
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
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def _json(field: FieldInfo, value: Any) -> Any:
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
        return orjson.dumps(value).decode()
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


def _now_for(field: FieldInfo, now: dt.datetime) -> Any:
    if field.type == "date":
        return now.date()
    if field.type == "time":
        return now.time().replace(tzinfo=None)
    if field.type == "dateTime":
        return now.replace(tzinfo=None)
    if field.type in ("string", "text"):
        return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return now


Generator = Callable[[FieldInfo, Any, Accountability, dt.datetime], Any]

# Directus's generating transformers: (special, action) -> new value from (field, current, who, now).
GENERATORS: dict[tuple[str, WriteAction], Generator] = {
    ("uuid", "create"): lambda f, v, who, now: v if v else str(uuid.uuid4()),
    ("user-created", "create"): lambda f, v, who, now: who.user,
    ("user-updated", "update"): lambda f, v, who, now: who.user,
    ("role-created", "create"): lambda f, v, who, now: who.role,
    ("role-updated", "update"): lambda f, v, who, now: who.role,
    ("date-created", "create"): lambda f, v, who, now: _now_for(f, now),
    ("date-updated", "update"): lambda f, v, who, now: _now_for(f, now),
}

# Specials whose value the server fills in; such fields never count as "required" on create.
GENERATE_SPECIALS = frozenset(
    {"uuid", "user-created", "user-updated", "role-created", "role-updated", "date-created", "date-updated"}
)


def prepare(
    collection: CollectionInfo,
    data: Mapping[str, Any],
    action: WriteAction,
    accountability: Accountability,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The column values to write: known columns only, cast per type, special fields applied."""
    now = now or dt.datetime.now(dt.UTC)
    values: dict[str, Any] = {}
    for field in collection.column_fields:
        generated = _generate(field, data.get(field.name), action, accountability, now)
        if generated is not _ABSENT:
            values[field.name] = generated
        elif field.name in data:
            values[field.name] = cast_value(collection, field, data[field.name])
    if action == "create":
        _drop_empty_auto_key(collection, values)
    return values


class _Absent:
    pass


_ABSENT: Any = _Absent()


def _generate(field: FieldInfo, value: Any, action: WriteAction, who: Accountability, now: dt.datetime) -> Any:
    """The server-chosen value of a generating special, or ``_ABSENT`` when none applies."""
    for special in field.special:
        generator = GENERATORS.get((special, action))
        if generator is not None:
            generated = generator(field, value, who, now)
            return generated if special in ("date-created", "date-updated") else _cast_generated(field, generated)
    return _ABSENT


def _cast_generated(field: FieldInfo, value: Any) -> Any:
    if value is None or field.type in ("uuid", "string", "text", "unknown"):
        return value
    return caster_for(field)(field, value)


def _drop_empty_auto_key(collection: CollectionInfo, values: dict[str, Any]) -> None:
    """``{"id": null}`` on an auto-increment key means "let the database choose", as in Directus."""
    pk = collection.fields[collection.primary_key]
    if pk.auto_increment and values.get(pk.name) is None:
        values.pop(pk.name, None)


def bindable(collection: CollectionInfo, values: Mapping[str, Any], dialect: str) -> dict[str, Any]:
    """Adjust cast values to what each driver binds safely.

    Instants are bound as naive UTC everywhere but PostgreSQL, whose ``timestamptz`` is the only column type
    that keeps a zone. (JSON ``None`` needs nothing here: the column's type, ``tidepool.db.types.sql_type_for``,
    writes it as SQL NULL so ``_null`` filters see it.)
    """
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, dt.datetime) and value.tzinfo is not None and dialect != "postgresql":
            out[name] = value.astimezone(dt.UTC).replace(tzinfo=None)
        else:
            out[name] = value
    return out


# ---- validation: Directus's field rules and permission ``validation`` filters ---------------------------


def _may_be_null(field: FieldInfo) -> bool:
    """Directus's ``isFieldNullable``: nullable columns, and fields the server fills in itself."""
    return field.nullable or field.auto_increment or any(s in GENERATE_SPECIALS for s in field.special)


def check_field_rules(collection: CollectionInfo, data: Mapping[str, Any], action: WriteAction) -> None:
    """Non-nullable fields: required on create when they have no default, and never explicitly null."""
    for field in collection.column_fields:
        if _may_be_null(field):
            continue
        if action == "create" and field.default is None and field.name not in data:
            raise FailedValidationError(field.name, "Value is required.")
        if field.name in data and data[field.name] is None:
            raise FailedValidationError(field.name, "Value can't be null.")


def _js(value: Any) -> str:
    """A value as JavaScript's template strings print it (the messages are Directus's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ",".join(_js(v) for v in value)
    return str(value)


def _listed(value: Any) -> str:
    items = value if isinstance(value, list | tuple) else [value]
    return ", ".join(f'"{_js(v)}"' for v in items)


# Directus's FailedValidationError sentence per operator (others name the field only).
_RULE_TEXT: dict[str, Callable[[Any], str]] = {
    "_eq": lambda v: f'Value has to be "{_js(v)}".',
    "_neq": lambda v: f'Value can\'t be "{_js(v)}".',
    "_lt": lambda v: f'Value has to be less than "{_js(v)}".',
    "_lte": lambda v: f'Value has to be less than or equal to "{_js(v)}".',
    "_gt": lambda v: f'Value has to be greater than "{_js(v)}".',
    "_gte": lambda v: f'Value has to be greater than or equal to "{_js(v)}".',
    "_in": lambda v: f"Value has to be one of {_listed(v)}.",
    "_nin": lambda v: f"Value can't be one of {_listed(v)}.",
    "_contains": lambda v: f'Value has to contain "{_js(v)}".',
    "_icontains": lambda v: f'Value has to contain "{_js(v)}".',
    "_ncontains": lambda v: f'Value can\'t contain "{_js(v)}".',
    "_null": lambda v: "Value has to be null.",
    "_nnull": lambda v: "Value can't be null.",
    "_empty": lambda v: "Value has to be empty.",
    "_nempty": lambda v: "Value can't be empty.",
    "_regex": lambda v: "Value doesn't have the correct format.",
    "_submitted": lambda v: "Value is required.",
}


def field_validations(collection: CollectionInfo) -> list[Mapping[str, Any] | None]:
    """The ``validation`` filters set on fields (``directus_fields.validation``); they bind admins too."""
    return [f.meta.get("validation") for f in collection.fields.values() if f.meta and f.meta.get("validation")]


def check_permission_rules(
    collection: CollectionInfo,
    schema: SchemaOverview,
    data: Mapping[str, Any],
    validations: Sequence[Mapping[str, Any] | None],
) -> None:
    """Every permission's ``validation`` filter must hold for the payload (with presets).

    As with Directus's Joi schemas, a condition on a field the payload does not contain passes (only
    ``_submitted`` demands presence), so a partial update is judged on what it changes. Each condition is
    evaluated on its own, so the error names the field and the rule that failed.
    """
    for validation in validations:
        for leaf in _leaves(validation or {}):
            _check_leaf(collection, schema, data, leaf)


def _leaves(condition: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The conditions of a filter that must all hold: ``_and`` groups are flattened."""
    leaves: list[tuple[str, Any]] = []
    for key, value in condition.items():
        if key == "_and" and isinstance(value, list):
            for part in value:
                leaves.extend(_leaves(part) if isinstance(part, Mapping) else [])
        else:
            leaves.append((key, value))
    return leaves


def _check_leaf(
    collection: CollectionInfo, schema: SchemaOverview, data: Mapping[str, Any], leaf: tuple[str, Any]
) -> None:
    key, condition = leaf
    if key.startswith("_"):  # _or (or another group): all or nothing, named after its first field
        if not _holds(collection, schema, data, {key: condition}):
            raise FailedValidationError(_first_field(condition) or key, "")
        return
    operators = condition if isinstance(condition, Mapping) else {"_eq": condition}
    for operator, argument in operators.items():
        if operator == "_submitted":
            if argument and key not in data:
                raise FailedValidationError(key, _RULE_TEXT["_submitted"](argument))
            continue
        if key not in data or not operator.startswith("_"):
            continue  # absent fields pass; relational conditions are not evaluable on a payload
        if not _holds(collection, schema, data, {key: {operator: argument}}):
            text = _RULE_TEXT.get(operator)
            raise FailedValidationError(key, text(argument) if text else "")


def _holds(collection: CollectionInfo, schema: SchemaOverview, data: Mapping[str, Any], condition: Any) -> bool:
    from tidepool.query import evaluate

    try:
        return bool(evaluate.matches(condition, data, collection.name, schema))
    except evaluate.NotEvaluable:
        return True


def _first_field(condition: Any) -> str | None:
    parts = condition if isinstance(condition, list) else [condition]
    for part in parts:
        if isinstance(part, Mapping):
            for key, value in part.items():
                found = _first_field(value) if key.startswith("_") else key
                if found:
                    return found
    return None
