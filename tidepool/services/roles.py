"""Roles: ``directus_roles``. Roles nest through ``parent``; a user gets the policies of their role and of
every ancestor. ``policies`` (access rows) can be written inline: ``{"policies": [{"policy": "<id>"}]}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidepool.errors import InvalidPayloadError
from tidepool.services.accounts import AccountItems


class RolesService(AccountItems):
    collection = "directus_roles"
    o2m = {"policies": ("directus_access", "role")}
    defaults = {"icon": "supervised_user_circle"}

    def prepare(self, data: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        values = super().prepare(data, creating=creating)
        if values.get("parent") is not None and values.get("parent") == values.get("id"):
            raise InvalidPayloadError('"parent" cannot be the role itself')
        return values
