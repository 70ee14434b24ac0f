"""``POST /auth/password/request`` and ``/auth/password/reset``: a forgotten password, as Directus handles it.

A request for an active user of the default provider mails a reset link (``services/account_tokens.py``);
for anyone else nothing happens. Either way the answer is the same 204 and takes at least
``STALL_SECONDS`` (Directus's 500 ms), so neither the answer nor its timing tells whether the address exists.
A reset sets the new password (and ``active``) when the token is a reset token for an active user whose
password has not changed since it was made.
"""

from __future__ import annotations

import asyncio
import time
from html import escape

from tidepool.errors import ForbiddenError, InvalidPayloadError
from tidepool.services import account_tokens
from tidepool.services.base import ServiceContext
from tidepool.services.mail import Mail, Mailer
from tidepool.services.users import UsersService

SCOPE = "password-reset"
STALL_SECONDS = 0.5
SUBJECT = "Password Reset Request"


async def request_reset(ctx: ServiceContext, mailer: Mailer, email: str, url: str | None) -> None:
    started = time.monotonic()
    settings = ctx.settings
    if url and not account_tokens.url_allowed(url, settings.PASSWORD_RESET_URL_ALLOW_LIST):
        raise InvalidPayloadError(f'URL "{url}" can\'t be used to reset passwords')
    user = await account_tokens.user_by_email(ctx, email)
    if user is not None and user.status == "active" and user.provider == "default":
        claims = {
            "email": user.email,
            "scope": SCOPE,
            "hash": account_tokens.password_fingerprint(settings, user.password),
        }
        token = account_tokens.sign(settings, claims, settings.PASSWORD_RESET_TOKEN_TTL)
        mailer.send(_mail(user.email, account_tokens.link(settings, url, "reset-password", token)))
    await asyncio.sleep(max(0.0, STALL_SECONDS - (time.monotonic() - started)))


def _mail(to: str, url: str) -> Mail:
    text = (
        f"A password reset was requested for {to}.\n\nChoose a new password here (the link works once):\n{url}\n\n"
        "If you did not ask for this, ignore this mail: your password stays as it is.\n"
    )
    html = (
        f"<p>A password reset was requested for {escape(to)}.</p>"
        f'<p><a href="{escape(url, quote=True)}">Choose a new password</a> (the link works once).</p>'
        "<p>If you did not ask for this, ignore this mail: your password stays as it is.</p>"
    )
    return Mail(to=to, subject=SUBJECT, text=text, html=html)


async def reset(ctx: ServiceContext, token: str, password: str) -> None:
    settings = ctx.settings
    claims = account_tokens.verify(settings, token, SCOPE)
    user = await account_tokens.user_by_email(ctx, claims["email"])
    if user is None or user.status != "active":
        raise ForbiddenError()
    if claims.get("hash") != account_tokens.password_fingerprint(settings, user.password):
        raise ForbiddenError()
    await UsersService(ctx.as_admin()).update_one(user.id, {"password": password, "status": "active"})
