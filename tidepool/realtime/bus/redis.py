"""The Redis bus: one global order for every process, and no event lost across a reconnect.

Design: a single Redis **stream** per namespace (``<ns>:events``) plus a counter (``<ns>:seq``). A writer
publishes with one Lua script that, for each event, ``INCR``s the counter and ``XADD``s the event with that
number. Redis runs a script atomically, so stream order is exactly ``seq`` order, and the events of one
transaction get consecutive numbers. Every process (the writer included) reads the stream with
``XREAD BLOCK`` from the last entry id it saw and dispatches only what it reads, so all processes deliver
the same events in the same order. After a connection error the reader reconnects and resumes from that id,
so a short Redis outage delays events rather than dropping them (the stream keeps the last ~100k entries).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import decimal
import logging
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tidepool.config import Settings
from tidepool.errors import ServiceUnavailableError
from tidepool.events import ChangeEvent
from tidepool.realtime.bus.base import DEFAULT_CONSUMER_SIZE, Consumer

log = logging.getLogger("tidepool.realtime.bus")

STREAM_MAXLEN = 100_000
BLOCK_MS = 1000
RETRY_SECONDS = (0.1, 0.25, 0.5, 1.0, 2.0)

# KEYS[1] counter, KEYS[2] stream; ARGV[1] maxlen, ARGV[2..] one serialized event each.
_PUBLISH_SCRIPT = """
local last = 0
for i = 2, #ARGV do
  last = redis.call('INCR', KEYS[1])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'seq', last, 'event', ARGV[i])
end
return last
"""


def redis_url(settings: Settings) -> str | None:
    """The Redis URL the bus should use, or None for the in-process bus (``REDIS`` or ``REDIS_ENABLED``)."""
    url: str | None = settings.get("REDIS")
    if url:
        return url
    if settings.get("REDIS_ENABLED"):
        return f"redis://{settings['REDIS_HOST']}:{settings['REDIS_PORT']}/0"
    return None


def _json_default(value: Any) -> Any:
    """Values a database row may hold that JSON has no type for: sent in their usual text form."""
    converters: dict[type, Any] = {
        decimal.Decimal: str,
        bytes: lambda b: base64.b64encode(b).decode(),
        dt.timedelta: lambda d: d.total_seconds(),
        frozenset: list,
        set: list,
        tuple: list,
    }
    for kind, convert in converters.items():
        if isinstance(value, kind):
            return convert(value)
    return str(value)


def encode_event(event: ChangeEvent) -> bytes:
    body = {
        "collection": event.collection,
        "action": event.action,
        "keys": list(event.keys),
        "before": list(event.before),
        "payload": event.payload,
        "origin": event.origin,
        "extra": event.extra,
    }
    return orjson.dumps(body, default=_json_default, option=orjson.OPT_NON_STR_KEYS)


def decode_event(raw: bytes, seq: int) -> ChangeEvent:
    body: Mapping[str, Any] = orjson.loads(raw)
    return ChangeEvent(
        collection=body["collection"],
        action=body["action"],
        keys=tuple(body["keys"]),
        before=tuple(body["before"]),
        payload=body["payload"],
        seq=seq,
        origin=body["origin"],
        extra=body["extra"] or {},
    )


class RedisBus:
    def __init__(self, url: str, namespace: str, origin: str | None = None) -> None:
        self.url = url
        self.origin = origin or uuid.uuid4().hex
        self._seq_key = f"{namespace}:seq"
        self._stream_key = f"{namespace}:events"
        self._consumers: list[Consumer] = []
        self._last_seq = 0
        self._last_published = 0
        self._last_id = "0-0"
        self._writer: aioredis.Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._script: Any = None
        self._stopping = False

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def last_published(self) -> int:
        return self._last_published

    async def start(self) -> None:
        """Connect, and start reading after the newest entry (earlier events are not ours to deliver).
        Redis unreachable: ``ServiceUnavailableError`` (``tidepool start`` prints it as one line)."""
        self._writer = aioredis.Redis.from_url(self.url)
        self._script = self._writer.register_script(_PUBLISH_SCRIPT)
        try:
            newest: Any = await self._writer.xrevrange(self._stream_key, count=1)
        except (RedisError, OSError) as exc:
            await self._writer.aclose()
            self._writer = None
            raise ServiceUnavailableError("redis", "Could not connect to Redis", str(exc)) from None
        if newest:
            entry_id, fields = newest[0]
            self._last_id = entry_id.decode()
            self._last_seq = int(fields[b"seq"])
        self._task = asyncio.create_task(self._receive_loop(), name="tidepool-redis-bus")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            # redis-py may absorb a cancellation inside a blocking read; the flag ends the loop regardless
            self._task.cancel()
            await asyncio.wait([self._task], timeout=BLOCK_MS / 1000 + 1)
        if self._writer is not None:
            await self._writer.aclose()
        for consumer in self._consumers:
            consumer.close()
        self._consumers.clear()

    async def publish(self, events: list[ChangeEvent]) -> None:
        if not events:
            return
        assert self._script is not None, "RedisBus.publish before start"
        payloads = [encode_event(replace(e, origin=e.origin or self.origin)) for e in events]
        last = await self._script(keys=[self._seq_key, self._stream_key], args=[STREAM_MAXLEN, *payloads])
        self._last_published = max(self._last_published, int(last))

    def consumer(self, maxsize: int = DEFAULT_CONSUMER_SIZE) -> Consumer:
        consumer = Consumer(maxsize)
        self._consumers.append(consumer)
        return consumer

    def remove_consumer(self, consumer: Consumer) -> None:
        if consumer in self._consumers:
            self._consumers.remove(consumer)
        consumer.close()

    async def _receive_loop(self) -> None:
        """Read the stream for ever; on a connection error reconnect and resume from the last id."""
        attempt = 0
        while not self._stopping:
            reader = aioredis.Redis.from_url(self.url)
            try:
                await self._read_until_error(reader)
            except (RedisError, OSError) as exc:
                delay = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
                log.warning("redis bus: %s; reconnecting in %.2fs", exc, delay)
                attempt += 1
                await asyncio.sleep(delay)
            finally:
                await reader.aclose()

    async def _read_until_error(self, reader: aioredis.Redis) -> None:
        while not self._stopping:
            batches: Any = await reader.xread({self._stream_key: self._last_id}, block=BLOCK_MS, count=500)
            for _stream, entries in batches:
                for entry_id, fields in entries:
                    self._deliver(entry_id.decode(), fields)

    def _deliver(self, entry_id: str, fields: Mapping[bytes, bytes]) -> None:
        self._last_id = entry_id
        seq = int(fields[b"seq"])
        try:
            event = decode_event(fields[b"event"], seq)
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            log.error("redis bus: undecodable entry %s: %s", entry_id, exc)
            return
        self._last_seq = seq
        for consumer in self._consumers:
            consumer.offer(event)
