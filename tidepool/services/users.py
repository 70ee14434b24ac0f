"""Users: ``directus_users`` with what Directus adds on top of plain items.

Passwords are argon2-hashed by the payload layer (the field's type is ``hash``); static tokens are stored as
their SHA-256 (so ``authn`` finds them by equality and a dump reveals nothing) and read back as
``**********`` (the field is ``conceal``). E-mails are stored lower-cased so login is case-insensitive.
``/users/me`` reads and writes the caller's own record under their access, as Directus does: app access
reads most of it (``services/system_access``), anything else needs a permission row; a caller who may not
read it gets ``{"id"}``. Writes through ``/users/me`` are capped at the personal fields whatever a policy
grants (role, status, token stay the admin's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import orjson

from tidepool.context import Action
from tidepool.errors import ForbiddenError, InvalidCredentialsError, InvalidPayloadError
from tidepool.query.model import Query
from tidepool.security import hash_token
from tidepool.services.accounts import AccountItems
from tidepool.services.items import ItemsService

COLLECTION = "directus_users"

SELF_UPDATE_FIELDS = frozenset(
    {
        "first_name", "last_name", "email", "password", "location", "title", "description", "avatar",
        "language", "last_page", "email_notifications", "appearance", "theme_dark", "theme_light",
        "theme_light_overrides", "theme_dark_overrides", "text_direction",
    }
)  # fmt: skip


class UsersService(AccountItems):
    collection = COLLECTION
    o2m = {"policies": ("directus_access", "user")}
    defaults = {"status": "active", "provider": "default", "email_notifications": True}

    def prepare(self, data: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        values = super().prepare(data, creating=creating)
        if isinstance(values.get("email"), str):
            values["email"] = values["email"].strip().lower()
        if "token" in values:
            values["token"] = _hashed_token(values["token"])
        return values

    async def read_me(self, query: Query) -> dict[str, Any]:
        """The caller's own record as their access allows (app access reads most of it,
        ``services/system_access``); a caller who may not read it gets just ``{"id"}``, as in Directus."""
        user = self._me()
        try:
            return await ItemsService(self.ctx, COLLECTION).read_one(user, query)
        except ForbiddenError:
            return {"id": user}

    async def update_me(self, data: Any) -> str:
        """Change one's own record as an ``update`` permission on ``directus_users`` allows (Directus's app
        minimum grants none); whatever a policy says, only the personal fields, never role, status or token."""
        user = self._me()
        if not isinstance(data, Mapping):
            raise InvalidPayloadError('"value" must be of type object')
        if not self.ctx.access.admin:
            if not self.ctx.access.allows(COLLECTION, Action.UPDATE):
                raise ForbiddenError.collection(COLLECTION)
            for name in data:
                if name not in SELF_UPDATE_FIELDS:
                    raise ForbiddenError.field(name, COLLECTION)
        await ItemsService(self.ctx, COLLECTION).update_one(user, self.prepare(data, creating=False))
        return user

    async def track_page(self, data: Any) -> None:
        """``PATCH /users/me/track/page``: the Data Studio records the page the user is on (``last_page``). No
        activity or revision, as Directus writes it without accountability: the Studio calls it on every page."""
        user = self._me()
        page = data.get("last_page") if isinstance(data, Mapping) else None
        if page in (None, "", 0, False):
            raise InvalidPayloadError('"last_page" key is required')
        value = page if isinstance(page, str) else orjson.dumps(page).decode()
        untracked = replace(self.ctx.as_admin(), tracked=False)
        await ItemsService(untracked, COLLECTION).update_one(user, {"last_page": value[:255]})

    def _me(self) -> str:
        user = self.ctx.accountability.user
        if user is None:
            raise InvalidCredentialsError()
        return user


def _hashed_token(token: Any) -> str | None:
    if token is None or token == "":
        return None
    if not isinstance(token, str):
        raise InvalidPayloadError('"token" must be a string')
    return hash_token(token)
