"""``POST /auth/login``, ``/auth/refresh``, ``/auth/logout`` with Directus's modes, shapes and cookies.

Modes: ``json`` answers access and refresh token in the body; ``cookie`` puts the refresh token in the
httpOnly ``directus_refresh_token`` cookie; ``session`` puts the access JWT itself in the httpOnly
``directus_session_token`` cookie and answers only ``expires``. Refresh and logout infer the mode like
Directus: an explicit ``mode`` wins, else ``json`` when the body has a ``refresh_token``, else ``cookie``.
Logins and refreshes are rate-limited by the auth service (``services.auth.spend_login_attempt``), with the
same limiter as the WebSocket ``auth`` frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tidepool.config import Settings
from tidepool.errors import InvalidPayloadError
from tidepool.http.context import runtime_of, where_of
from tidepool.http.requests import json_body
from tidepool.http.responses import JSONResponse, data_response, no_content
from tidepool.services import auth, passwords
from tidepool.services.auth import Tokens
from tidepool.services.base import ServiceContext

MODES = ("json", "cookie", "session")
_MISSING_TOKEN = "The refresh token is required in either the payload or cookie"


async def login(request: Request) -> Response:
    body = _object(await json_body(request))
    email = _required_string(body, "email")
    password = _required_string(body, "password")
    mode = _mode(body, default="json")
    ctx = runtime_of(request).context()
    log_in = auth.login_session if mode == "session" else auth.login
    tokens = await log_in(ctx, email, password, where_of(request))
    return _tokens_response(request, tokens, mode)


async def refresh(request: Request) -> Response:
    ctx, mode, token = await _held_token(request)
    if mode == "session":
        tokens = await auth.refresh_session(ctx, token, where_of(request))
    else:
        tokens = await auth.refresh(ctx, token, where_of(request))
    return _tokens_response(request, tokens, mode)


async def _held_token(request: Request) -> tuple[ServiceContext, str, str]:
    """What refresh and logout both read: the caller's mode and the token that mode keeps (the session-mode
    JWT from its cookie, or the refresh token from the body or its cookie)."""
    body = _object(await json_body(request, allow_empty=True) or {})
    mode = _inferred_mode(body)
    ctx = runtime_of(request).context()
    if mode == "session":
        return ctx, mode, _session_cookie(request, ctx.settings)
    return ctx, mode, _refresh_token_of(request, body, mode, ctx.settings)


def _session_cookie(request: Request, settings: Settings) -> str:
    """The session-mode JWT from its cookie; refresh and logout need it."""
    session_jwt = request.cookies.get(settings.SESSION_COOKIE_NAME)
    if not session_jwt:
        raise InvalidPayloadError(_MISSING_TOKEN)
    return session_jwt


async def logout(request: Request) -> Response:
    ctx, mode, token = await _held_token(request)
    if mode == "session":
        await auth.logout(ctx, session_key=auth.session_of(ctx, token))
    else:
        await auth.logout(ctx, token)
    settings = ctx.settings
    response = no_content()
    for name in (settings.REFRESH_TOKEN_COOKIE_NAME, settings.SESSION_COOKIE_NAME):
        if name in request.cookies:
            _clear_cookie(response, name, settings)
    return response


async def providers(request: Request) -> Response:
    """``GET /auth``: the single-sign-on providers. Tidepool has none (only the e-mail/password login), so the
    list is empty for everyone, ``?sessionOnly`` included (the Data Studio's login form asks with it)."""
    return JSONResponse({"data": [], "disableDefault": False})


async def password_request(request: Request) -> Response:
    """Always 204 (after Directus's stall) unless the body or the ``reset_url`` is wrong: a caller never learns
    whether the address belongs to anyone."""
    body = await json_body(request, allow_empty=True)
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str):
        raise InvalidPayloadError('"email" field is required')
    url = body.get("reset_url") if isinstance(body, dict) else None
    runtime = runtime_of(request)
    await passwords.request_reset(runtime.context(), runtime.mailer, email, url if isinstance(url, str) else None)
    return no_content()


async def password_reset(request: Request) -> Response:
    body = await json_body(request, allow_empty=True)
    fields = body if isinstance(body, dict) else {}
    for key in ("token", "password"):
        if not isinstance(fields.get(key), str):
            raise InvalidPayloadError(f'"{key}" field is required')
    await passwords.reset(runtime_of(request).context(), fields["token"], fields["password"])
    return no_content()


# -- request parsing -------------------------------------------------------------------------------------


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidPayloadError('"value" must be of type object')
    return body


def _required_string(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        raise InvalidPayloadError(f'"{key}" is required')
    if not isinstance(value, str):
        raise InvalidPayloadError(f'"{key}" must be a string')
    if not value:
        raise InvalidPayloadError(f'"{key}" is not allowed to be empty')
    return value


def _mode(body: dict[str, Any], default: str) -> str:
    mode = body.get("mode", default)
    if mode not in MODES:
        raise InvalidPayloadError(f'"mode" must be one of [{", ".join(MODES)}]')
    return str(mode)


def _inferred_mode(body: dict[str, Any]) -> str:
    if "mode" in body:
        return _mode(body, "json")
    return "json" if body.get("refresh_token") else "cookie"


def _refresh_token_of(request: Request, body: dict[str, Any], mode: str, settings: Settings) -> str:
    token = body.get("refresh_token") if mode == "json" else None
    token = token or request.cookies.get(settings.REFRESH_TOKEN_COOKIE_NAME)
    if not isinstance(token, str) or not token:
        raise InvalidPayloadError(_MISSING_TOKEN)
    return token


# -- responses -------------------------------------------------------------------------------------------


def _json_payload(tokens: Tokens) -> dict[str, Any]:
    return {"access_token": tokens.access_token, "expires": tokens.expires, "refresh_token": tokens.refresh_token}


def _cookie_payload(tokens: Tokens) -> dict[str, Any]:
    return {"access_token": tokens.access_token, "expires": tokens.expires}


def _session_payload(tokens: Tokens) -> dict[str, Any]:
    return {"expires": tokens.expires}


_PAYLOADS: dict[str, Callable[[Tokens], dict[str, Any]]] = {
    "json": _json_payload,
    "cookie": _cookie_payload,
    "session": _session_payload,
}


def _tokens_response(request: Request, tokens: Tokens, mode: str) -> Response:
    settings = runtime_of(request).settings
    response = data_response(_PAYLOADS[mode](tokens))
    if mode == "cookie":
        _set_cookie(response, settings.REFRESH_TOKEN_COOKIE_NAME, tokens.refresh_token, tokens, settings)
    elif mode == "session":
        _set_cookie(response, settings.SESSION_COOKIE_NAME, tokens.access_token, tokens, settings)
    return response


def _set_cookie(response: Response, name: str, value: str, tokens: Tokens, settings: Settings) -> None:
    response.set_cookie(
        name,
        value,
        max_age=tokens.refresh_max_age,
        path="/",
        httponly=True,
        secure=settings.REFRESH_TOKEN_COOKIE_SECURE,
        samesite=settings.REFRESH_TOKEN_COOKIE_SAME_SITE,
    )


def _clear_cookie(response: Response, name: str, settings: Settings) -> None:
    response.delete_cookie(
        name,
        path="/",
        httponly=True,
        secure=settings.REFRESH_TOKEN_COOKIE_SECURE,
        samesite=settings.REFRESH_TOKEN_COOKIE_SAME_SITE,
    )
