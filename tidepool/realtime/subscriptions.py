"""Subscriptions: what each socket asked to watch, registered so that none outlives its socket.

Lifecycle of one ``subscribe``, read top to bottom in ``SubscriptionManager.subscribe`` (one at a time per
socket, so a re-subscribe with the same uid never races the one it replaces):

0. At intake (``realtime/handlers.py``) the message is checked once against ``SUBSCRIBE`` and becomes a
   ``SubscribeRequest`` (schema errors carry no uid, like Directus's zod); ``admit`` claims its place.
1. Check the collection, sanitize the query and resolve its dynamic variables once, as the subscriber is now.
2. Register the subscription as ``SubState.PENDING``, recording ``from_seq`` = the bus's ``last_seq``. This is
   one synchronous step: the socket is checked for ``closed`` in the same step, so a socket that closed
   earlier never gets a registration, and ``remove_client`` (called on close) ends pending ones too.
3. Read the opening: the ``init`` snapshot, or with ``since`` the ``resume`` and the logged events it missed.
   Events numbered after ``from_seq`` that arrive meanwhile are computed as usual but buffered on the
   subscription.
4. Send the opening (``init`` carries ``"seq": from_seq``), then the buffered events in order: ``LIVE``.
   Every commit after the snapshot has a higher number than ``from_seq``; a commit that landed just before
   the snapshot but was numbered after it is caught by the snapshot key set: a ``create`` for a key the client
   already holds from ``init`` is dropped once. So init + events never leave a gap and never duplicate a row.
5. ``ENDED`` (unsubscribed, replaced by the same uid, access lost, collection deleted, socket closed): nothing
   more is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import sys
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any, Protocol

import orjson

from tidepool import eventlog
from tidepool.context import Access, Action
from tidepool.errors import ForbiddenError, LimitExceededError, TidepoolError, VerbatimPayloadError
from tidepool.events import ChangeEvent
from tidepool.query.model import Query
from tidepool.realtime import reads
from tidepool.realtime.bus.base import Bus
from tidepool.realtime.coalesce import DATA, OPEN, SEQ, EventFrame
from tidepool.realtime.connection import text_frame
from tidepool.realtime.places import Claim, Places
from tidepool.realtime.protocol import (
    NO_UID,
    SUBSCRIBE,
    encode,
    error_message,
    js_string,
    reply,
    uid_of,
    validate,
)
from tidepool.runtime import Runtime

log = logging.getLogger("tidepool.realtime")

# Query parts that shape only the init snapshot (improvement 4: events are never paginated away).
_INIT_ONLY = {"limit": None, "offset": None, "page": None, "sort": None}
_NO_ITEM_SUBSCRIPTIONS = ("directus_fields", "directus_relations")
# The system collections Directus 12.4.1 reads a subscription's init through: its ``getService`` table and the
# three its payload code answers itself. Any other ``directus_*`` init is refused there (``ForbiddenError``, even
# for an admin), and ``directus_extensions`` with its own INVALID_PAYLOAD; a subscribe with an ``event`` filter
# reads nothing at subscribe time and is not refused.
_INIT_SERVICED = frozenset(
    f"directus_{name}"
    for name in (
        "access activity comments dashboards files flows folders notifications operations panels permissions "
        "presets policies revisions roles settings shares translations users versions deployments "
        "deployment_projects deployment_runs collections fields relations"
    ).split()
)
_EXTENSIONS_UNSUPPORTED = '"directus_extensions" is currently not supported.'


def _invalid_payload(reason: str) -> str:
    """Directus's ``Invalid payload. <reason>.`` with its own full stop added even after the reason's: these two
    WebSocket reasons end in one, so its clients see ``..`` (``InvalidPayloadError`` never doubles it)."""
    return f"Invalid payload. {reason}."


class Subscriber(Protocol):
    """The part of a WebSocket ``Client`` the event side uses (see realtime/connection.py)."""

    @property
    def id(self) -> str: ...

    @property
    def access(self) -> Access: ...

    @property
    def closed(self) -> bool: ...

    def send(self, frame: bytes | str | EventFrame, *, batch: int | None = None) -> None: ...

    def put(self, frame: bytes, now: float) -> bool: ...

    def close(self, code: int | None = None, reason: str = "") -> None: ...


@dataclass(frozen=True, slots=True)
class SubscribeRequest:
    """A ``subscribe`` message that passed ``SUBSCRIBE``: built once, at intake, and only by ``parse``, so the
    manager never sees (or checks again) an unchecked message."""

    collection: str
    uid: Any  # ``NO_UID``, or the uid as sent (error replies echo it)
    event: str | None = None
    item: str | int | float | None = None
    query: dict[str, Any] | None = None
    since: int | None = None  # resume after this ``seq`` (docs/realtime-events.md)

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> SubscribeRequest:
        """The request, or ``InvalidMessageError`` with zod's text (answered without a uid)."""
        validate(SUBSCRIBE, message)
        return cls(
            collection=message["collection"],
            uid=uid_of(message),
            event=message.get("event"),
            item=message.get("item"),
            query=message.get("query"),
            since=message.get("since"),
        )


class SubState(enum.Enum):
    """Where a subscription is in its life, like Starlette's ``WebSocketState`` (see the module docstring)."""

    PENDING = "pending"  # registered; its opening (init or resume) is being read, events are buffered
    LIVE = "live"  # opening sent; events go straight to the client
    ENDED = "ended"  # removed: nothing more is sent, whatever still holds it


@dataclass(frozen=True)
class Outgoing:
    """One subscription message for a whole group, pre-encoded; only uid and seq differ per subscriber.

    ``items`` are (key as string, encoded element) so a subscriber that must skip some rows (a ``create`` of a
    row it already holds from ``init``) is served by re-joining bytes, never by re-encoding rows.
    """

    seq: int
    event: str
    items: tuple[tuple[str, bytes], ...]
    array: bool = True
    meta: bytes = b""

    def frame(self, sub: Subscription, items: tuple[tuple[str, bytes], ...]) -> bytes:
        """The subscriber's frame: the group's bytes up to its uid (built once, unless ``items`` is a subset of
        the group's), its uid, then the ``seq`` tail (built once)."""
        head = self._head if items is self.items else self._head_of(items)
        return head + sub.uid_bytes + self._tail

    def queued(self, sub: Subscription, items: tuple[tuple[str, bytes], ...]) -> bytes | EventFrame:
        """The subscriber's message as ``Client.send`` takes it: an ``EventFrame`` (which may fold with the next
        event's while queued, ``realtime/coalesce.py``) for an array message, else ``frame``'s bytes."""
        if not self.array:
            return self.frame(sub, items)
        return EventFrame(self._event, self._data_of(items), len(items), self.meta, sub.uid_bytes, self.seq)

    def framed(self, uid: str | None) -> bytes:
        """The whole WebSocket frame (``text_frame``) of the group's message for a subscriber with this uid:
        ``frame`` of all the items, header included. ``deliver_group`` builds it once per uid."""
        return text_frame(self._head + _uid_bytes(uid) + self._tail)

    @cached_property
    def _head(self) -> bytes:
        return self._head_of(self.items)

    @cached_property
    def _tail(self) -> bytes:
        return SEQ + str(self.seq).encode() + b"}"

    @cached_property
    def _data(self) -> bytes:
        return _joined(self.items)

    @cached_property
    def _event(self) -> bytes:
        return self.event.encode()

    def _data_of(self, items: tuple[tuple[str, bytes], ...]) -> bytes:
        """The inside of the ``data`` array for ``items`` (joined once for the group's own items)."""
        return self._data if items is self.items else _joined(items)

    def _head_of(self, items: tuple[tuple[str, bytes], ...]) -> bytes:
        data = b"[" + self._data_of(items) + b"]" if self.array else items[0][1]
        return OPEN + self._event + DATA + data + self.meta


def _joined(items: tuple[tuple[str, bytes], ...]) -> bytes:
    """A message's encoded items, comma-separated (the inside of its ``data`` array)."""
    return b",".join(value for _, value in items)


class Shape:
    """What identical subscriptions share: the sanitized query, its event form and their grouping key.

    Interned per manager by the exact query, so 10,000 sockets subscribed the same way hold one ``Shape``
    (queries are frozen; nothing downstream mutates them). Weakly referenced: it goes with its last user.
    """

    __slots__ = ("query", "event_query", "query_key", "__weakref__")

    def __init__(self, collection: str, query: Query) -> None:
        self.query = query  # as sanitized, for the init read
        self.event_query = query.replace(**_INIT_ONLY)  # events are read without limit/offset/page/sort
        self.query_key = _query_key(collection, self.event_query)


@dataclass(eq=False, slots=True)
class Subscription:
    client: Subscriber
    collection: str
    shape: Shape
    uid: str | None = None
    event: str | None = None
    item: str | None = None
    item_raw: Any = None  # the item as sent (for the init read)
    from_seq: int = 0
    state: SubState = SubState.PENDING
    buffer: list[Outgoing] | None = None  # events that came while PENDING (created by the first one)
    # Keys the client holds from ``init`` and may still see a ``create`` of (see the module docstring);
    # ``None`` once there are none. Immutable and interned, so identical snapshots share one set.
    snapshot_keys: frozenset[str] | None = None
    number: int = 0  # registration number: order within the collection

    @property
    def query(self) -> Query:
        return self.shape.query

    @property
    def event_query(self) -> Query:
        return self.shape.event_query

    @property
    def query_key(self) -> bytes:
        return self.shape.query_key

    @property
    def uid_bytes(self) -> bytes:
        return _uid_bytes(self.uid)

    def wants(self, out: Outgoing) -> bool:
        """Whether this subscription takes this kind of message (its ``event``, if it named one)."""
        return self.event is None or out.event == self.event

    def deliver(self, out: Outgoing) -> None:
        """Send one event message when ``LIVE``, buffer it while ``PENDING``, drop it once ``ENDED``."""
        if self.state is SubState.ENDED or not self.wants(out):
            return
        if self.state is SubState.PENDING:
            if self.buffer is None:
                self.buffer = []
            self.buffer.append(out)
            return
        self._send(out)

    def go_live(self) -> None:
        """``PENDING`` → ``LIVE``: flush what was buffered during the opening read (in seq order), then
        deliver directly."""
        if self.state is not SubState.PENDING:
            return
        buffered, self.buffer = self.buffer or [], None
        self.state = SubState.LIVE
        for out in buffered:
            if out.seq > self.from_seq:
                self._send(out)

    def end(self) -> bool:
        """→ ``ENDED``; False when it had ended already."""
        if self.state is SubState.ENDED:
            return False
        self.state, self.buffer = SubState.ENDED, None
        return True

    def _send(self, out: Outgoing) -> None:
        items = out.items
        held = self.snapshot_keys
        if held is not None and out.event in _FORGETS_SNAPSHOT_KEYS:
            if out.event == "create":  # the client has this row from init already: once, never twice
                items = tuple(i for i in items if i[0] not in held)
            touched = {key for key, _ in out.items}
            if not held.isdisjoint(touched):
                self.snapshot_keys = (held - touched) or None  # copy on write: the old set may be shared
        if items:
            self.client.send(out.queued(self, items), batch=out.seq)  # one event's frames: one queue entry


_FORGETS_SNAPSHOT_KEYS = frozenset({"create", "delete"})


def _init_refusal(collection: str) -> TidepoolError:
    """Why Directus refuses the init read of a system collection it has no service for (``_INIT_SERVICED``)."""
    if collection == "directus_extensions":
        return VerbatimPayloadError(_invalid_payload(_EXTENSIONS_UNSUPPORTED))
    return ForbiddenError()


def _uid_bytes(uid: str | None) -> bytes:
    """The ``uid`` member as spliced into a subscription message (nothing when the subscribe had none)."""
    return b"" if uid is None else b',"uid":' + orjson.dumps(uid)


def deliver_group(
    subs: Sequence[Subscription],
    shared: Sequence[Outgoing],
    one: Callable[[Subscription], int],
    now: float,
) -> int:
    """One event's messages to one group of subscriptions, in one pass; how many were handed over.

    ``shared`` are the group's collection messages; ``one(sub)`` delivers any one subscription's messages the
    general way (and says how many).
    The common case runs inline: a ``LIVE`` collection subscription with no ``event`` filter and no init keys
    to reconcile against these messages takes ``shared`` whole, so each message's frame is built once per uid
    (header included) and written by ``Client.put`` straight to the socket when the socket may take it at loop
    time ``now`` (open, nothing queued, not paused, past the frame gap); else ``send`` queues (or drops) its
    payload as for any frame. Any other subscription goes through ``one`` (``deliver``: buffering while
    ``PENDING``, its ``event`` filter, ``_send``'s reconciliation), exactly as one at a time. No await: nothing
    here waits.
    """
    count = 0
    live, ended = SubState.LIVE, SubState.ENDED
    reconciles = any(out.event in _FORGETS_SNAPSHOT_KEYS for out in shared)
    frames: list[tuple[Outgoing, dict[str | None, bytes]]] = [(out, {}) for out in shared]
    taken = len(shared)
    for sub in subs:
        state = sub.state
        if state is ended:
            continue
        if (
            state is not live
            or sub.item is not None
            or sub.event is not None
            or (reconciles and sub.snapshot_keys is not None)
        ):
            count += one(sub)
            continue
        uid = sub.uid
        client = sub.client
        for out, by_uid in frames:
            frame = by_uid.get(uid)
            if frame is None:
                frame = by_uid[uid] = out.framed(uid)
            if not client.put(frame, now):
                client.send(out.queued(sub, out.items), batch=out.seq)
        count += taken
    return count


def _query_key(collection: str, query: Query) -> bytes:
    """What makes two subscriptions' event reads identical (with the same access): one read serves both."""
    shape = [collection, query.fields, query.filter, query.search, query.deep, query.alias, query.meta]
    return orjson.dumps(shape, option=orjson.OPT_SORT_KEYS, default=str)


def _exact_key(collection: str, query: Query) -> bytes:
    """The whole query, key order kept and non-JSON values tagged by type: equal bytes, equal queries."""
    parts = [collection, *(getattr(query, name) for name in _QUERY_FIELDS)]
    return orjson.dumps(parts, default=_tagged)


_QUERY_FIELDS = tuple(f.name for f in fields(Query))


def _tagged(value: Any) -> Any:
    return {"\u0000": type(value).__qualname__, "v": str(value)}


class SubscriptionManager:
    """Registry of every live and pending subscription of this process, by collection and by socket."""

    def __init__(self, runtime: Runtime, bus: Bus) -> None:
        self.runtime = runtime
        self.bus = bus
        self._by_collection: dict[str, dict[int, Subscription]] = {}
        self._by_client: dict[str, dict[Any, Subscription]] = {}
        self._locks: dict[str, _Turn] = {}  # only while a socket's subscribe runs or waits
        self._shapes: weakref.WeakValueDictionary[bytes, Shape] = weakref.WeakValueDictionary()
        self._snapshots: weakref.WeakValueDictionary[bytes, frozenset[str]] = weakref.WeakValueDictionary()
        self._counter = 0
        self.places = Places(runtime.settings.WEBSOCKETS_SUBSCRIPTIONS_LIMIT)
        # Computes a resuming subscription's missed frames (``Dispatcher.replay``, set when both exist).
        self.replay: Callable[[Subscription, Sequence[ChangeEvent]], Awaitable[list[bytes]]] | None = None

    # ------------------------------------------------------------------------------------------ queries

    def subscriptions_for(self, collection: str) -> list[Subscription]:
        """Registered subscriptions of a collection, in registration order (a copy: safe across awaits)."""
        return list(self._by_collection.get(collection, {}).values())

    def collections(self) -> list[str]:
        """The collections with registered subscriptions."""
        return [name for name, subs in self._by_collection.items() if subs]

    def count(self, client: Subscriber | None = None) -> int:
        """How many subscriptions are registered (for one socket, or in all): tests and metrics."""
        if client is not None:
            return len(self._by_client.get(client.id, {}))
        return sum(len(subs) for subs in self._by_collection.values())

    def groups(self) -> dict[str, dict[bytes, int]]:
        """Per collection, how many registered subscriptions share each event read (``query_key``): what the
        realtime inspector shows (one read per group and access serves every subscription in it)."""
        overview: dict[str, dict[bytes, int]] = {}
        for collection, subs in self._by_collection.items():
            for sub in subs.values():
                counts = overview.setdefault(collection, {})
                counts[sub.query_key] = counts.get(sub.query_key, 0) + 1
        return overview

    # ----------------------------------------------------------------------------------------- messages

    def admit(self, client: Subscriber, uid: Any) -> Claim | None:
        """At intake, before the subscribe waits its turn: a place under ``WEBSOCKETS_SUBSCRIPTIONS_LIMIT``
        (``realtime/places.py``), or ``LIMIT_EXCEEDED`` with its uid at once and ``None``. So a client that
        pipelines thousands of subscribes queues at most ``limit`` of them, and the others cost no read."""
        if self.places.full(client.id, self._by_client.get(client.id, {}), uid, waiting=True):
            client.send(encode(error_message("subscribe", LimitExceededError("Subscriptions"), uid)))
            return None
        return self.places.claim(client.id, uid)

    async def subscribe(self, client: Subscriber, request: SubscribeRequest, claim: Claim | None = None) -> None:
        """One subscribe, from its turn to ``LIVE`` (steps 1-4 of the module docstring). Its claim (from
        ``admit``) passes to the registration, or ends when the subscribe fails; a failure is answered with
        the request's uid."""
        try:
            async with self._turn(client.id):
                try:
                    if self.places.full(client.id, self._by_client.get(client.id, {}), request.uid, waiting=False):
                        raise LimitExceededError("Subscriptions")
                    sub = await self._build(client, request)
                    await self._open(sub, claim, request.since)
                except TidepoolError as exc:
                    client.send(encode(error_message("subscribe", exc, request.uid)))
                except Exception:  # not a Directus error: Directus answers nothing, we log it
                    log.exception("subscribe failed for %r", client)
        finally:
            if claim is not None:
                claim.release()

    def unsubscribe(self, client: Subscriber, uid: Any) -> None:
        """End the socket's subscription ``uid`` (every one without a uid), and confirm it either way."""
        if uid is NO_UID:
            self.remove_client(client)
        else:
            self._remove(self._by_client.get(client.id, {}).get(js_string(uid)))
        client.send(encode(reply("subscription", uid, event="unsubscribe")))

    @contextlib.asynccontextmanager
    async def _turn(self, client_id: str) -> AsyncIterator[None]:
        """One subscribe at a time per socket; the lock exists only while a subscribe holds or awaits it."""
        turn = self._locks.get(client_id)
        if turn is None:
            turn = self._locks[client_id] = _Turn()
        turn.users += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.users -= 1
            if turn.users == 0:  # nobody holds or awaits it: an idle socket keeps no lock
                self._locks.pop(client_id, None)

    def remove_client(self, client: Subscriber) -> None:
        """Drop every subscription of a socket, pending ones included (called when it closes)."""
        self.places.forget(client.id)
        for sub in list(self._by_client.pop(client.id, {}).values()):
            self._remove(sub)

    def close_all(self, code: int, reason: str) -> None:
        """Close every socket that holds a subscription (their subscriptions go when they close)."""
        clients = {sub.client.id: sub.client for subs in self._by_collection.values() for sub in subs.values()}
        for client in clients.values():
            client.close(code, reason)

    def revalidate(self, client: Subscriber) -> None:
        """After ``client``'s access changed: end each subscription it may no longer read (an error frame naming
        the uid, then removed); the others go on, their events read as the new access allows."""
        ctx = self.runtime.context(client.access)
        for sub in list(self._by_client.get(client.id, {}).values()):
            error = reads.lost_read_access(ctx, sub.collection, sub.event_query)
            if error is not None:
                self._end_with(sub, error)

    def end_dropped(self, collections: Iterable[Any], seq: int) -> None:
        """The collections a ``directus_collections`` delete numbered ``seq`` removed: every subscription to one
        of them registered before it ends as on lost access (FORBIDDEN naming its uid). Called by the dispatcher
        in ``seq`` order, so it falls exactly between the old collection's last event and anything later: a
        collection created again under the same name is another one (its own fields, rows and permissions),
        and a subscription to the old one must not carry on into it, on this process or any other, however
        late this process reloads its schema (a subscription made after the delete is to the new one)."""
        for name in collections:
            for sub in self.subscriptions_for(name) if isinstance(name, str) else ():
                if sub.from_seq < seq:
                    self._end_with(sub, ForbiddenError.collection(name))

    def _end_with(self, sub: Subscription, error: TidepoolError) -> None:
        """End ``sub`` and tell its socket why, with its uid."""
        self._remove(sub)
        sub.client.send(encode(error_message("subscribe", error, NO_UID if sub.uid is None else sub.uid)))

    # ------------------------------------------------------------------------------------- registration

    async def _build(self, client: Subscriber, request: SubscribeRequest) -> Subscription:
        collection = request.collection
        ctx = self.runtime.context(client.access)
        if ctx.schema.collections.get(collection) is None or not client.access.allows(collection, Action.READ):
            raise ForbiddenError.collection(collection)
        item = request.item
        if item is not None and collection in _NO_ITEM_SUBSCRIPTIONS:
            raise VerbatimPayloadError(
                _invalid_payload(f"Cannot subscribe to a specific item in the {collection} collection.")
            )
        settings = self.runtime.settings
        query = reads.parse_query(
            request.query,
            max_limit=settings.QUERY_LIMIT_MAX,
            max_complexity=settings.MAX_QUERY_COMPLEXITY,
        )
        # the filter's and every deep ``_filter``'s placeholders, for this subscriber, once: an event is read once
        # per group, with the first subscriber's access, so none may be left for that read to resolve
        query = await reads.resolve_query(ctx, query)
        if request.event is None and collection.startswith("directus_") and collection not in _INIT_SERVICED:
            raise _init_refusal(collection)  # where Directus's init read fails: after the query's checks
        uid, event = request.uid, request.event
        return Subscription(
            client=client,
            collection=sys.intern(collection),
            shape=self._shape(collection, query),
            uid=None if uid is NO_UID else js_string(uid),
            event=None if event is None else sys.intern(event),
            item=None if item is None else js_string(item),
            item_raw=item,
        )

    def _shape(self, collection: str, query: Query) -> Shape:
        """The one ``Shape`` of this exact query on this collection (see ``Shape``)."""
        key = _exact_key(collection, query)
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = Shape(collection, query)
        return shape

    def _snapshot(self, keys: list[str]) -> frozenset[str] | None:
        """The init's row keys as one shared immutable set (``None`` when there are none)."""
        if not keys:
            return None
        key = orjson.dumps(sorted(keys))
        held = self._snapshots.get(key)
        if held is None:
            held = self._snapshots[key] = frozenset(keys)
        return held

    async def _open(self, sub: Subscription, claim: Claim | None, since: int | None) -> None:
        """Register ``PENDING``, answer with ``resume`` + the missed events or with ``init``, flush buffered
        events, go ``LIVE``."""
        if not self._register(sub):
            return
        if claim is not None:
            claim.release()  # the registration now holds the place the claim held
        try:
            opening = None if since is None else await self._resume(sub, since)
            if opening is None:
                opening = [encode(await self._init_message(sub))]
        except BaseException:
            self._remove(sub)
            raise
        if sub.state is SubState.ENDED:  # closed or unsubscribed while the opening was read: nothing stays
            return
        for frame in opening:
            sub.client.send(frame, batch=-sub.number)  # one queue entry, however many events it replays
        sub.go_live()

    async def _resume(self, sub: Subscription, since: int) -> list[bytes] | None:
        """``resume`` and the frames of every logged change after ``since`` this subscription may see, or
        None when the log cannot answer (``since`` beyond retention or the log's head, more than
        ``WEBSOCKETS_RESUME_LIMIT`` events to replay, or the collection deleted meanwhile, its name perhaps
        taken by a new one): the caller answers a fresh ``init`` instead.

        Registration fixed ``from_seq`` (every later event is buffered for the subscription); the log
        supplies ``since < seq <= from_seq``, so the two meet without a gap or an overlap."""
        if self.replay is None:
            return None
        limit = max(0, self.runtime.settings.WEBSOCKETS_RESUME_LIMIT)
        upto = sub.from_seq
        async with self.runtime.engine.connect() as conn:
            events = await eventlog.read_after(conn, since, upto=upto, collection=sub.collection, limit=limit + 1)
            marks = await eventlog.counters(conn)  # read after the events: retention moves it first
            dropped = len(events) <= limit and await eventlog.dropped(conn, sub.collection, since, upto)
        if since < marks[eventlog.PRUNED] or since > marks[eventlog.LAST] or len(events) > limit or dropped:
            return None
        sub.from_seq = max(upto, since)  # a client ahead of this process has seen (upto, since] already
        message: dict[str, Any] = {"type": "subscription", "event": "resume"}
        if sub.uid is not None:
            message["uid"] = sub.uid
        message["seq"] = since
        return [encode(message), *await self.replay(sub, events)]

    def _register(self, sub: Subscription) -> bool:
        """Synchronous: a closed socket is never registered, and ``from_seq`` matches the registration."""
        if sub.client.closed:
            return False
        own = self._by_client.setdefault(sub.client.id, {})
        if sub.uid is not None:
            self._remove(own.get(sub.uid))
        self._counter += 1
        sub.number = self._counter
        key: Any = sub.uid if sub.uid is not None else ("no-uid", self._counter)
        own[key] = sub
        self._by_collection.setdefault(sub.collection, {})[self._counter] = sub
        sub.from_seq = self.bus.last_seq
        return True

    def _remove(self, sub: Subscription | None) -> None:
        if sub is None or not sub.end():
            return
        by_collection = self._by_collection.get(sub.collection, {})
        by_collection.pop(sub.number, None)
        if not by_collection:
            self._by_collection.pop(sub.collection, None)
        own = self._by_client.get(sub.client.id)
        if own is not None:
            for key, registered in list(own.items()):
                if registered is sub:
                    del own[key]

    async def _init_message(self, sub: Subscription) -> dict[str, Any]:
        """The init reply: data per the full query (limit/offset/sort apply here only), or none with ``event``."""
        ctx = self.runtime.context(sub.client.access)
        message: dict[str, Any] = {"type": "subscription", "event": "init"}
        if sub.event is not None:
            await reads.read_by_query(ctx, sub.collection, sub.query.replace(limit=1, meta=None))  # validates
        elif sub.item is not None:
            row = await reads.read_item(ctx, sub.collection, sub.item_raw, sub.query.replace(meta=None))
            message["data"] = row
            sub.snapshot_keys = self._snapshot([sub.item])
        else:
            rows = await reads.read_by_query(ctx, sub.collection, sub.query.replace(meta=None))
            message["data"] = rows
            sub.snapshot_keys = self._snapshot(_row_keys(ctx.schema.collections[sub.collection].primary_key, rows))
            if sub.query.meta:
                message["meta"] = await reads.read_meta(ctx, sub.collection, sub.query, sub.query.meta)
        if sub.uid is not None:
            message["uid"] = sub.uid
        message["seq"] = sub.from_seq
        return message


class _Turn:
    """One socket's subscribe lock and how many subscribes hold or await it (dropped at zero)."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


def _row_keys(primary_key: str, rows: list[dict[str, Any]]) -> list[str]:
    return [js_string(row[primary_key]) for row in rows if primary_key in row]
