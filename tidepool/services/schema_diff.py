"""The difference between the live schema and a snapshot, in Directus's ``/schema/diff`` format.

``snapshot_diff(current, after)`` pairs collections by name and fields and relations by (collection,
field), and describes each pair's difference with ``deepdiff``: a whole entry ``N`` (create) or ``D``
(delete), or ``E``/``A`` changes inside it (update). As in Directus: an auto-increment primary key's
``schema`` is never compared (a migration does not rebuild keys); a field that turns into or out of an alias
is deleted and created again; when a change adds or removes keys inside ``meta``, the meta is replaced whole
(one ``E`` on ``["meta"]``), so it can be applied to a meta that has other keys; the fields and relations of
a deleted collection go with it; ``mode="merge"`` keeps only additions and updates (nothing is deleted).
Unlike Directus, ``systemFields`` (indexes on system fields) is always empty: Tidepool's system tables and
their indexes are its own, and no migration changes them.

``check_snapshot`` is the validation ``POST /schema/diff`` does first, with Directus's messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tidepool.errors import InvalidPayloadError
from tidepool.services import deepdiff
from tidepool.services.deepdiff import MISSING, Change
from tidepool.services.snapshots import (
    DATABASE_CLIENTS,
    DIRECTUS_VERSION,
    sanitize_collection,
    sanitize_field,
    sanitize_relation,
)

Item = Mapping[str, Any]
MODES = ("mirror", "merge")
SECTIONS = ("collections", "fields", "systemFields", "relations")
FIELD_TYPES_ALLOWED = frozenset(
    {
        "alias",
        "bigInteger",
        "boolean",
        "csv",
        "date",
        "dateTime",
        "decimal",
        "float",
        "geometry",
        "hash",
        "integer",
        "json",
        "string",
        "text",
        "time",
        "timestamp",
        "unknown",
        "uuid",
    }
)


# --- validating a snapshot -------------------------------------------------------------------------------


def check_snapshot(snapshot: Any, *, vendor: str, force: bool) -> dict[str, Any]:
    """A snapshot's shape, then (unless ``force``) that it comes from this Directus version and engine."""
    if not isinstance(snapshot, dict):
        raise InvalidPayloadError('"value" must be of type object')
    version = snapshot.get("version")
    if version is None:
        raise InvalidPayloadError('"version" is required')
    if version not in (1, 2) or isinstance(version, bool):
        raise InvalidPayloadError('"version" must be one of [1, 2]')
    if not isinstance(snapshot.get("directus"), str):
        raise InvalidPayloadError(
            '"directus" is required' if "directus" not in snapshot else '"directus" must be a string'
        )
    if "vendor" in snapshot and snapshot["vendor"] not in DATABASE_CLIENTS:
        raise InvalidPayloadError(f'"vendor" must be one of [{", ".join(DATABASE_CLIENTS)}]')
    for section in SECTIONS:
        _check_entries(snapshot, section)
    if force:
        return snapshot
    bypass = 'You can bypass this check by passing the "force" query parameter'
    if snapshot["directus"] != DIRECTUS_VERSION:
        raise InvalidPayloadError(
            f"Provided snapshot's directus version {snapshot['directus']} does not match the current instance's "
            f"version {DIRECTUS_VERSION}. {bypass}"
        )
    if not snapshot.get("vendor"):
        raise InvalidPayloadError(f'Provided snapshot does not contain the "vendor" property. {bypass}')
    if snapshot["vendor"] != vendor:
        raise InvalidPayloadError(
            f"Provided snapshot's vendor {snapshot['vendor']} does not match the current instance's vendor "
            f"{vendor}. {bypass}"
        )
    return snapshot


def _check_entries(snapshot: Mapping[str, Any], section: str) -> None:
    entries = snapshot.get(section, [])
    if not isinstance(entries, list):
        raise InvalidPayloadError(f'"{section}" must be an array')
    for index, entry in enumerate(entries):
        where = f"{section}[{index}]"
        if not isinstance(entry, dict):
            raise InvalidPayloadError(f'"{where}" must be of type object')
        for key in ("collection", "field"):
            if key in entry and not isinstance(entry[key], str):
                raise InvalidPayloadError(f'"{where}.{key}" must be a string')
        if "schema" in entry and entry["schema"] is not None and not isinstance(entry["schema"], dict):
            raise InvalidPayloadError(f'"{where}.schema" must be of type object')
        field_type = entry.get("type")
        if section == "fields" and field_type is not None and field_type not in FIELD_TYPES_ALLOWED:
            raise InvalidPayloadError(f'"{where}.type" must be one of [{", ".join(sorted(FIELD_TYPES_ALLOWED))}]')


# --- diffing -----------------------------------------------------------------------------------------------


def snapshot_diff(current: Mapping[str, Any], after: Mapping[str, Any], mode: str = "mirror") -> dict[str, Any]:
    """Collections, fields, systemFields and relations that differ, each with its list of changes."""
    collections = _pair(
        _list(current, "collections"), _list(after, "collections"), ("collection",), _collection_changes
    )
    fields = _field_entries(_list(current, "fields"), _list(after, "fields"))
    relations = _pair(
        _list(current, "relations"), _list(after, "relations"), ("collection", "field"), _relation_changes
    )
    for entry in relations:
        entry["related_collection"] = _related(entry, current, after)
    kept = _keep(mode)
    result = {
        "collections": [e for e in collections if kept(e)],
        "fields": [e for e in fields if kept(e)],
        "systemFields": [],  # Tidepool manages its system tables' indexes itself: they are never migrated
        "relations": [e for e in relations if kept(e)],
    }
    deleted = {e["collection"] for e in result["collections"] if e["diff"][0]["kind"] == "D"}
    result["fields"] = [e for e in result["fields"] if e["collection"] not in deleted]
    result["relations"] = [e for e in result["relations"] if e["collection"] not in deleted]
    return _ordered(result)


def is_empty(diff: Mapping[str, Any]) -> bool:
    return not any(diff.get(section) for section in SECTIONS)


def _list(snapshot: Mapping[str, Any], section: str) -> list[Item]:
    value = snapshot.get(section)
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _keep(mode: str) -> Callable[[Mapping[str, Any]], bool]:
    """``merge`` drops whole-entry deletions (a change without a path), ``mirror`` keeps everything."""

    def kept(entry: Mapping[str, Any]) -> bool:
        first = entry["diff"][0]
        return mode != "merge" or first["kind"] != "D" or "path" in first

    return kept


def _key(item: Item, names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(item.get(name) for name in names)


def _pair(
    current: Sequence[Item],
    after: Sequence[Item],
    names: tuple[str, ...],
    changes: Callable[[Item | None, Item | None], list[Change] | None],
) -> list[dict[str, Any]]:
    """One entry per item that differs: those of ``current`` in order, then those only in ``after``."""
    after_by_key = {_key(item, names): item for item in after}
    current_keys = {_key(item, names) for item in current}
    out = []
    for item in current:
        found = changes(item, after_by_key.get(_key(item, names)))
        if found:
            out.append({**{n: item.get(n) for n in names}, "diff": found})
    for item in after:
        if _key(item, names) not in current_keys:
            found = changes(None, item)
            if found:
                out.append({**{n: item.get(n) for n in names}, "diff": found})
    return out


def _relation_changes(current: Item | None, after: Item | None) -> list[Change] | None:
    return _with_whole_meta(
        _comparable_relation(sanitize_relation(current)) if current is not None else None,
        _comparable_relation(sanitize_relation(after)) if after is not None else None,
    )


def _collection_changes(current: Item | None, after: Item | None) -> list[Change] | None:
    return _with_whole_meta(
        sanitize_collection(current) if current is not None else None,
        sanitize_collection(after) if after is not None else None,
    )


def _with_whole_meta(current: Item | None, after: Item | None) -> list[Change] | None:
    """The changes; one that adds or removes a key inside ``meta`` replaces the meta whole."""
    changes = deepdiff.diff(MISSING if current is None else current, MISSING if after is None else after)
    if not changes or current is None or after is None:
        return changes
    if not any(c["kind"] == "N" or (c["kind"] == "D" and (c.get("path") or [None])[0] == "meta") for c in changes):
        return changes
    rest = [c for c in changes if (c.get("path") or [None])[0] != "meta"]
    return [{"kind": "E", "path": ["meta"], "lhs": current.get("meta"), "rhs": after.get("meta")}, *rest]


def _field_entries(current: Sequence[Item], after: Sequence[Item]) -> list[dict[str, Any]]:
    """Fields: an auto-increment key's schema is not compared; a change to or from alias is delete + create."""
    after_by_key = {_key(f, ("collection", "field")): f for f in after}
    out: list[dict[str, Any]] = []
    replaced: set[tuple[Any, ...]] = set()
    for field in current:
        key = _key(field, ("collection", "field"))
        other = after_by_key.get(key)
        schema = _schema_of(field)
        whole = bool(schema.get("is_primary_key")) and bool(schema.get("has_auto_increment"))
        if (
            other is not None
            and field.get("type") != other.get("type")
            and "alias" in (field.get("type"), other.get("type"))
        ):
            replaced.add(key)
            other = None
        before = _comparable(sanitize_field(field, whole))
        found = _with_whole_meta(before, _comparable(sanitize_field(other, whole)) if other is not None else None)
        if found:
            out.append({"collection": key[0], "field": key[1], "diff": found})
    current_keys = {_key(f, ("collection", "field")) for f in current}
    for field in after:
        key = _key(field, ("collection", "field"))
        if key not in current_keys or key in replaced:
            created = _comparable(sanitize_field(field))
            out.append({"collection": key[0], "field": key[1], "diff": deepdiff.diff(MISSING, created)})
    return out


# Schema keys a migration does not carry between databases, left out of the comparison: the engine's own type
# name follows from the field's ``type`` and the engine (Tidepool creates a uuid as VARCHAR(36) where Directus's
# knex makes CHAR(36), JSON as TEXT on SQLite), so do the precision of a number that is not a decimal
# (PostgreSQL reports 53 bits for a float, SQLite nothing) and whether a primary key is "unique"; plain
# indexes are not managed by Tidepool, and a foreign key's name is the engine's (SQLite reports none).
# Compared, they would leave a diff that no apply can empty.
ENGINE_KEYS = ("data_type", "is_indexed")
PRECISION_KEYS = ("numeric_precision", "numeric_scale")


def _comparable(field: dict[str, Any]) -> dict[str, Any]:
    schema = field.get("schema")
    if isinstance(schema, dict):
        dropped: tuple[str, ...] = ENGINE_KEYS
        if field.get("type") != "decimal":
            dropped += PRECISION_KEYS
        if schema.get("is_primary_key"):  # a key is always unique; engines differ in saying so
            dropped += ("is_unique",)
        field["schema"] = {k: v for k, v in schema.items() if k not in dropped}
    return field


def _comparable_relation(relation: dict[str, Any]) -> dict[str, Any]:
    schema = relation.get("schema")
    if isinstance(schema, dict):
        relation["schema"] = {k: v for k, v in schema.items() if k != "constraint_name"}
    return relation


def _schema_of(item: Item) -> Mapping[str, Any]:
    schema = item.get("schema")
    return schema if isinstance(schema, Mapping) else {}


def _related(entry: Mapping[str, Any], current: Mapping[str, Any], after: Mapping[str, Any]) -> Any:
    key = (entry.get("collection"), entry.get("field"))
    for snapshot in (current, after):
        for relation in _list(snapshot, "relations"):
            if (relation.get("collection"), relation.get("field")) == key:
                return relation.get("related_collection")
    return None


def _ordered(result: dict[str, Any]) -> dict[str, Any]:
    """Relations as Directus orders their keys: collection, field, related_collection, diff."""
    result["relations"] = [
        {
            "collection": r["collection"],
            "field": r["field"],
            "related_collection": r["related_collection"],
            "diff": r["diff"],
        }
        for r in result["relations"]
    ]
    return result
