"""The one resolver of dynamic variables for every caller: permission rules, REST and WebSocket query
filters, subscription filters.

``tidepool.query.dynamic`` does the pure part (which paths a value mentions, the substitution); this module
fetches what those paths need — the caller's user and role records, and the records of its roles and
policies for ``$CURRENT_ROLES.<path>`` / ``$CURRENT_POLICIES.<path>`` — as one read per record kind, only
the fields the value uses. A permission rule (trusted configuration) gets every path with every check
bypassed. A client's value (a query or subscription filter) gets the caller's own records that way too (its
own role's name without read access to ``directus_roles``, as in Directus), through the hops that stay on
them (``role``, a role's ``parent``: ``OWN_HOPS``); any other relational path (``$CURRENT_ROLE.users.email``,
a custom ``$CURRENT_USER.manager.salary``) is read as the caller reads it, so what it may not read is
``null``: compiled with the admin's eyes, such a filter was an oracle on other users' hidden fields. A path
the schema does not have is not fetched and resolves to ``null``, as in Directus (``$CURRENT_USER.nope`` is
null, not an error).

Values without a ``$`` placeholder are returned as they are, without any read, so the common read pays one
walk over its filter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from tidepool.context import Accountability
from tidepool.db.schema import SchemaOverview
from tidepool.errors import ForbiddenError
from tidepool.query.dynamic import DynamicVariables, mentions_dynamic, needed_paths, resolve_dynamic
from tidepool.query.model import Query
from tidepool.services.base import ServiceContext

# needed_paths key → (collection, which records of the caller).
_USERS, _ROLES, _POLICIES = "directus_users", "directus_roles", "directus_policies"


async def variables_for(
    ctx: ServiceContext,
    value: Any,
    *,
    accountability: Accountability | None = None,
    policies: Sequence[str] | None = None,
    as_caller: bool = False,
) -> DynamicVariables:
    """Everything ``value``'s placeholders refer to, for ``accountability`` (default: the context's caller)
    with ``policies`` (default: its own), as of now; ``as_caller``: a client's value (see the module)."""
    who = accountability or ctx.accountability
    held = tuple(who.policies if policies is None else policies)
    paths = needed_paths(value)
    fetch = _Fetch(ctx, as_caller)
    return DynamicVariables(
        now=datetime.now(UTC),
        user=await fetch.record(_USERS, who.user, paths.get("user", set())),
        role=await fetch.record(_ROLES, who.role, paths.get("role", set())),
        roles=tuple(who.roles),
        policies=held,
        role_items=await fetch.records(_ROLES, who.roles, paths.get("roles", set())),
        policy_items=await fetch.records(_POLICIES, held, paths.get("policies", set())),
    )


def at_now(variables: DynamicVariables) -> DynamicVariables:
    """The same fetched records at the current instant (cached rules re-resolve ``$NOW`` per request)."""
    return replace(variables, now=datetime.now(UTC))


async def resolve_configured(ctx: ServiceContext, value: Any) -> Any:
    """An admin-configured ``value`` (a field's ``meta.validation``) with the caller's dynamic variables filled in,
    their paths read with full rights as for permission rules (Directus's ``fetchDynamicVariableData``)."""
    if not mentions_dynamic(value):
        return value
    return resolve_dynamic(value, await variables_for(ctx, value))


async def resolve(ctx: ServiceContext, value: Any) -> Any:
    """A client's ``value`` (a filter) with the caller's dynamic variables filled in; itself when it has none."""
    if not mentions_dynamic(value):
        return value
    return resolve_dynamic(value, await variables_for(ctx, value, as_caller=True))


async def resolve_query(ctx: ServiceContext, query: Query) -> Query:
    """The query's ``filter`` and every ``deep`` ``_filter`` resolved for the caller (the same query object
    when neither has a placeholder, so kept read plans still match)."""
    filters = {"filter": query.filter, "deep": _deep_filters(query.deep)}
    if not mentions_dynamic(filters):
        return query
    variables = await variables_for(ctx, filters, as_caller=True)
    changes: dict[str, Any] = {}
    if query.filter is not None:
        changes["filter"] = resolve_dynamic(query.filter, variables)
    if query.deep is not None:
        changes["deep"] = _resolve_deep(query.deep, variables)
    return query.replace(**changes)


def _deep_filters(deep: Mapping[str, Any] | None) -> list[Any]:
    if not deep:
        return []
    found: list[Any] = []
    for key, value in deep.items():
        if key == "_filter":
            found.append(value)
        elif isinstance(value, Mapping) and not key.startswith("_"):
            found.extend(_deep_filters(value))
    return found


def _resolve_deep(deep: Mapping[str, Any], variables: DynamicVariables) -> dict[str, Any]:
    """Only ``_filter`` values: a ``_search`` for the text ``$NOW`` stays a search for that text."""
    out: dict[str, Any] = {}
    for key, value in deep.items():
        if key == "_filter":
            out[key] = resolve_dynamic(value, variables)
        elif isinstance(value, Mapping) and not key.startswith("_"):
            out[key] = _resolve_deep(value, variables)
        else:
            out[key] = value
    return out


# ---------------------------------------------------------------------------------------- fetching


def known_paths(schema: SchemaOverview, collection: str, paths: Iterable[str]) -> list[str]:
    """The paths that exist in the schema (fields, through m2o/o2m relations); the others stay unfetched
    and resolve to null."""
    return sorted(p for p in paths if _exists(schema, collection, p.split(".")))


def _exists(schema: SchemaOverview, collection: str, segments: list[str]) -> bool:
    info = schema.collection(collection)
    name = segments[0].split(":")[0]
    if info is None or not name or info.field(name) is None:
        return False
    if len(segments) == 1:
        return True
    rest = segments[1:]
    if rest[0].isdigit():  # $CURRENT_USER.roles.0.name: an index into an o2m list
        rest = rest[1:]
        if not rest:
            return True
    m2o = schema.m2o(collection, name)
    if m2o is not None and m2o.related_collection is not None:
        return _exists(schema, m2o.related_collection, rest)
    o2m = schema.o2m(collection, name)
    return o2m is not None and _exists(schema, o2m.collection, rest)


# Relational hops that stay on the caller's own records: its role, and that role's ancestors.
OWN_HOPS = frozenset({(_USERS, "role"), (_ROLES, "parent")})


class _Fetch:
    """Reads the caller's records: every path with the admin's rights, or for a client's value (``as_caller``)
    only the paths that stay on its own records (``own_path``), the others with the caller's own access."""

    def __init__(self, ctx: ServiceContext, as_caller: bool) -> None:
        self.admin = ctx.as_admin()
        self.caller = ctx if as_caller and not ctx.access.admin else None

    async def record(self, collection: str, key: str | None, paths: set[str]) -> Mapping[str, Any] | None:
        """The caller's user (or role) row with just the paths used; ``{"id"}`` when none."""
        if key is None:
            return None
        rows = await self._read(collection, [key], paths)
        return rows[0] if rows else {"id": key}

    async def records(self, collection: str, keys: Sequence[str], paths: set[str]) -> tuple[Mapping[str, Any], ...]:
        """Rows for ``$CURRENT_ROLES.<path>`` / ``$CURRENT_POLICIES.<path>``, only when a value uses them."""
        if not keys or not known_paths(self.admin.schema, collection, paths):
            return ()
        return tuple(await self._read(collection, list(keys), paths))

    async def _read(self, collection: str, keys: list[str], paths: set[str]) -> list[dict[str, Any]]:
        fields = known_paths(self.admin.schema, collection, paths)
        if not fields:
            return [{"id": key} for key in keys]
        own = [f for f in fields if self.caller is None or own_path(self.admin.schema, collection, f)]
        rows = await _rows(self.admin, collection, keys, own)
        if self.caller is not None:
            for field in (f for f in fields if f not in own):
                seen = {str(r.get("id")): r for r in await _rows(self.caller, collection, keys, [field], quiet=True)}
                for row in rows:
                    _merge(row, seen.get(str(row.get("id")), {}))
        return rows


def own_path(schema: SchemaOverview, collection: str, path: str) -> bool:
    """Whether every relational hop of ``path`` is one of ``OWN_HOPS`` and its last segment a value of that
    record (an o2m there would list other records' keys)."""
    *hops, last = [segment.split(":")[0] for segment in path.split(".")]
    for name in hops:
        relation = schema.m2o(collection, name)
        if (collection, name) not in OWN_HOPS or relation is None or relation.related_collection is None:
            return False
        collection = relation.related_collection
    return schema.o2m(collection, last) is None


async def _rows(
    ctx: ServiceContext, collection: str, keys: list[str], fields: list[str], quiet: bool = False
) -> list[dict[str, Any]]:
    """``keys`` of ``collection`` with ``fields``, read as ``ctx``'s caller; ``quiet``: a read the caller may
    not make is no rows (the path then resolves to null), not an error."""
    from tidepool.services.reader import read_many  # the reader builds on this module

    try:
        return [dict(r) for r in await read_many(ctx, collection, keys, Query(fields=("id", *fields)))]
    except ForbiddenError:
        if quiet:
            return []
        raise


def _merge(into: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """``extra``'s values added to ``into``, nested objects merged key by key."""
    for key, value in extra.items():
        current = into.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            _merge(current, value)
        elif key not in into or current is None:
            into[key] = value
