"""The handlers of an open socket's messages, one per ``type`` (``DISPATCH``).

``ping`` answers at once; ``items`` runs on the socket's ``items`` lane (replies keep request order);
``subscribe``/``unsubscribe`` are schema-checked here, the only check they get (a subscribe becomes a
``SubscribeRequest``), then handed to the hub's ``SubscriptionManager`` on the ``subscriptions`` lane (a
subscribe past the socket's subscription limit is answered here, at once, without waiting for the lane).

Every route runs, and every frame-level error is sent, only once the socket's send queue has room
(``Client.drained``, in ``Session.on_frame``): a reply is only queued for a client that is reading its earlier
replies, so pipelining never overflows a reading client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from tidepool.errors import InvalidMessageError, TidepoolError
from tidepool.logs import UNEXPECTED
from tidepool.realtime.items import run_items
from tidepool.realtime.protocol import UNSUBSCRIBE, error_message, reply, uid_of, validate
from tidepool.realtime.subscriptions import SubscribeRequest

if TYPE_CHECKING:  # the session imports this module
    from tidepool.realtime.session import Session


async def _ping(session: Session, message: dict[str, Any]) -> None:
    """Client ``ping`` → ``pong`` with the uid echoed; like Directus, only while the heartbeat is on."""
    if session.hub.heartbeat is not None:
        session.client.send_message(reply("pong", uid_of(message)))


async def _items(session: Session, message: dict[str, Any]) -> None:
    async def job() -> None:
        if not await session.settled() or session.refused(message):
            return
        uid = uid_of(message)
        ctx = session.hub.runtime.context(session.client.access)
        try:
            data, meta = await run_items(ctx, message)
        except TidepoolError as exc:
            session.client.send_message(error_message("items", exc, uid))
            return
        except Exception as exc:  # a bug or an unmapped database error: Directus's 500, the socket stays open
            UNEXPECTED.report(f"websocket items {message.get('action')!r}", exc)
            session.client.send_message(error_message("items", TidepoolError(), uid))
            return
        body: dict[str, Any] = {"data": data} if meta is None else {"data": data, "meta": meta}
        session.client.send_message(reply("items", uid, **body))

    session.in_lane("items", job)


async def _subscribe(session: Session, message: dict[str, Any]) -> None:
    """Check the message, claim a place at once, then subscribe in the ``subscriptions`` lane (in turn)."""
    try:
        request = SubscribeRequest.parse(message)
    except InvalidMessageError as exc:  # schema errors carry no uid (Directus's zod path)
        session.client.send_message(error_message("subscribe", exc))
        return
    manager = session.hub.subscriptions
    claim = manager.admit(session.client, request.uid)
    if claim is None:  # over the limit: answered already
        return

    async def job() -> None:
        if not await session.settled() or session.refused(message):  # closed, or stopping, while the job waited
            claim.release()
            return
        await manager.subscribe(session.client, request, claim)

    if not session.in_lane("subscriptions", job):  # refused: the subscribe's place is free again
        claim.release()


async def _unsubscribe(session: Session, message: dict[str, Any]) -> None:
    """Check the message, then unsubscribe in the ``subscriptions`` lane (after the subscribes before it)."""
    try:
        validate(UNSUBSCRIBE, message)
    except InvalidMessageError as exc:
        session.client.send_message(error_message("unsubscribe", exc))
        return
    uid = uid_of(message)

    async def job() -> None:
        if await session.settled() and not session.refused(message):
            session.hub.subscriptions.unsubscribe(session.client, uid)

    session.in_lane("subscriptions", job)


Route = Callable[["Session", dict[str, Any]], Awaitable[None]]  # Session imports DISPATCH: a forward reference

# Each route runs after ``Session.on_frame`` has waited for room in the send queue (see the module docstring).
DISPATCH: dict[str, Route] = {"ping": _ping, "items": _items, "subscribe": _subscribe, "unsubscribe": _unsubscribe}
