"""Schema snapshots in Directus's format: the user collections, fields and relations as one document.

``take_snapshot(ctx)`` reads them through the same services as ``GET /collections``, ``/fields`` and
``/relations`` (as an admin sees them), keeps what a schema migration moves (collections, fields and
relations Directus tracks: not the system ones, not tables without a metadata row), removes what depends on
the engine (``sanitize_*``, the keys Directus compares) and sorts everything, so two snapshots of equal
schemas are equal documents. ``snapshot_hash`` is the fingerprint ``/schema/diff`` hands out and
``/schema/apply`` checks: a SHA-1 over the canonical JSON of the snapshot and the Directus version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson
import yaml

from tidepool.services.base import ServiceContext
from tidepool.services.collections import CollectionsService
from tidepool.services.fields import FieldsService
from tidepool.services.relations import RelationsService
from tidepool.services.schema_tx import require_admin

DIRECTUS_VERSION = "12.4.1"  # the Directus release whose protocol Tidepool speaks
SNAPSHOT_VERSION = 1
# SQLAlchemy dialect -> Directus's name for the database client (its ``DatabaseClients``)
VENDORS: dict[str, str] = {"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql"}
DATABASE_CLIENTS = ("mysql", "postgres", "cockroachdb", "sqlite", "oracle", "mssql", "redshift")

# The keys a snapshot keeps (and a diff compares); "schema.x" is a key of the nested ``schema`` object.
COLLECTION_KEYS = ("collection", "fields", "meta", "schema.name")
FIELD_KEYS = ("collection", "field", "type", "meta", "name", "children")
FIELD_SCHEMA_KEYS = tuple(
    "schema." + key
    for key in (
        "name",
        "table",
        "data_type",
        "default_value",
        "max_length",
        "numeric_precision",
        "numeric_scale",
        "is_nullable",
        "is_unique",
        "is_indexed",
        "is_primary_key",
        "is_generated",
        "generation_expression",
        "has_auto_increment",
        "foreign_key_table",
        "foreign_key_column",
    )
)
RELATION_KEYS = ("collection", "field", "related_collection", "meta") + tuple(
    "schema." + key
    for key in (
        "table",
        "column",
        "foreign_key_table",
        "foreign_key_column",
        "constraint_name",
        "on_update",
        "on_delete",
    )
)
SYSTEM_FIELD_KEYS = ("collection", "field", "schema.is_indexed")


def pick(item: Mapping[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    """The keys of ``item`` named in ``paths`` (``a.b`` reaches into ``item["a"]``), absent ones left out."""
    out: dict[str, Any] = {}
    for path in paths:
        head, _, tail = path.partition(".")
        if head not in item:
            continue
        if not tail:
            out[head] = item[head]
        elif isinstance(item[head], Mapping) and tail in item[head]:
            out.setdefault(head, {})[tail] = item[head][tail]
    return out


def sanitize_collection(item: Mapping[str, Any]) -> dict[str, Any]:
    return pick(item, COLLECTION_KEYS)


def sanitize_field(item: Mapping[str, Any], whole_schema: bool = False) -> dict[str, Any]:
    """A field's comparable keys; ``whole_schema`` drops its ``schema`` (an auto-increment key's is never
    changed by a migration)."""
    return pick(item, FIELD_KEYS if whole_schema else FIELD_KEYS + FIELD_SCHEMA_KEYS)


def sanitize_relation(item: Mapping[str, Any]) -> dict[str, Any]:
    return pick(item, RELATION_KEYS)


def sanitize_system_field(item: Mapping[str, Any]) -> dict[str, Any]:
    return pick(item, SYSTEM_FIELD_KEYS)


def sort_deep(value: Any) -> Any:
    """Object keys in order at every depth (arrays keep theirs): equal schemas give equal documents."""
    if isinstance(value, Mapping):
        return {key: sort_deep(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [sort_deep(item) for item in value]
    return value


def _tracked(item: Mapping[str, Any]) -> bool:
    """Directus moves what it manages: not system entries, not tables or columns without a metadata row."""
    meta = item.get("meta")
    return meta is not None and not (isinstance(meta, Mapping) and meta.get("system") is True)


def _indexed_system_field(item: Mapping[str, Any]) -> bool:
    meta, schema = item.get("meta"), item.get("schema")
    return (
        isinstance(meta, Mapping)
        and meta.get("system") is True
        and isinstance(schema, Mapping)
        and bool(schema.get("is_indexed"))
    )


def _without_meta_id(item: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(item)
    if isinstance(out.get("meta"), Mapping):
        out["meta"] = {k: v for k, v in out["meta"].items() if k != "id"}
    return out


def _by_meta_id(item: Mapping[str, Any]) -> tuple[str, int]:
    meta = item.get("meta")
    key = meta.get("id") if isinstance(meta, Mapping) else None
    return str(item.get("collection")), key if isinstance(key, int) else 0


async def take_snapshot(ctx: ServiceContext) -> dict[str, Any]:
    """The schema as Directus's ``GET /schema/snapshot`` gives it (admins only)."""
    require_admin(ctx)
    collections = await CollectionsService(ctx).list_collections()
    fields = FieldsService(ctx).list_fields()
    relations = RelationsService(ctx).list_relations()
    kept_collections = sorted((c for c in collections if _tracked(c)), key=lambda c: str(c["collection"]))
    kept_fields = sorted((f for f in fields if _tracked(f)), key=_by_meta_id)
    kept_relations = sorted((r for r in relations if _tracked(r)), key=_by_meta_id)
    system_fields = sorted(
        (f for f in fields if _indexed_system_field(f)), key=lambda f: (str(f["collection"]), str(f["field"]))
    )
    snapshot: dict[str, Any] = _plain(
        {
            "version": SNAPSHOT_VERSION,
            "directus": DIRECTUS_VERSION,
            "vendor": VENDORS.get(ctx.dialect, ctx.dialect),
            "collections": [sanitize_collection(sort_deep(c)) for c in kept_collections],
            "fields": [sanitize_field(sort_deep(_without_meta_id(f))) for f in kept_fields],
            "systemFields": [sanitize_system_field(f) for f in system_fields],
            "relations": [sanitize_relation(sort_deep(_without_meta_id(r))) for r in kept_relations],
        }
    )
    return snapshot


def _plain(value: Any) -> Any:
    """Plain JSON data (names reflected from the database are ``str`` subclasses, which YAML and hashing
    would treat as objects)."""
    return orjson.loads(orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS))


def snapshot_hash(snapshot: Mapping[str, Any]) -> str:
    """The fingerprint of a snapshot: equal for equal schemas, different after any change Directus compares.

    Directus hashes with the ``object-hash`` package; this is a SHA-1 of the canonical JSON instead. The
    value is opaque to clients, which only hand it back to the server that made it.
    """
    canonical = orjson.dumps(
        {"item": snapshot, "version": DIRECTUS_VERSION}, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
    )
    return hashlib.sha1(canonical).hexdigest()


def to_yaml(value: Any) -> str:
    """A snapshot as a YAML file, keys in their order (the order a reader expects: collection, field ...)."""
    return str(yaml.safe_dump(value, sort_keys=False, allow_unicode=True))


def from_yaml(text: str) -> Any:
    """A YAML snapshot file (``safe_load``: plain data only, never a constructed object)."""
    return yaml.safe_load(text)
