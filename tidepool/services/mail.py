"""Outgoing mail (password resets, invitations) through the transport Directus's ``EMAIL_*`` settings name.

``EMAIL_TRANSPORT=smtp`` sends through ``EMAIL_SMTP_HOST``/``PORT`` (SMTPS with ``EMAIL_SMTP_SECURE``, else
STARTTLS when the server offers it, unless ``EMAIL_SMTP_IGNORE_TLS``; a login when ``EMAIL_SMTP_USER`` is
set). With no transport a mail is not sent and a line says so: the recipient and the subject only, never the
link, whose token is a credential.

As in Directus, the request that causes a mail does not wait for it: ``Mailer.send`` hands it to a background
task and a failure is logged, not answered (a caller learns nothing about the mail server nor, for a
password reset, whether the address exists). ``smtplib`` blocks, so it runs in a thread. The ``Mailer``
belongs to the runtime, which waits for mails still in flight when it closes (``drain``).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from tidepool.config import Settings

log = logging.getLogger("tidepool.mail")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pending: set[asyncio.Task[None]] = set()

    def send(self, mail: Mail) -> None:
        """Deliver ``mail`` in the background (the caller's answer never waits on the mail server)."""
        task = asyncio.create_task(self.deliver(mail), name="tidepool-mail")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def deliver(self, mail: Mail) -> None:
        if self.settings.EMAIL_TRANSPORT != "smtp":
            log.warning("[email] not sent, no EMAIL_TRANSPORT configured: %r to %s", mail.subject, mail.to)
            return
        try:
            await asyncio.to_thread(self._send_smtp, self._message(mail))
        except (OSError, smtplib.SMTPException) as exc:
            log.error("[email] could not send %r to %s: %s", mail.subject, mail.to, type(exc).__name__)

    async def health_checks(self) -> dict[str, list[dict[str, Any]]]:
        """``email:connection`` for ``/server/health`` when a transport is configured: can the SMTP server be
        reached (and logged in to)? The failure's kind only, never the server's words."""
        if self.settings.EMAIL_TRANSPORT != "smtp":
            return {}
        check: dict[str, Any] = {"status": "ok", "componentType": "email"}
        try:
            await asyncio.to_thread(self._connect_and, lambda client: client.noop())
        except (OSError, smtplib.SMTPException) as exc:
            check |= {"status": "error", "output": f"Can't connect to the mail server ({type(exc).__name__})."}
        return {"email:connection": [check]}

    async def drain(self) -> None:
        """Wait for the mails still being sent (a stopping server)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    def _message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.EMAIL_FROM
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.text)
        message.add_alternative(mail.html, subtype="html")
        return message

    def _send_smtp(self, message: EmailMessage) -> None:
        self._connect_and(lambda client: client.send_message(message))

    def _connect_and(self, action: Callable[[smtplib.SMTP], object]) -> None:
        """Open an SMTP session as the settings say (SMTPS, or STARTTLS when offered; a login) and run ``action``."""
        settings = self.settings
        secure = settings.EMAIL_SMTP_SECURE
        port = settings.EMAIL_SMTP_PORT or (465 if secure else 587)
        timeout = settings.EMAIL_SMTP_TIMEOUT
        host = settings.EMAIL_SMTP_HOST
        context = ssl.create_default_context()
        client = (
            smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
            if secure
            else smtplib.SMTP(host, port, timeout=timeout)
        )
        with client:
            if not secure and not settings.EMAIL_SMTP_IGNORE_TLS:
                client.ehlo()
                if client.has_extn("starttls"):
                    client.starttls(context=context)
            if settings.EMAIL_SMTP_USER:
                client.login(settings.EMAIL_SMTP_USER, settings.EMAIL_SMTP_PASSWORD or "")
            action(client)
