"""Applying a schema diff (``POST /schema/apply``, ``tidepool schema apply``) through the schema services.

The diff is checked whole before anything runs: its shape (Directus's messages), the hash of the schema it
was made against (unless ``force``; a mismatch names the first entry that no longer fits, as Directus does),
and what Tidepool cannot do (indexes on system fields, changing a field's type), so a refused diff changes
nothing. Then every step goes through the same service as its REST twin (``CollectionsService``,
``FieldsService``, ``RelationsService``), in Directus's order: new collections with their fields (a group
after its parent), deleted collections (their relations first), updated collections, fields, relations.

All steps share one transaction (``schema_tx.in_steps``): on SQLite and PostgreSQL, whose DDL is
transactional, a failing step rolls back every step before it and the database is as it was. MySQL/MariaDB
commit each DDL statement on their own, so there a failure leaves the steps before it applied (each step
itself is ordered so that it never leaves metadata without its column); the error names the failed step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any

from tidepool.db.system import is_system_collection
from tidepool.errors import InvalidPayloadError
from tidepool.services.base import ServiceContext, TxContext
from tidepool.services.collections import CollectionsService
from tidepool.services.deepdiff import ChangeError, apply_changes
from tidepool.services.fields import FieldsService
from tidepool.services.relations import RelationsService
from tidepool.services.schema_diff import SECTIONS, is_empty
from tidepool.services.schema_tx import in_steps, require_admin, schema_change
from tidepool.services.snapshots import snapshot_hash, take_snapshot

KINDS = ("N", "D", "E", "A")
_AGAIN = "Please generate a new diff and try again"


# --- checks ------------------------------------------------------------------------------------------------


def check_payload(payload: Any) -> dict[str, Any]:
    """``{hash, diff: {collections, fields, systemFields, relations}}`` with Directus's (Joi's) messages."""
    if not isinstance(payload, dict):
        raise InvalidPayloadError('"value" must be of type object')
    if "hash" not in payload:
        raise InvalidPayloadError('"hash" is required')
    if not isinstance(payload["hash"], str):
        raise InvalidPayloadError('"hash" must be a string')
    diff = payload.get("diff")
    if diff is None:
        raise InvalidPayloadError('"diff" is required')
    if not isinstance(diff, dict):
        raise InvalidPayloadError('"diff" must be of type object')
    for section in SECTIONS:
        _check_section(diff, section)
    return payload


def _check_section(diff: Mapping[str, Any], section: str) -> None:
    if section not in diff:
        raise InvalidPayloadError(f'"diff.{section}" is required')
    entries = diff[section]
    if not isinstance(entries, list):
        raise InvalidPayloadError(f'"diff.{section}" must be an array')
    keys = ("collection",) if section == "collections" else ("collection", "field")
    for index, entry in enumerate(entries):
        where = f"diff.{section}[{index}]"
        if not isinstance(entry, dict):
            raise InvalidPayloadError(f'"{where}" must be of type object')
        for key in (*keys, "diff"):
            if key not in entry:
                raise InvalidPayloadError(f'"{where}.{key}" is required')
        for key in keys:
            if not isinstance(entry[key], str):
                raise InvalidPayloadError(f'"{where}.{key}" must be a string')
        changes = entry["diff"]
        if not isinstance(changes, list) or not changes:
            raise InvalidPayloadError(f'"{where}.diff" must be an array of changes')
        for number, change in enumerate(changes):
            if not isinstance(change, dict) or change.get("kind") not in KINDS:
                raise InvalidPayloadError(f'"{where}.diff[{number}].kind" must be one of [{", ".join(KINDS)}]')


def _explain_mismatch(diff: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    """Directus's answer when the schema moved since the diff was made: the first entry that no longer fits,
    else the hash itself."""
    present: dict[str, set[tuple[Any, ...]]] = {
        "collections": {(c["collection"],) for c in current["collections"]},
        "fields": {(f["collection"], f["field"]) for f in current["fields"]},
        "relations": {(r["collection"], r["field"]) for r in current["relations"]},
    }
    for section, noun in (("collections", "collection"), ("fields", "field"), ("relations", "relation")):
        for entry in diff[section]:
            key = (entry["collection"],) if section == "collections" else (entry["collection"], entry["field"])
            name = ".".join(key)
            if section == "relations" and entry.get("related_collection"):
                name += f"-> {entry['related_collection']}"
            kind = entry["diff"][0]["kind"]
            if kind == "N" and key in present[section]:
                raise InvalidPayloadError(
                    f'Provided diff is trying to create {noun} "{name}" but it already exists. {_AGAIN}'
                )
            if kind == "D" and key not in present[section]:
                raise InvalidPayloadError(
                    f'Provided diff is trying to delete {noun} "{name}" but it does not exist. {_AGAIN}'
                )
    raise InvalidPayloadError(
        "Provided hash does not match the current instance's schema hash, indicating the schema has changed "
        f'after this diff was generated. {_AGAIN} or use the "force" query parameter to bypass this check'
    )


def _refuse_unsupported(diff: Mapping[str, Any]) -> None:
    """What Tidepool does not do, refused before any step runs."""
    if diff["systemFields"]:
        first = diff["systemFields"][0]
        raise InvalidPayloadError(
            f'Provided diff is trying to change the index of system field "{first["collection"]}.{first["field"]}": '
            "Tidepool manages the indexes of its system tables itself"
        )
    for entry in diff["fields"]:
        if any(change.get("path") == ["type"] for change in entry["diff"]):
            raise InvalidPayloadError(
                f'Provided diff is trying to change the type of field "{entry["collection"]}.{entry["field"]}": '
                "changing the type of an existing field is not supported"
            )


# --- applying ------------------------------------------------------------------------------------------------


async def apply_diff(ctx: ServiceContext, payload: Any, *, force: bool = False) -> bool:
    """Apply ``{hash, diff}``; False when the diff is empty (nothing to do)."""
    require_admin(ctx)
    diff = check_payload(payload)["diff"]
    if is_empty(diff):
        return False
    current = await take_snapshot(ctx)
    if payload["hash"] != snapshot_hash(current) and not force:
        _explain_mismatch(diff, current)
    _refuse_unsupported(diff)
    async with schema_change(ctx) as tx:
        await _Steps(in_steps(tx), current).run(diff)
    return True


def _first_kind(entry: Mapping[str, Any]) -> str:
    return str(entry["diff"][0]["kind"])


def _nested_meta(change: Mapping[str, Any]) -> bool:
    """An ``N``/``D`` inside ``meta`` (a key added to or removed from it): an update, not a create/delete."""
    path = change.get("path") or []
    return change["kind"] in ("N", "D") and len(path) >= 2 and path[0] == "meta"


class _Steps:
    """One diff's steps over one transaction; every step is a schema service call."""

    def __init__(self, ctx: TxContext, current: Mapping[str, Any]) -> None:
        self.ctx = ctx
        self.current = current

    async def run(self, diff: Mapping[str, Any]) -> None:
        fields = list(diff["fields"])
        created = await self._create_collections(list(diff["collections"]), fields)
        fields = [f for f in fields if f["collection"] not in created]
        for entry in diff["collections"]:
            if _first_kind(entry) == "D":
                await self._step("delete collection", entry["collection"], self._delete_collection(entry["collection"]))
        for entry in diff["collections"]:
            if _first_kind(entry) in ("E", "A"):
                await self._step("update collection", entry["collection"], self._update_collection(entry))
        relations = list(diff["relations"])
        for entry in fields:
            name = f"{entry['collection']}.{entry['field']}"
            await self._step("change field", name, self._field(entry))
            if _first_kind(entry) == "D" and not _nested_meta(entry["diff"][0]):
                relations = [r for r in relations if not _same_field(r, entry) or _first_kind(r) == "N"]
        for entry in relations:
            await self._step("change relation", f"{entry['collection']}.{entry['field']}", self._relation(entry))

    async def _step(self, what: str, name: str, work: Awaitable[object]) -> None:
        """Run one step; a service's refusal keeps its Directus shape, a change that does not fit the current
        value (a path through nothing) is a payload error naming the step."""
        try:
            await work
        except ChangeError as exc:
            raise InvalidPayloadError(f'Cannot {what} "{name}": the diff does not fit it ({exc})') from None

    # collections

    async def _create_collections(self, entries: list[dict[str, Any]], fields: list[dict[str, Any]]) -> set[str]:
        """New collections, each with its new fields; a collection in a group created here after its group."""
        pending = [e for e in entries if _first_kind(e) == "N" and isinstance(e["diff"][0].get("rhs"), dict)]
        created: set[str] = set()
        while pending:
            names = {e["collection"] for e in pending}
            ready = [e for e in pending if (e["diff"][0]["rhs"].get("meta") or {}).get("group") not in names]
            for entry in ready or pending:  # a cycle of groups: create them anyway, in order
                name = entry["collection"]
                own = [f["diff"][0]["rhs"] for f in fields if f["collection"] == name and _first_kind(f) == "N"]
                body = {**entry["diff"][0]["rhs"], "fields": own}
                await self._step("create collection", name, CollectionsService(self.ctx).create_collection(body))
                created.add(name)
            pending = [e for e in pending if e["collection"] not in created]
        return created

    async def _delete_collection(self, name: str) -> None:
        relations = RelationsService(self.ctx)
        for relation in list(self.ctx.schema.relations):  # as Directus: the relations go, the fields stay
            ends = (relation.collection, relation.related_collection)
            if name in ends and not is_system_collection(relation.collection):
                await relations.delete_relation(relation.collection, relation.field)
        await CollectionsService(self.ctx).delete_collection(name)

    async def _update_collection(self, entry: Mapping[str, Any]) -> None:
        before = _find(self.current["collections"], entry["collection"])
        after = apply_changes(before, entry["diff"])
        await CollectionsService(self.ctx).update_collection(entry["collection"], {"meta": after.get("meta")})

    # fields

    async def _field(self, entry: Mapping[str, Any]) -> None:
        collection, field, changes = entry["collection"], entry["field"], entry["diff"]
        service = FieldsService(self.ctx)
        first = changes[0]
        if first["kind"] == "N" and not _nested_meta(first):
            await service.create_field(collection, first["rhs"])
        elif first["kind"] == "D" and not _nested_meta(first):
            await service.delete_field(collection, field)
        else:
            before = _find(self.current["fields"], collection, field)
            after = apply_changes(before, changes)
            await service.update_field(collection, field, _changed(before, after, "meta", "schema"))

    # relations

    async def _relation(self, entry: Mapping[str, Any]) -> None:
        collection, field, changes = entry["collection"], entry["field"], entry["diff"]
        service = RelationsService(self.ctx)
        if changes[0]["kind"] == "N":
            await service.create_relation({**changes[0]["rhs"], "collection": collection, "field": field})
        elif changes[0]["kind"] == "D":
            if any((r.collection, r.field) == (collection, field) for r in self.ctx.schema.relations):
                await service.delete_relation(collection, field)  # else it went with a deleted collection
        else:
            before = _find(self.current["relations"], collection, field)
            after = apply_changes(before, changes)
            body = _changed(before, after, "meta", "schema")
            if "schema" in body:
                body["schema"] = {"on_delete": (body["schema"] or {}).get("on_delete")}
            await service.update_relation(collection, field, body)


def _same_field(relation: Mapping[str, Any], field: Mapping[str, Any]) -> bool:
    return (relation["collection"], relation["field"]) == (field["collection"], field["field"])


def _find(items: list[dict[str, Any]], collection: str, field: str | None = None) -> dict[str, Any]:
    for item in items:
        if item.get("collection") == collection and (field is None or item.get("field") == field):
            return item
    name = collection if field is None else f"{collection}.{field}"
    raise InvalidPayloadError(f'Provided diff is trying to update "{name}" but it does not exist. {_AGAIN}')


def _changed(before: Mapping[str, Any], after: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The parts of ``after`` that differ from ``before`` (an unchanged schema is not rewritten)."""
    return {key: after.get(key) for key in keys if after.get(key) != before.get(key)}
