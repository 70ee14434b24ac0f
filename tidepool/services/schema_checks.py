"""What a schema change must pass before any DDL runs, so a bad definition is a 400 and never a 500.

- names: a collection or field whose name differs only in case from an existing one is refused on every
  engine (SQLite compares table and column names without case, MySQL column names too; PostgreSQL would
  accept ``Messages`` beside ``messages`` but a schema must move between engines), with Directus's
  "already exists" answer; ``sqlite_*`` table names are refused everywhere for the same reason;
- a field's ``default_value`` must be a value of its type (an integer field defaulting to ``"abc"`` would
  otherwise be written into every existing row on SQLite and break every later read);
- ``meta.options``/``meta.display_options``/``meta.conditions`` have their JSON shape, ``meta.validation``
  is a filter over the collection's fields (``rule_checks``), and the ``schema`` flags are booleans;
- the rows already in the table must satisfy a new NOT NULL or UNIQUE constraint: checked by a query inside
  the schema change's transaction, so every engine gives Directus's PostgreSQL answer
  (``CONTAINS_NULL_VALUES``, ``RECORD_NOT_UNIQUE``) instead of its own DDL error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from tidepool.db import ddl
from tidepool.db.schema import CollectionInfo, FieldInfo
from tidepool.errors import ContainsNullValuesError, InvalidPayloadError, RecordNotUniqueError
from tidepool.services import rule_checks
from tidepool.services.payload_cast import CASTERS

RESERVED_PREFIXES = ("directus_", "sqlite_")
_NOW = frozenset({"now()", "current_timestamp"})
_DATE_TYPES = frozenset({"timestamp", "dateTime", "date", "time"})
_FLAGS = ("is_nullable", "is_unique", "is_primary_key", "has_auto_increment", "is_indexed")
# meta key -> (JSON type it must have, the words for it)
_META_SHAPES: dict[str, tuple[type | tuple[type, ...], str]] = {
    "options": (dict, "an object"),
    "display_options": (dict, "an object"),
    "conditions": (list, "an array"),
    "translations": (list, "an array"),
}


def same_name(name: str, existing: Iterable[str]) -> str | None:
    """The existing name equal to ``name`` when case is ignored (the one the engine would collide with)."""
    folded = name.casefold()
    return next((other for other in existing if other.casefold() == folded), None)


def check_new_collection(name: str, existing: Iterable[str]) -> None:
    for prefix in RESERVED_PREFIXES:
        if name.lower().startswith(prefix):
            raise InvalidPayloadError(f'"collection" can\'t start with "{prefix}"')
    if same_name(name, existing) is not None:
        raise InvalidPayloadError(f'Collection "{name}" already exists')


def check_new_field(name: str, collection: str, existing: Iterable[str]) -> None:
    if same_name(name, existing) is not None:
        raise InvalidPayloadError(f'Field "{name}" already exists in collection "{collection}"')


def check_unique_names(names: list[str], collection: str) -> None:
    """Fields created together (``POST /collections`` with ``fields``) must not clash among themselves."""
    for index, name in enumerate(names):
        check_new_field(name, collection, names[:index])


def check_default(name: str, field_type: str, value: Any) -> None:
    """``default_value`` must be storable in the field: cast like a payload value of that type."""
    if value is None or (field_type in _DATE_TYPES and isinstance(value, str) and value.lower() in _NOW):
        return
    caster = CASTERS.get(field_type)
    if caster is None:
        return
    try:
        caster(FieldInfo(name=name, type=field_type), value)
    except Exception:  # any refusal of the caster (wrong type, range, length): the default is not of the type
        raise InvalidPayloadError(f'"default_value" of field "{name}" must be a valid {field_type}') from None


def check_schema_flags(schema: Mapping[str, Any]) -> None:
    for flag in _FLAGS:
        value = schema.get(flag)
        if value is not None and not isinstance(value, bool):
            raise InvalidPayloadError(f'"schema.{flag}" must be a boolean')


def check_meta(meta: Mapping[str, Any], known_fields: set[str]) -> None:
    for key, (shape, words) in _META_SHAPES.items():
        value = meta.get(key)
        if value is not None and not isinstance(value, shape):
            raise InvalidPayloadError(f'"meta.{key}" must be {words}')
    if "validation" in meta:
        rule_checks.check_field_validation(meta["validation"], known_fields)


# column type -> (what a JSON value for it must be, the words for it); JSON columns take anything
_ROW_SHAPES: dict[type, tuple[type | tuple[type, ...], str]] = {
    sa.String: (str, "a string"),
    sa.Boolean: (bool, "a boolean"),
    sa.Integer: (int, "an integer"),
}
_INT32 = 2**31


def check_meta_row(table: sa.Table, row: Mapping[str, Any]) -> None:
    """A metadata row for ``directus_collections``/``directus_fields`` holds only what its columns can store:
    read off the table, so a new column is covered without a second list (a list in ``note`` or a 2**63
    ``sort`` would otherwise reach the driver and answer 500)."""
    for key, value in row.items():
        column = table.columns.get(key)
        if value is None or column is None:
            continue
        shape = next((s for kind, s in _ROW_SHAPES.items() if isinstance(column.type, kind)), None)
        if shape is None:
            continue
        wanted, words = shape
        wrong = not isinstance(value, wanted) or (wanted is int and isinstance(value, bool))
        if not wrong and isinstance(value, int) and not isinstance(value, bool):
            wrong = not -_INT32 <= value < _INT32
        length = getattr(column.type, "length", None)
        if not wrong and isinstance(value, str) and length is not None and len(value) > length:
            words, wrong = f"a string of at most {length} characters", True
        if wrong:
            raise InvalidPayloadError(f'"meta.{key}" must be {words}')


def check_definition(
    name: str, field_type: str, meta: Mapping[str, Any], schema: Mapping[str, Any], known_fields: set[str]
) -> None:
    """Everything about one field definition that can be judged before the DDL runs."""
    check_schema_flags(schema)
    check_meta(meta, known_fields | {name})
    if "default_value" in schema and field_type != "alias":
        check_default(name, field_type, schema["default_value"])


async def check_rows_for_new_column(conn: Any, info: CollectionInfo, spec: ddl.ColumnSpec) -> None:
    """A column added to a table with rows: each row gets the default, which must fit NOT NULL / UNIQUE."""
    if spec.primary_key or spec.auto_increment:
        return
    rows = await conn.scalar(sa.select(sa.func.count()).select_from(info.table))
    if not spec.nullable and spec.default is None and rows:
        raise ContainsNullValuesError(info.name, spec.name)
    if spec.unique and spec.default is not None and rows > 1:
        raise RecordNotUniqueError(info.name, spec.name)


async def check_rows_for_change(conn: Any, info: CollectionInfo, field: str, change: ddl.ColumnChange) -> None:
    """NOT NULL over rows holding null, UNIQUE over rows holding one value twice: refused before the DDL."""
    column = info.table.c[field]
    if change.nullable is False:
        nulls = await conn.scalar(sa.select(sa.func.count()).select_from(info.table).where(column.is_(None)))
        if nulls:  # a default set in the same call does not fill existing rows (PostgreSQL)
            raise ContainsNullValuesError(info.name, field)
    if change.unique:
        twice = sa.select(column).where(column.is_not(None)).group_by(column).having(sa.func.count() > 1).limit(1)
        if (await conn.execute(twice)).first() is not None:
            raise RecordNotUniqueError(info.name, field)
