"""``POST /users/invite`` and ``/users/invite/accept``: inviting users by e-mail, as Directus does.

An invitation creates the user with ``status: "invited"`` and the given role (an already invited user gets
the new role) and mails them a link (``services/account_tokens.py``, scope ``invite``,
``USER_INVITE_TOKEN_TTL``); an address that belongs to a user who is not invited any more gets no mail.
Creating users is the admin's right (as for ``POST /users``), checked first: unlike Directus, a caller
without it cannot make the server mail an already invited user again. Accepting sets the
password and makes the user ``active``; an invitation is good while its user is still ``invited``.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from tidepool.errors import ForbiddenError, InvalidInviteError, InvalidPayloadError
from tidepool.services import account_tokens
from tidepool.services.base import ServiceContext
from tidepool.services.mail import Mail, Mailer
from tidepool.services.users import UsersService

SCOPE = "invite"
SUBJECT = "You've been invited"


async def invite(ctx: ServiceContext, mailer: Mailer, emails: Sequence[str], role: str, url: str | None) -> None:
    settings = ctx.settings
    if url and not account_tokens.url_allowed(url, settings.USER_INVITE_URL_ALLOW_LIST):
        raise InvalidPayloadError(f'URL "{url}" can\'t be used to invite users')
    if not ctx.access.admin:  # before anything: Directus would still re-send the mail of an invited user
        raise ForbiddenError()
    outgoing: list[Mail] = []
    async with ctx.transaction() as tx:
        users = UsersService(tx)
        for email in emails:
            user = await account_tokens.user_by_email(tx, email)
            if user is None:
                await users.create_one({"email": email, "role": role, "status": "invited"})
            elif user.status == "invited" and str(user.role) != role:
                await users.update_one(user.id, {"role": role})
            if user is None or user.status == "invited":
                address = user.email if user is not None else email.strip().lower()
                token = account_tokens.sign(
                    settings, {"email": address, "scope": SCOPE}, settings.USER_INVITE_TOKEN_TTL
                )
                outgoing.append(_mail(address, account_tokens.link(settings, url, "accept-invite", token)))
    for mail in outgoing:  # only once the users exist: a link to a user rolled back would be a dead link
        mailer.send(mail)


def _mail(to: str, url: str) -> Mail:
    text = (
        f"You have been invited to a Tidepool project as {to}.\n\nAccept the invitation and choose a password:\n{url}\n"
    )
    html = (
        f"<p>You have been invited to a Tidepool project as {escape(to)}.</p>"
        f'<p><a href="{escape(url, quote=True)}">Accept the invitation and choose a password</a>.</p>'
    )
    return Mail(to=to, subject=SUBJECT, text=text, html=html)


async def accept(ctx: ServiceContext, token: str, password: str) -> None:
    claims = account_tokens.verify(ctx.settings, token, SCOPE)
    user = await account_tokens.user_by_email(ctx, claims["email"])
    if user is None or user.status != "invited":
        raise InvalidInviteError()
    await UsersService(ctx.as_admin()).update_one(user.id, {"password": password, "status": "active"})
