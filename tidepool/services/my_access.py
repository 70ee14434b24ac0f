"""What the caller may do, as the Data Studio and the SDK ask it: ``/permissions/me``, ``/permissions/me/{collection}
[/{id}]``, ``/roles/me`` and ``/policies/me/globals``.

Everything here is derived from the caller's ``Access`` (``services/permissions.py``), the one place that knows
which policies grant what, so these answers can never disagree with what a read or a write would do.
Shapes are Directus 11's: ``/permissions/me`` maps collection → action → ``{access: none|partial|full, fields,
presets}``; item permissions map ``update``/``delete``/``share`` → ``{access: bool}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from tidepool.context import Action, Permission
from tidepool.db import system
from tidepool.errors import ForbiddenError
from tidepool.query.model import Query
from tidepool.services.base import ServiceContext
from tidepool.services.items import ItemsService
from tidepool.services.reader import read_one

ACTIONS = tuple(action.value for action in Action)  # the admin's answer lists them in this order
USER_ACTIONS = ("read", "create", "update", "delete", "share")  # and a user's in this one, as Directus's
ITEM_ACTIONS = (Action.UPDATE, Action.DELETE, Action.SHARE)


def _require_signed_in(ctx: ServiceContext) -> None:
    """Directus answers these to a user or a role only; the public gets ``FORBIDDEN``."""
    accountability = ctx.accountability
    if accountability.user is None and accountability.role is None:
        raise ForbiddenError()


def collection_access(ctx: ServiceContext) -> dict[str, dict[str, dict[str, Any]]]:
    """``/permissions/me``: per collection the caller has any permission on, each action's access level."""
    _require_signed_in(ctx)
    if ctx.access.admin:
        full = {action: {"access": "full", "fields": ["*"]} for action in ACTIONS}
        return {name: {a: dict(v) for a, v in full.items()} for name in ctx.schema.collections}
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for (collection, action), rules in ctx.access.permissions.items():
        if not rules:
            continue
        entry = result.setdefault(collection, {a: {"access": "none"} for a in USER_ACTIONS})
        entry[action.value] = _action_access(rules)
    return result


def _action_access(rules: Sequence[Permission]) -> dict[str, Any]:
    """One action's access from the permissions granting it: ``partial`` when any has an item rule, the union
    of their fields, their presets merged in order."""
    info: dict[str, Any] = {
        "access": "partial" if any(rule.rule for rule in rules) else "full",
        "fields": _fields(rules),
    }
    presets = _merged_presets(rules)
    if presets:
        info["presets"] = presets
    return info


async def item_permissions(ctx: ServiceContext, collection: str, key: str | None) -> dict[str, dict[str, Any]]:
    """``/permissions/me/{collection}[/{id}]``: may the caller update, delete, share (this item of) the
    collection? An item counts only when the action's rule matches it (it is read under that rule)."""
    if ctx.accountability.user is None:
        raise ForbiddenError()
    if ctx.access.admin:
        return {action.value: {"access": True} for action in ITEM_ACTIONS}
    result: dict[str, dict[str, Any]] = {}
    for action in ITEM_ACTIONS:
        result[action.value] = {"access": await _may(ctx, collection, action, key)}
    info = ctx.schema.collection(collection)
    if info is not None and info.singleton and result["update"]["access"]:
        rules = ctx.access.rules(collection, Action.UPDATE)
        result["update"] |= {"presets": _merged_presets(rules), "fields": _fields(rules)}
    return result


async def _may(ctx: ServiceContext, collection: str, action: Action, key: str | None) -> bool:
    rules = ctx.access.rules(collection, action)
    if not rules or ctx.schema.collection(collection) is None:
        return False
    if key is None:
        return True
    # The item is read with the action's rules standing in for read rules: found means the action applies.
    # (The caller's other permissions stay: a rule may filter through relations, read under their rules.)
    permissions = {**ctx.access.permissions, (collection, Action.READ): tuple(_as_read(rule) for rule in rules)}
    probe = ctx.with_access(replace(ctx.access, permissions=permissions))
    info = ctx.schema.collection(collection)
    assert info is not None
    try:
        await read_one(probe, collection, key, Query(fields=(info.primary_key,)))
    except ForbiddenError:
        return False
    return True


def _as_read(rule: Permission) -> Permission:
    return Permission(rule.collection, Action.READ, fields=None, rule=rule.rule)


def _merged_presets(rules: Sequence[Permission]) -> dict[str, Any] | None:
    presets: dict[str, Any] = {}
    for rule in rules:
        presets.update(rule.presets or {})
    return presets or None


def _fields(rules: Sequence[Permission]) -> list[str]:
    """The union of the rules' fields; ``*`` (every field) absorbs the rest."""
    if any(rule.fields is None or "*" in rule.fields for rule in rules):
        return ["*"]
    return sorted({name for rule in rules for name in rule.fields or ()})


async def my_roles(ctx: ServiceContext, query: Query) -> list[dict[str, Any]]:
    """``/roles/me``: the caller's role and its ancestors, read with the caller's own permissions; a caller
    who may not read ``directus_roles`` gets just the ids, as Directus answers."""
    _require_signed_in(ctx)
    roles = list(ctx.accountability.roles)
    try:
        return await ItemsService(ctx, "directus_roles").read_many(roles, query.replace(limit=-1))
    except ForbiddenError:
        return [{"id": role} for role in roles]


async def policy_globals(ctx: ServiceContext) -> dict[str, bool]:
    """``/policies/me/globals``: the caller's global flags; ``enforce_tfa`` when any of their policies has it.
    The public gets ``{"app_access": false}`` alone, as from Directus."""
    accountability = ctx.accountability
    if accountability.user is None and accountability.role is None:
        return {"app_access": False}
    accountability = ctx.accountability
    enforce = False
    if accountability.policies:
        table = system.policies
        statement = sa.select(table.c.id).where(table.c.id.in_(accountability.policies), table.c.enforce_tfa)
        async with ctx.connection() as conn:
            enforce = (await conn.execute(statement.limit(1))).first() is not None
    return {"app_access": accountability.app, "admin_access": accountability.admin, "enforce_tfa": enforce}
