"""Access rows (``directus_access``): attach a policy to a role or directly to a user.

A row with neither role nor user attaches its policy to everyone (the public policy's row). ``sort`` orders
a role's or user's policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidepool.errors import InvalidPayloadError
from tidepool.services.accounts import AccountItems


class AccessRowsService(AccountItems):
    collection = "directus_access"

    def prepare(self, data: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        values = super().prepare(data, creating=creating)
        if creating and not values.get("policy"):
            raise InvalidPayloadError('"policy" is required')
        if values.get("role") is not None and values.get("user") is not None:
            raise InvalidPayloadError("An access row attaches a policy to a role or to a user, not both")
        return values
