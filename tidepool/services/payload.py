"""Turning a client's JSON payload into values the collection's typed table can store.

``prepare`` is the write path's one entry: known columns only, each value checked and cast per field type
(``tidepool.services.payload_cast``), special fields applied (``tidepool.services.payload_specials``);
``bindable`` then adjusts values to what each driver binds. Validation (required fields, ``validation``
filters) lives in ``tidepool.services.payload_rules``.

Unknown fields are dropped silently, as Directus does; alias fields (o2m lists) have no column and are
dropped too (nested relational writes are not supported).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from tidepool.context import Accountability
from tidepool.db.schema import CollectionInfo
from tidepool.errors import InvalidPayloadError
from tidepool.services.payload_cast import cast_value
from tidepool.services.payload_specials import ABSENT, WriteAction, generate


def require_object(data: Any) -> Mapping[str, Any]:
    """Every item payload is a JSON object."""
    if not isinstance(data, Mapping):
        raise InvalidPayloadError('"value" must be of type object')
    return data


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
        generated = generate(field, data.get(field.name), action, accountability, now)
        if generated is not ABSENT:
            values[field.name] = generated
        elif field.name in data:
            values[field.name] = cast_value(collection, field, data[field.name])
    if action == "create":
        _drop_empty_auto_key(collection, values)
    return values


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
