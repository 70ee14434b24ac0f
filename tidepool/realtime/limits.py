"""Per-connection message rate limit (``RATE_LIMITER_ENABLED`` + ``RATE_LIMITER_WEBSOCKETS_*``).

Directus keys its WebSocket limiter by the connection's random id, not by IP, with fixed windows of
``points`` messages per ``duration`` seconds (falling back to ``RATE_LIMITER_POINTS``/``_DURATION``). A frame
over the limit is answered with ``REQUESTS_EXCEEDED`` "Too many messages, retry after <ms>ms." and dropped;
the socket stays open. The window bookkeeping is the project's shared ``tidepool.ratelimit.RateLimiter``;
this module only reads the settings and owns the per-socket key lifecycle.
"""

from __future__ import annotations

from tidepool.config import Settings
from tidepool.ratelimit import RateLimiter


class MessageLimiter:
    """One limiter for all sockets of the process, keyed by ``Client.id``."""

    def __init__(self, points: int, duration: float) -> None:
        self._limiter = RateLimiter(points, duration)

    def consume(self, client_id: str) -> int | None:
        """``None`` when the frame may proceed, else milliseconds until the client's window resets."""
        return self._limiter.consume(client_id)

    def forget(self, client_id: str) -> None:
        self._limiter.reset(client_id)


def limiter_for(settings: Settings) -> MessageLimiter | None:
    """The WebSocket limiter, or ``None`` when rate limiting is off."""
    if not settings.RATE_LIMITER_ENABLED:
        return None
    points = settings.RATE_LIMITER_WEBSOCKETS_POINTS
    duration = settings.RATE_LIMITER_WEBSOCKETS_DURATION
    if duration is None:
        duration = settings.RATE_LIMITER_DURATION
    return MessageLimiter(points if points is not None else settings.RATE_LIMITER_POINTS, duration)
