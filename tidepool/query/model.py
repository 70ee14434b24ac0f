"""The Directus query, after sanitizing: one typed value whatever form it arrived in.

A query reaches the server as a URL query string (``?fields=a,b&filter={...}``), as a JSON object in a
REST body or a WebSocket message, or as the SDK's "every value a string" form (``{"limit":"10"}``).
``tidepool.query.parse`` turns all of them into this dataclass; everything downstream (compiler, services,
subscriptions) only ever sees a ``Query``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# A filter keeps Directus's JSON shape: {"field": {"_op": value}}, {"_and": [...]}, {"rel": {"f": {...}}}.
Filter = Mapping[str, Any]


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...] | None = None  # None: not given ("*" for reads)
    filter: Filter | None = None
    sort: tuple[str, ...] | None = None  # "-field" for descending
    limit: int | None = None  # None: not given (QUERY_LIMIT_DEFAULT applies); -1: all
    offset: int | None = None
    page: int | None = None
    search: str | None = None
    meta: tuple[str, ...] | None = None  # subset of ("total_count", "filter_count")
    aggregate: Mapping[str, tuple[str, ...]] | None = None  # {"count": ("*",), "sum": ("price",)}
    group_by: tuple[str, ...] | None = None
    deep: Mapping[str, Any] | None = None  # {"rel": {"_limit": 5, "_filter": {...}, "rel2": {...}}}
    alias: Mapping[str, str] | None = None  # {"new_name": "field"}
    backlink: bool | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # accepted but unused keys (version, export)

    def replace(self, **changes: Any) -> Query:
        """A copy with ``changes``: the fields copied as they are, not passed through the frozen ``__init__``
        again as ``dataclasses.replace`` does (a read replaces its query two or three times per request)."""
        unknown = changes.keys() - _FIELDS
        if unknown:
            raise TypeError(f"Query has no field {sorted(unknown)[0]!r}")
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.__dict__.update(changes)
        return copy


_FIELDS = frozenset(f.name for f in dataclasses.fields(Query))
