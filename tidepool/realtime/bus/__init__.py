"""Event buses: in-process (one server) or Redis (several processes, one global order)."""

from __future__ import annotations

from tidepool.config import Settings
from tidepool.realtime.bus.base import Bus, BusOverflowError, Consumer
from tidepool.realtime.bus.memory import MemoryBus
from tidepool.realtime.bus.redis import RedisBus, redis_url

__all__ = ["Bus", "BusOverflowError", "Consumer", "MemoryBus", "RedisBus", "create_bus"]


def create_bus(settings: Settings) -> Bus:
    """Redis when ``REDIS`` or ``REDIS_ENABLED`` is set, else the in-process bus."""
    url = redis_url(settings)
    if url is None:
        return MemoryBus()
    return RedisBus(url, settings["REDIS_BUS_NAMESPACE"])
