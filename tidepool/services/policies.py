"""Policies (``directus_policies``) and their permission rows (``directus_permissions``).

A policy carries the global flags (``admin_access``, ``app_access``, ``enforce_tfa``), an optional
``ip_access`` list, and the permissions; ``permissions`` can be written inline on the policy. A permission's
``fields`` is ``["*"]`` or a list (stored as CSV), ``permissions`` the item rule, ``validation`` and
``presets`` the create/update extras.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tidepool.context import Action
from tidepool.errors import InvalidPayloadError
from tidepool.query.model import Query
from tidepool.services import rule_checks
from tidepool.services.accounts import AccountItems, Key

ACTIONS = tuple(a.value for a in Action)


class PoliciesService(AccountItems):
    collection = "directus_policies"
    o2m = {
        "permissions": ("directus_permissions", "policy"),
        "roles": ("directus_access", "policy"),
        "users": ("directus_access", "policy"),
    }
    defaults = {"icon": "badge", "enforce_tfa": False, "admin_access": False, "app_access": False}

    def prepare(self, data: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        values = super().prepare(data, creating=creating)
        if creating and not values.get("name"):
            raise InvalidPayloadError('"name" is required')
        for permission in _inline_permissions(values.get("permissions")):
            rule_checks.check_permission(permission, self.ctx.schema, self.ctx.dialect)
        return values


class PermissionRowsService(AccountItems):
    collection = "directus_permissions"
    uuid_key = False

    def prepare(self, data: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        values = super().prepare(data, creating=creating)
        if creating:
            for name in ("policy", "collection", "action"):
                if values.get(name) in (None, ""):
                    raise InvalidPayloadError(f'"{name}" is required')
        if "action" in values and values["action"] not in ACTIONS:
            raise InvalidPayloadError(f'"action" must be one of [{", ".join(ACTIONS)}]')
        if creating:
            rule_checks.check_permission(values, self.ctx.schema, self.ctx.dialect)
        if isinstance(values.get("fields"), str):
            values["fields"] = [f.strip() for f in values["fields"].split(",") if f.strip()]
        return values

    async def update_many(self, keys: Sequence[Key], data: Any) -> list[Key]:
        """Rules are judged against the collection each row is (or becomes) a permission of."""
        if isinstance(data, Mapping) and data.keys() & _JUDGED:
            collections = {data["collection"]} if "collection" in data else await self._collections(keys)
            for collection in collections:
                rule_checks.check_permission({**data, "collection": collection}, self.ctx.schema, self.ctx.dialect)
        return await super().update_many(keys, data)

    async def _collections(self, keys: Sequence[Key]) -> set[str]:
        rows = await self.items.read_many(list(keys), Query(fields=("collection",), limit=-1))
        return {str(row["collection"]) for row in rows}


_JUDGED = frozenset({"permissions", "validation", "presets", "fields"})


def _inline_permissions(value: Any) -> list[Mapping[str, Any]]:
    """Permission rows written inline on a policy: a list, or ``{"create": [...], "update": [...]}``."""
    if isinstance(value, Mapping):
        value = [*(value.get("create") or []), *(value.get("update") or [])]
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []
