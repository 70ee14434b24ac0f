"""The one resolver of dynamic variables for every caller: permission rules, REST and WebSocket query
filters, subscription filters.

``tidepool.query.dynamic`` does the pure part (which paths a value mentions, the substitution); this module
fetches what those paths need — the caller's user and role records, and the records of its roles and
policies for ``$CURRENT_ROLES.<path>`` / ``$CURRENT_POLICIES.<path>`` — as one read per record kind, only
the fields the value uses, with every check bypassed (a caller may use its own role's name in a filter
without being allowed to read ``directus_roles``; Directus does the same). A path the schema does not have
is not fetched and resolves to ``null``, as in Directus (``$CURRENT_USER.nope`` is null, not an error).

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
) -> DynamicVariables:
    """Everything ``value``'s placeholders refer to, for ``accountability`` (default: the context's caller)
    with ``policies`` (default: its own), as of now."""
    who = accountability or ctx.accountability
    held = tuple(who.policies if policies is None else policies)
    paths = needed_paths(value)
    admin = ctx.as_admin()
    return DynamicVariables(
        now=datetime.now(UTC),
        user=await _record(admin, _USERS, who.user, paths.get("user", set())),
        role=await _record(admin, _ROLES, who.role, paths.get("role", set())),
        roles=tuple(who.roles),
        policies=held,
        role_items=await _records(admin, _ROLES, who.roles, paths.get("roles", set())),
        policy_items=await _records(admin, _POLICIES, held, paths.get("policies", set())),
    )


def at_now(variables: DynamicVariables) -> DynamicVariables:
    """The same fetched records at the current instant (cached rules re-resolve ``$NOW`` per request)."""
    return replace(variables, now=datetime.now(UTC))


async def resolve(ctx: ServiceContext, value: Any) -> Any:
    """``value`` (a filter, preset…) with the caller's dynamic variables filled in; itself when it has none."""
    if not mentions_dynamic(value):
        return value
    return resolve_dynamic(value, await variables_for(ctx, value))


async def resolve_query(ctx: ServiceContext, query: Query) -> Query:
    """The query's ``filter`` and every ``deep`` ``_filter`` resolved for the caller (the same query object
    when neither has a placeholder, so kept read plans still match)."""
    filters = {"filter": query.filter, "deep": _deep_filters(query.deep)}
    if not mentions_dynamic(filters):
        return query
    variables = await variables_for(ctx, filters)
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


async def _record(ctx: ServiceContext, collection: str, key: str | None, paths: set[str]) -> Mapping[str, Any] | None:
    """The caller's user (or role) row with just the paths used; ``{"id"}`` when none."""
    if key is None:
        return None
    fields = known_paths(ctx.schema, collection, paths)
    if not fields:
        return {"id": key}
    from tidepool.services.reader import read_many  # the reader builds on this module

    rows = await read_many(ctx, collection, [key], Query(fields=("id", *fields)))
    return dict(rows[0]) if rows else {"id": key}


async def _records(
    ctx: ServiceContext, collection: str, keys: Sequence[str], paths: set[str]
) -> tuple[Mapping[str, Any], ...]:
    """Rows for ``$CURRENT_ROLES.<path>`` / ``$CURRENT_POLICIES.<path>``, only when a value uses them."""
    fields = known_paths(ctx.schema, collection, paths)
    if not fields or not keys:
        return ()
    from tidepool.services.reader import read_many  # the reader builds on this module

    rows = await read_many(ctx, collection, list(keys), Query(fields=("id", *fields)))
    return tuple(dict(r) for r in rows)
