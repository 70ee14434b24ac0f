"""Finished read plans, kept so that a read seen before skips planning and SQL construction.

Planning a read (resolving names, checking permissions, building SQLAlchemy statements, and SQLAlchemy
deriving each new statement's cache key) costs more CPU than running a small read. A plan depends on exactly
these things, which together are the key:

- the schema overview, by identity: every DDL reloads the schema into a new object, so a plan made for an
  old schema is never found again (the entry also holds the schema, so its ``id`` cannot be reused while
  the entry lives, and a hit is checked with ``is``);
- the dialect, the collection, the kind of read (plain, by keys, aggregate, meta) and the default limit;
- the caller's READ permissions (fields and resolved rules; admins share one key). A rule resolved from
  ``$NOW`` differs on every request, so such callers simply miss, never read a stale plan;
- the query, serialized in request order (order decides output key order), with JSON types kept apart
  (``true`` is not ``1``). Anything that can't be serialized exactly is not cached.

Values in the query stay bound parameters of the kept statements; keys (``:keys``) are bound per run.
The store (``PlanCache``) is an LRU held by the runtime (``ServiceContext.plans``), never shared with
another runtime of the process (tests run several servers in threads, and read it from theirs: hence the
lock), bounded by count (``MAX_PLANS``) and by approximate bytes (``PLAN_CACHE_MAX_SIZE``): a plan's
statements hold the query's values, so thirty distinct large queries once kept 200 MB alive. A plan's size
is estimated from its query key (``estimate``, measured with tracemalloc: a plan takes 8-120 times its
query key's bytes, the most for tiny queries and long ``_in`` lists of numbers), and a plan estimated at
more than a sixteenth of the budget is not kept at all, so one huge query cannot evict the working set.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, TypeVar

import orjson

from tidepool.context import Access, Action
from tidepool.db.schema import SchemaOverview
from tidepool.query.model import Query
from tidepool.services.base import ServiceContext

T = TypeVar("T")
Key = tuple[Any, ...]

MAX_PLANS = 1024
_MAX_ACCESS_KEYS = 1024
_ADMIN = b"admin"
# estimate(): a fixed part (statement objects) plus a multiple of the query key's length (the values).
_BASE_BYTES = 8 * 1024
_BYTES_PER_KEY_BYTE = 40
_MAX_SHARE = 16  # one plan may take at most this fraction (1/16) of the budget


class PlanCache:
    """One runtime's kept plans (an LRU within ``PLAN_CACHE_MAX_SIZE``) and its memo of access keys."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._plans: OrderedDict[Key, tuple[SchemaOverview, Any, int]] = OrderedDict()
        self._bytes = 0  # the sum of the kept plans' estimates
        # id(access.permissions) -> (that mapping, its key): the permission service hands out the same mapping
        # for every request of a user whose rules have no $NOW, so the key is serialized once per user, not per
        # read.
        self._access_keys: dict[int, tuple[object, bytes]] = {}

    def get(self, schema: SchemaOverview, plan_key: Key) -> Any:
        """The plan kept under ``plan_key`` for ``schema``, or None."""
        with self._lock:
            entry = self._plans.get(plan_key)
            if entry is None or entry[0] is not schema:
                return None
            self._plans.move_to_end(plan_key)
            return entry[1]

    def put(self, schema: SchemaOverview, plan_key: Key, plan: Any, budget: int) -> None:
        """Keep ``plan`` within ``budget`` bytes (dropping the least recently used), unless it is too large."""
        cost = estimate(plan_key)
        if cost * _MAX_SHARE > budget:
            return  # too large to keep: planned again when asked again
        with self._lock:
            previous = self._plans.pop(plan_key, None)
            if previous is not None:
                self._bytes -= previous[2]
            self._plans[plan_key] = (schema, plan, cost)
            self._bytes += cost
            while self._bytes > budget or len(self._plans) > MAX_PLANS:
                self._bytes -= self._plans.popitem(last=False)[1][2]

    def clear(self) -> None:
        with self._lock:
            self._plans.clear()
            self._access_keys.clear()
            self._bytes = 0

    def size(self) -> int:
        """How many plans are kept."""
        return len(self._plans)

    def bytes_used(self) -> int:
        """The kept plans' estimated bytes (``estimate``), which ``PLAN_CACHE_MAX_SIZE`` bounds."""
        return self._bytes

    def keys(self) -> list[Key]:
        """The kept plans' keys, least recently used first."""
        with self._lock:
            return list(self._plans)

    def access_key(self, access: Access) -> bytes | None:
        """The caller's READ permissions as bytes (what a read plan can depend on)."""
        if access.admin:
            return _ADMIN
        permissions = access.permissions
        known = self._access_keys.get(id(permissions))
        if known is not None and known[0] is permissions:
            return known[1]
        reads = [
            [collection, None if p.fields is None else sorted(p.fields), p.rule]
            for (collection, action), granted in permissions.items()
            if action == Action.READ
            for p in granted
        ]
        serialized = _dumps(reads)
        if serialized is not None:
            if len(self._access_keys) >= _MAX_ACCESS_KEYS:
                self._access_keys.clear()
            self._access_keys[id(permissions)] = (permissions, serialized)
        return serialized


def key(ctx: ServiceContext, kind: str, collection: str, query: Query, default_limit: int = 0) -> Key | None:
    """The plan key of this read, or None when it can't be keyed exactly (then it is planned every time)."""
    access = ctx.plans.access_key(ctx.access)
    shape = query_key(query)
    if access is None or shape is None:
        return None
    return (kind, id(ctx.schema), ctx.dialect, collection, default_limit, access, shape)


def get(ctx: ServiceContext, plan_key: Key | None) -> Any:
    """The plan the context's runtime kept, or None."""
    return None if plan_key is None else ctx.plans.get(ctx.schema, plan_key)


def estimate(plan_key: Key) -> int:
    """Approximate bytes a plan keeps alive, from its query key (the last part of the key)."""
    shape: bytes = plan_key[-1]
    return _BASE_BYTES + _BYTES_PER_KEY_BYTE * len(shape)


def put(ctx: ServiceContext, plan_key: Key | None, plan: T) -> T:
    """Keep ``plan`` in the context's runtime within ``PLAN_CACHE_MAX_SIZE`` and return it."""
    if plan_key is not None:
        ctx.plans.put(ctx.schema, plan_key, plan, ctx.settings.PLAN_CACHE_MAX_SIZE)
    return plan


def query_key(query: Query) -> bytes | None:
    """Everything in a query a read depends on (``meta`` and the unused extras are not)."""
    return _dumps(
        [
            query.fields,
            query.filter,
            query.sort,
            query.limit,
            query.offset,
            query.page,
            query.search,
            query.aggregate,
            query.group_by,
            query.deep,
            query.alias,
            query.backlink,
        ]
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not keyed: {type(value).__name__}")


def _dumps(value: Any) -> bytes | None:
    try:
        return orjson.dumps(value, default=_plain)
    except TypeError:
        return None
