"""Redis as the news channel between processes: fast, and never needed for correctness.

Every process publishes the events it committed (already numbered by the event log) on one pub/sub channel
(``<REDIS_BUS_NAMESPACE>:events``) and hands what it hears from the others to its log follower
(``realtime/bus/log.py``), which delivers them from memory when they are the next numbers and reads the log
for anything else. So Redis decides nothing: numbers come from the database, order from the follower, and
what Redis loses (it is down, frozen, restarted without persistence, a message too large) the follower
reads from the log at its next poll.

Publishing never delays a write: announcements wait in a bounded queue drained by one task; when Redis is
unreachable they are dropped (one log line per outage) and the subscriber task reconnects with back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tidepool import eventlog
from tidepool.config import Settings
from tidepool.events import ChangeEvent
from tidepool.realtime.bus.log import NewsHandler
from tidepool.seams import translated

log = logging.getLogger("tidepool.realtime.bus")

RETRY_SECONDS = (0.1, 0.25, 0.5, 1.0, 2.0)
MAX_PENDING = 1_000  # announcements waiting to be published
MAX_MESSAGE = 256 * 1024  # larger announcements carry only their numbers (the log has the rest)
TIMEOUT = 2.0  # seconds for Redis to answer before it counts as down (a frozen server too)


def redis_url(settings: Settings) -> str | None:
    """The Redis URL the bus should use, or None for none (``REDIS`` or ``REDIS_ENABLED``)."""
    url = settings.REDIS
    if url:
        return url
    if settings.REDIS_ENABLED:
        return f"redis://{settings.REDIS_HOST}:{settings.REDIS_PORT}/0"
    return None


def encode_news(origin: str, events: Sequence[ChangeEvent]) -> bytes:
    items = [[e.seq, e.collection, e.action, orjson.Fragment(eventlog.encode_body(e))] for e in events]
    message = orjson.dumps({"origin": origin, "events": items})
    if len(message) > MAX_MESSAGE:  # only the numbers: the follower reads the events from the log
        message = orjson.dumps({"origin": origin, "head": max(e.seq or 0 for e in events)})
    return message


def decode_news(raw: bytes) -> tuple[str, list[ChangeEvent], int]:
    """(origin, events carried, the highest number announced)."""
    body: dict[str, Any] = orjson.loads(raw)
    events = [
        eventlog.decode_event(seq, name, action, orjson.dumps(rest))
        for seq, name, action, rest in body.get("events", [])
    ]
    head = max([e.seq or 0 for e in events] + [int(body.get("head", 0))])
    return str(body.get("origin")), events, head


class RedisNotifier:
    def __init__(self, url: str, namespace: str, origin: str) -> None:
        self.url = url
        self.origin = origin
        self.channel = f"{namespace}:events"
        self._pending: deque[bytes] = deque(maxlen=MAX_PENDING)
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._on_news: NewsHandler | None = None
        self._down = False

    def _client(self) -> aioredis.Redis:
        return aioredis.Redis.from_url(self.url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)

    async def check(self) -> None:
        """Redis answers, or ``ServiceUnavailableError`` (``tidepool start`` prints it as one line and exits)."""
        client = self._client()
        try:
            with translated("redis"):
                await client.ping()
        finally:
            await client.aclose()

    async def start(self, on_news: NewsHandler) -> None:
        """Check that Redis answers (see ``check``), then listen and publish."""
        await self.check()
        self._on_news = on_news
        self._tasks = [
            asyncio.create_task(self._listen_forever(), name="tidepool-redis-listen"),
            asyncio.create_task(self._publish_forever(), name="tidepool-redis-publish"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def announce(self, events: Sequence[ChangeEvent]) -> None:
        if events:
            self._pending.append(encode_news(self.origin, events))
            self._ready.set()

    async def _publish_forever(self) -> None:
        client = self._client()
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                while self._pending:
                    message = self._pending[0]
                    try:
                        await client.publish(self.channel, message)
                    except (RedisError, OSError) as exc:
                        self._outage(exc, dropped=len(self._pending))
                        self._pending.clear()
                        break
                    self._pending.popleft()
                    self._back()
        finally:
            await client.aclose()

    async def _listen_forever(self) -> None:
        attempt = 0
        while True:
            client = self._client()
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    attempt = 0
                    self._back()
                    await self._listen(pubsub)
            except (RedisError, OSError) as exc:
                self._outage(exc)
                await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
                attempt += 1
            finally:
                await client.aclose()

    async def _listen(self, pubsub: Any) -> None:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None or message.get("type") != "message":
                continue
            try:
                origin, events, head = decode_news(message["data"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                log.error("redis bus: undecodable message: %s", exc)
                continue
            if origin != self.origin and self._on_news is not None:
                self._on_news(events or [ChangeEvent("", "create", (), seq=head)])

    def _outage(self, exc: BaseException, dropped: int = 0) -> None:
        if not self._down:
            log.warning("redis bus: %s; events still reach this process's subscribers, others read the log", exc)
        if dropped:
            log.debug("redis bus: %d announcement(s) not sent", dropped)
        self._down = True

    def _back(self) -> None:
        if self._down:
            log.warning("redis bus: connected again")
        self._down = False
