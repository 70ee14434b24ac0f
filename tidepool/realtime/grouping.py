"""Which subscribers share one read of an event, and what happens when one group's read fails.

**Access fingerprint.** Subscribers are grouped by (event query, read access). Two accesses may share a read
only when every read the dispatcher makes with one returns the same as with the other, which is exactly the
condition under which a kept read plan may be reused: so the fingerprint *is* the plan cache's access key
(``PlanCache.access_key``: the READ permissions, fields and resolved rules, serialized exactly). It is
total over every permission shape (a ``fields`` of ``None`` beside a list, dict rules, ``$NOW`` values):
nothing is ever ordered against anything. An access that cannot be serialized exactly gets a group of its
own (a fingerprint only it has), which costs a read and never shares one wrongly.

**Isolation.** A failure while computing one group's frames must not cost any other group its event. The
dispatcher catches it per group and calls ``GroupFaults.report``; the group's subscribers get an error frame
naming their ``uid`` (so they know they missed an event and can resubscribe), and the failure is logged once
per (kind, collection) per ``FAULT_LOG_WINDOW`` seconds with the group it happened in, so a persistent fault
that repeats on every event does not flood the log, yet is never silent.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable

from tidepool.context import Access
from tidepool.ratelimit import RateLimiter
from tidepool.realtime.subscriptions import Subscription
from tidepool.services.plans import PlanCache

log = logging.getLogger("tidepool.realtime")

FAULT_LOG_WINDOW = 60.0  # seconds during which one (kind, collection) is logged at most once


class AccessKeys:
    """The fingerprint of an ``Access``'s read rules, cached per ``Access`` object.

    Sockets keep their ``Access`` until it changes, so grouping 1,000 subscribers costs 1,000 dictionary
    lookups, not 1,000 serializations.
    """

    def __init__(self, plans: PlanCache, limit: int = 10_000) -> None:
        self.plans = plans  # the runtime's, whose access-key memo this shares
        self._cache: dict[int, tuple[Access, Hashable]] = {}
        self._limit = limit

    def key(self, access: Access) -> Hashable:
        cached = self._cache.get(id(access))
        if cached is not None and cached[0] is access:
            return cached[1]
        fingerprint = fingerprint_of(access, self.plans)
        if len(self._cache) >= self._limit:
            self._cache.clear()
        self._cache[id(access)] = (access, fingerprint)
        return fingerprint


def fingerprint_of(access: Access, plans: PlanCache) -> Hashable:
    """Equal fingerprints read identically; never raises (see the module docstring)."""
    try:
        exact = plans.access_key(access)
    except Exception:  # a shape the serializer rejects in a way it does not anticipate: still no crash
        exact = None
    return exact if exact is not None else ("unshared", id(access))


class GroupFaults:
    """Rate-limited reporting of per-group failures (see the module docstring)."""

    def __init__(self, window: float = FAULT_LOG_WINDOW) -> None:
        self._limiter = RateLimiter(1, window)

    def report(self, stage: str, collection: str, group: list[Subscription], exc: BaseException) -> None:
        kind = f"{stage}:{type(exc).__module__}.{type(exc).__qualname__}"
        if self._limiter.consume(f"{kind}\x00{collection}") is not None:
            return
        if not group:
            log.error(
                "realtime %s failed on %s; not logged again on %s for %.0f s",
                stage,
                collection,
                collection,
                self._limiter.duration,
                exc_info=exc,
            )
            return
        head = group[0]
        log.error(
            "realtime %s failed on %s for a group of %d subscriber(s) (first: %r, query %s); they get an error "
            "frame, other groups are unaffected; this failure is not logged again on %s for %.0f s",
            stage,
            collection,
            len(group),
            head.client,
            head.query_key.decode(errors="replace")[:300],
            collection,
            self._limiter.duration,
            exc_info=exc,
        )
