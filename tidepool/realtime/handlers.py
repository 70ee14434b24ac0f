"""The handlers of an open socket's messages, one per ``type`` (``DISPATCH``).

``ping`` answers at once; ``items`` runs on the socket's ``items`` lane (replies keep request order);
``subscribe``/``unsubscribe`` are schema-checked here, then handed to the event side's
``SubscriptionManager`` on the ``subscriptions`` lane.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from tidepool.errors import ServiceUnavailableError, TidepoolError
from tidepool.realtime.items import run_items
from tidepool.realtime.protocol import (
    SUBSCRIBE,
    UNSUBSCRIBE,
    error_message,
    reply,
    uid_of,
    validate,
)

if TYPE_CHECKING:
    from tidepool.realtime.session import Session

log = logging.getLogger("tidepool.realtime")


async def _ping(session: Session, message: dict[str, Any]) -> None:
    """Client ``ping`` → ``pong`` with the uid echoed; like Directus, only while the heartbeat is on."""
    if session.hub.heartbeat is not None:
        session.client.send_message(reply("pong", uid_of(message)))


async def _items(session: Session, message: dict[str, Any]) -> None:
    async def job() -> None:
        if not await session.settled():
            return
        uid = uid_of(message)
        ctx = session.hub.runtime.context(session.client.access)
        try:
            data, meta = await run_items(ctx, message)
        except TidepoolError as exc:
            session.client.send_message(error_message("items", exc, uid))
            return
        except Exception:
            log.exception("items message failed")
            session.client.send_message(error_message("items", TidepoolError(), uid))
            return
        body: dict[str, Any] = {"data": data} if meta is None else {"data": data, "meta": meta}
        session.client.send_message(reply("items", uid, **body))

    session.in_lane("items", job)


async def _subscribe(session: Session, message: dict[str, Any]) -> None:
    try:
        validate(SUBSCRIBE, message)
    except TidepoolError as exc:  # schema errors carry no uid (Directus's zod path)
        session.client.send_message(error_message("subscribe", exc))
        return
    _to_manager(session, message, "handle_subscribe")


async def _unsubscribe(session: Session, message: dict[str, Any]) -> None:
    try:
        validate(UNSUBSCRIBE, message)
    except TidepoolError as exc:
        session.client.send_message(error_message("unsubscribe", exc))
        return
    _to_manager(session, message, "handle_unsubscribe")


def _to_manager(session: Session, message: dict[str, Any], method: str) -> None:
    async def job() -> None:
        if not await session.settled():
            return
        manager = session.hub.subscriptions()
        if manager is None:
            unavailable = ServiceUnavailableError("realtime", "Subscriptions are not running")
            session.client.send_message(error_message("subscribe", unavailable, uid_of(message)))
            return
        await getattr(manager, method)(session.client, message)

    session.in_lane("subscriptions", job)


Route = Callable[["Session", dict[str, Any]], Awaitable[None]]  # Session imports DISPATCH: a forward reference

DISPATCH: dict[str, Route] = {
    "ping": _ping,
    "items": _items,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
}
