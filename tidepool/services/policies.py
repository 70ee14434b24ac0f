"""Policies (``directus_policies``) and their permission rows (``directus_permissions``).

A policy carries the global flags (``admin_access``, ``app_access``, ``enforce_tfa``), an optional
``ip_access`` list, and the permissions; ``permissions`` can be written inline on the policy. A permission's
``fields`` is ``["*"]`` or a list (stored as CSV), ``permissions`` the item rule, ``validation`` and
``presets`` the create/update extras.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidepool.context import Action
from tidepool.errors import InvalidPayloadError
from tidepool.services.accounts import AccountItems

ACTIONS = tuple(a.value for a in Action)


class PoliciesService(AccountItems):
    collection = "directus_policies"
    o2m = {"permissions": ("directus_permissions", "policy")}
    defaults = {"icon": "badge", "enforce_tfa": False, "admin_access": False, "app_access": False}

    def prepare(self, data: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        values = super().prepare(data, creating=creating)
        if creating and not values.get("name"):
            raise InvalidPayloadError('"name" is required')
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
        if isinstance(values.get("fields"), str):
            values["fields"] = [f.strip() for f in values["fields"].split(",") if f.strip()]
        return values
