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
The store is a bounded LRU shared by every runtime in the process (tests run several servers in threads,
hence the lock).
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

_lock = threading.Lock()
_plans: OrderedDict[Key, tuple[SchemaOverview, Any]] = OrderedDict()
# id(access.permissions) -> (that mapping, its key): the permission service hands out the same mapping for
# every request of a user whose rules have no $NOW, so the key is serialized once per user, not per read.
_access_keys: dict[int, tuple[object, bytes]] = {}


def key(ctx: ServiceContext, kind: str, collection: str, query: Query, default_limit: int = 0) -> Key | None:
    """The plan key of this read, or None when it can't be keyed exactly (then it is planned every time)."""
    access = access_key(ctx.access)
    shape = query_key(query)
    if access is None or shape is None:
        return None
    return (kind, id(ctx.schema), ctx.dialect, collection, default_limit, access, shape)


def get(ctx: ServiceContext, plan_key: Key | None) -> Any:
    """The kept plan, or None."""
    if plan_key is None:
        return None
    with _lock:
        entry = _plans.get(plan_key)
        if entry is None or entry[0] is not ctx.schema:
            return None
        _plans.move_to_end(plan_key)
        return entry[1]


def put(ctx: ServiceContext, plan_key: Key | None, plan: T) -> T:
    """Keep ``plan`` (dropping the least recently used beyond ``MAX_PLANS``) and return it."""
    if plan_key is not None:
        with _lock:
            _plans[plan_key] = (ctx.schema, plan)
            _plans.move_to_end(plan_key)
            while len(_plans) > MAX_PLANS:
                _plans.popitem(last=False)
    return plan


def clear() -> None:
    with _lock:
        _plans.clear()
        _access_keys.clear()


def size() -> int:
    return len(_plans)


def access_key(access: Access) -> bytes | None:
    """The caller's READ permissions as bytes (what a read plan can depend on)."""
    if access.admin:
        return _ADMIN
    permissions = access.permissions
    known = _access_keys.get(id(permissions))
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
        if len(_access_keys) >= _MAX_ACCESS_KEYS:
            _access_keys.clear()
        _access_keys[id(permissions)] = (permissions, serialized)
    return serialized


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
