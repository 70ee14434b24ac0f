"""``/users/me`` (the caller's own user), ``/users/me/track/page``, ``/users/invite`` and ``/users/invite/accept``
(``/users`` itself is ``tidepool.http.crud``'s).

``tidepool.http.routes`` lists ``/users/me`` before ``/users/{id}`` so that ``me`` is never taken for an id.
A public caller asking for ``/users/me`` gets ``INVALID_CREDENTIALS``, as in Directus.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tidepool.errors import ForbiddenError, InvalidPayloadError
from tidepool.http.context import request_context, runtime_of
from tidepool.http.query import query_from_request
from tidepool.http.requests import json_body
from tidepool.http.responses import data_response, no_content
from tidepool.http.writes import read_back
from tidepool.services import invites
from tidepool.services.users import UsersService


async def read_me(request: Request) -> Response:
    service = UsersService(await request_context(request))
    return data_response(await service.read_me(query_from_request(request)))


async def update_me(request: Request) -> Response:
    service = UsersService(await request_context(request))
    query = query_from_request(request)
    await service.update_me(await json_body(request))
    return await read_back(lambda: service.read_me(query))


async def track_page(request: Request) -> Response:
    service = UsersService(await request_context(request))
    await service.track_page(await json_body(request, allow_empty=True))
    return no_content()


async def invite(request: Request) -> Response:
    """``POST /users/invite``; a caller who may not create users gets 204 and nothing happens, as in Directus."""
    ctx = await request_context(request)
    emails, role, url = _invite_body(await json_body(request, allow_empty=True))
    try:
        await invites.invite(ctx, runtime_of(request).mailer, emails, role, url)
    except ForbiddenError:
        pass
    return no_content()


async def accept_invite(request: Request) -> Response:
    token, password = _accept_body(await json_body(request, allow_empty=True))
    await invites.accept(runtime_of(request).context(), token, password)
    return no_content()


# -- Directus's Joi checks of these two bodies, in Joi's order (the known keys, then unknown ones) and texts --

_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)*\.[A-Za-z]{2,}$")
_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
_MISSING = object()


def _invite_body(raw: Any) -> tuple[list[str], str, str | None]:
    body = _joi_object(raw)
    emails = _joi_emails(body)
    role = _joi_string(body, "role", required=True, pattern=(_UUID4, "must be a valid GUID"))
    url = _joi_string(body, "invite_url", required=False, pattern=(_URI, "must be a valid uri"))
    _joi_only(body, ("email", "role", "invite_url"))
    assert role is not None
    return emails, role, url or None


def _accept_body(raw: Any) -> tuple[str, str]:
    body = _joi_object(raw)
    token = _joi_string(body, "token", required=True)
    password = _joi_string(body, "password", required=True)
    _joi_only(body, ("token", "password"))
    assert token is not None and password is not None
    return token, password


def _joi_object(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidPayloadError('"value" must be of type object')
    return raw


def _joi_only(body: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in body:
        if key not in keys:
            raise InvalidPayloadError(f'"{key}" is not allowed')


def _joi_string(
    body: dict[str, Any], key: str, *, required: bool, pattern: tuple[re.Pattern[str], str] | None = None
) -> str | None:
    value = body.get(key, _MISSING)
    if value is _MISSING:
        if required:
            raise InvalidPayloadError(f'"{key}" is required')
        return None
    if not isinstance(value, str):
        raise InvalidPayloadError(f'"{key}" must be a string')
    if value == "":
        raise InvalidPayloadError(f'"{key}" is not allowed to be empty')
    if pattern is not None and not pattern[0].match(value):
        raise InvalidPayloadError(f'"{key}" {pattern[1]}')
    return value


def _joi_emails(body: dict[str, Any]) -> list[str]:
    """``Joi.alternatives(Joi.string().email(), Joi.array().items(Joi.string().email())).required()``."""
    value = body.get("email", _MISSING)
    if value is _MISSING:
        raise InvalidPayloadError('"email" is required')
    if not isinstance(value, list | str):
        raise InvalidPayloadError('"email" must be one of [string, array]')
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        label = f"email[{index}]" if isinstance(value, list) else "email"
        if not isinstance(item, str):
            raise InvalidPayloadError(f'"{label}" must be a string')
        if item == "":
            raise InvalidPayloadError(f'"{label}" is not allowed to be empty')
        if not _EMAIL.match(item):
            raise InvalidPayloadError(f'"{label}" must be a valid email')
    return [str(item) for item in items]
