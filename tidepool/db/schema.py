"""The schema overview: every collection, field and relation the server knows, as immutable values.

It is built by ``tidepool.db.introspect`` from the database itself (so tables Tidepool did not create are
served too) merged with the Directus metadata rows (``directus_collections``, ``directus_fields``,
``directus_relations``). Nothing else decides what a name means: the query compiler resolves every
identifier a client sends through this object and uses the ``sqlalchemy.Table`` it holds, so a name that is
not here can never reach SQL. A schema change builds a new overview and swaps it in whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

# Directus field types. "alias" fields (o2m, m2m) have no column.
FIELD_TYPES = (
    "string",
    "text",
    "integer",
    "bigInteger",
    "float",
    "decimal",
    "boolean",
    "date",
    "time",
    "dateTime",
    "timestamp",
    "json",
    "uuid",
    "csv",
    "hash",
    "alias",
    "unknown",
)

NUMERIC_TYPES = frozenset({"integer", "bigInteger", "float", "decimal"})
STRING_TYPES = frozenset({"string", "text", "csv", "hash", "uuid"})
DATE_TYPES = frozenset({"date", "time", "dateTime", "timestamp"})


@dataclass(frozen=True)
class FieldInfo:
    """One field of a collection: a column, or an alias (``type == "alias"``, e.g. an o2m list)."""

    name: str
    type: str
    special: tuple[str, ...] = ()
    nullable: bool = True
    primary_key: bool = False
    auto_increment: bool = False
    default: Any = None
    max_length: int | None = None
    numeric_precision: int | None = None
    numeric_scale: int | None = None
    unique: bool = False  # as Directus reports ``schema.is_unique`` on this engine (a key is not always)
    indexed: bool = False  # a plain (not unique) index on this column alone: ``schema.is_indexed``
    meta: Mapping[str, Any] | None = None
    data_type: str | None = None  # the database's own type name (``schema.data_type`` in the REST shape)

    @property
    def is_alias(self) -> bool:
        return self.type == "alias"

    @property
    def concealed(self) -> bool:
        return "conceal" in self.special or self.type == "hash" or "hash" in self.special


@dataclass(frozen=True)
class RelationInfo:
    """A many-to-one link: ``collection.field`` holds keys of ``related_collection``.

    ``one_field`` names the o2m alias on the related side, when there is one. An m2m is two of these
    joined through a junction collection (``junction_field`` points at the other side).
    """

    collection: str
    field: str
    related_collection: str | None
    one_field: str | None = None
    junction_field: str | None = None
    sort_field: str | None = None
    one_deselect_action: str = "nullify"
    on_delete: str | None = None
    meta: Mapping[str, Any] | None = None
    constraint_name: str | None = None  # the database foreign key, when there is one


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    primary_key: str
    fields: Mapping[str, FieldInfo]
    table: sa.Table
    singleton: bool = False
    system: bool = False
    meta: Mapping[str, Any] | None = None
    note: str | None = None
    table_info: Mapping[str, Any] | None = None  # the table as Directus describes it (``schema`` of a collection)

    def field(self, name: str) -> FieldInfo | None:
        return self.fields.get(name)

    @property
    def column_fields(self) -> tuple[FieldInfo, ...]:
        return tuple(f for f in self.fields.values() if not f.is_alias)


@dataclass(frozen=True)
class SchemaOverview:
    collections: Mapping[str, CollectionInfo]
    relations: tuple[RelationInfo, ...] = ()
    _m2o: Mapping[tuple[str, str], RelationInfo] = field(default_factory=dict, repr=False)
    _o2m: Mapping[tuple[str, str], RelationInfo] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, collections: Mapping[str, CollectionInfo], relations: tuple[RelationInfo, ...]) -> SchemaOverview:
        m2o = {(r.collection, r.field): r for r in relations if r.related_collection}
        o2m = {(r.related_collection, r.one_field): r for r in relations if r.related_collection and r.one_field}
        return cls(collections, relations, m2o, o2m)

    def collection(self, name: str) -> CollectionInfo | None:
        return self.collections.get(name)

    def m2o(self, collection: str, field_name: str) -> RelationInfo | None:
        """The relation when ``collection.field_name`` is a foreign key to another collection."""
        return self._m2o.get((collection, field_name))

    def o2m(self, collection: str, field_name: str) -> RelationInfo | None:
        """The relation when ``collection.field_name`` is an alias listing rows of another collection."""
        return self._o2m.get((collection, field_name))
