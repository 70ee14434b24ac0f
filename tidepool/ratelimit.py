"""A small in-memory fixed-window rate limiter, shared by login (per IP and per e-mail) and the WebSocket layer.

Each key gets ``points`` consumptions per window of ``duration`` seconds; the window starts at the key's
first consumption (like rate-limiter-flexible's memory limiter that Directus uses). ``consume`` answers how
many milliseconds remain until the key may try again, or ``None`` when the point was granted. State lives in
one process only: good enough to slow down password guessing and noisy sockets without a Redis round trip.
Expired windows are swept as new keys arrive, so memory stays bounded by the keys active in one window.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Window:
    started: float
    used: int


class RateLimiter:
    """``points`` per ``duration`` seconds per key; ``clock`` is injectable for deterministic use."""

    def __init__(self, points: int, duration: float, clock: Callable[[], float] = time.monotonic) -> None:
        if points < 0 or duration <= 0:
            raise ValueError("points must be >= 0 and duration > 0")
        self.points = points
        self.duration = duration
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._next_sweep = clock() + duration

    def consume(self, key: str, points: int = 1) -> int | None:
        """Spend ``points`` for ``key``: ``None`` if allowed, else the milliseconds until the window resets."""
        now = self._clock()
        self._sweep(now)
        window = self._windows.get(key)
        if window is None or now - window.started >= self.duration:
            window = self._windows[key] = _Window(now, 0)
        window.used += points
        if window.used <= self.points:
            return None
        return max(1, math.ceil((window.started + self.duration - now) * 1000))

    def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    def __len__(self) -> int:
        return len(self._windows)

    def _sweep(self, now: float) -> None:
        """Drop windows that have ended; runs at most once per ``duration``."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.duration
        expired = [k for k, w in self._windows.items() if now - w.started >= self.duration]
        for key in expired:
            del self._windows[key]


class LoginLimiter:
    """The one login limiter of a process (``RATE_LIMITER_LOGIN_*``): every way to turn a password or a refresh
    token into a session — REST json/cookie/session login, REST refresh, the WebSocket ``auth`` frame — spends
    from the same windows, per client IP and (for passwords) per e-mail, so no path is a way around another.
    """

    def __init__(self, points: int, duration: float) -> None:
        self.by_ip = RateLimiter(points, duration)
        self.by_email = RateLimiter(points, duration)

    def consume(self, ip: str | None, email: str | None = None) -> int | None:
        """Spend one attempt; ``None`` when allowed, else the milliseconds until the longest window resets."""
        waits = [self.by_ip.consume(ip or "unknown")]
        if email is not None:
            waits.append(self.by_email.consume(email.strip().lower()))
        refused = [w for w in waits if w is not None]
        return max(refused) if refused else None
