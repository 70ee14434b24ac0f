"""The event bus: the database's event log followed by every process, with Redis (optional) as the news."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from tidepool.config import Settings
from tidepool.realtime.bus.base import Bus, Consumer, Gap
from tidepool.realtime.bus.log import LogBus
from tidepool.realtime.bus.redis import RedisNotifier, redis_url
from tidepool.services.base import WriteGate

__all__ = ["Bus", "Consumer", "Gap", "LogBus", "RedisNotifier", "create_bus", "redis_url"]


def create_bus(settings: Settings, engine: AsyncEngine, origin: str, gate: WriteGate) -> LogBus:
    """A follower of ``engine``'s event log, told of other processes' events by Redis when ``REDIS`` or
    ``REDIS_ENABLED`` is set (else it reads the log every ``EVENT_LOG_POLL_INTERVAL``); it prunes the log
    through ``gate``, the runtime's write gate."""
    url = redis_url(settings)
    notifier = None if url is None else RedisNotifier(url, settings.REDIS_BUS_NAMESPACE, origin)
    return LogBus(
        engine,
        poll_interval=settings.EVENT_LOG_POLL_INTERVAL,
        retention=(settings.EVENT_LOG_RETENTION_COUNT, settings.EVENT_LOG_RETENTION_AGE),
        prune_interval=settings.EVENT_LOG_PRUNE_INTERVAL,
        notifier=notifier,
        gate=gate,
    )
