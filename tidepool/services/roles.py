"""Roles: ``directus_roles``. Roles nest through ``parent``; a user gets the policies of their role and of
every ancestor. ``policies`` (access rows) can be written inline: ``{"policies": [{"policy": "<id>"}]}``.

A role may not be its own parent, nor get a parent that descends from it (a cycle would make its users'
policy chain endless): refused with Directus's reasons before anything is written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from tidepool.db import system
from tidepool.errors import InvalidPayloadError
from tidepool.services.accounts import AccountItems, Key

SELF_PARENT = "A role cannot be a parent of itself"
DESCENDANT_PARENT = "A role cannot have a parent that is already a descendant of itself"


class RolesService(AccountItems):
    collection = "directus_roles"
    o2m = {"policies": ("directus_access", "role"), "users": ("directus_users", "role")}
    nullify = frozenset({"users"})  # a user taken out of a role stays, without a role (Directus: nullify)
    defaults = {"icon": "supervised_user_circle"}

    def prepare(self, data: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        values = super().prepare(data, creating=creating)
        if values.get("parent") is not None and str(values.get("parent")) == str(values.get("id")):
            raise InvalidPayloadError(SELF_PARENT)
        return values

    async def update_many(self, keys: Sequence[Key], data: Any) -> list[Key]:
        if isinstance(data, Mapping) and data.get("parent") is not None:
            await self._check_nesting([str(k) for k in keys], str(data["parent"]))
        return await super().update_many(keys, data)

    async def _check_nesting(self, keys: list[str], parent: str) -> None:
        """Directus's ``validateRoleNesting``: the new parent and its ancestors must not be a role moved."""
        if parent in keys:
            raise InvalidPayloadError(SELF_PARENT)
        async with self.ctx.connection() as conn:
            rows = await conn.execute(sa.select(system.roles.c.id, system.roles.c.parent))
            parents = {str(row.id): (str(row.parent) if row.parent else None) for row in rows}
        ancestors: list[str] = []
        role: str | None = parent
        while role is not None and role not in ancestors:
            ancestors.append(role)
            role = parents.get(role)
        if any(key in ancestors for key in keys):
            raise InvalidPayloadError(DESCENDANT_PARENT)
