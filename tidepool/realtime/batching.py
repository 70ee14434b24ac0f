"""Batching the event reads of one access: one ``read_many`` serves every "plain" group, Python does the rest.

A group is **plain** when its event query can be answered from the columns of the event's rows alone:
only top-level field names (or ``*``), no ``deep``/``alias``/``search``/``meta``/aggregation, and a filter
that ``matches`` can evaluate in Python on one JSON-ready row (no relational part, no ``count()``, no
concealed field, whose read value is a mask). Such groups of the same access are served by ONE read of the
union of their fields (plus the primary key and the fields their filters reference); each group then keeps
the rows its filter matches and projects them to exactly the keys, in exactly the order, its own read
would have returned. ``matches`` is property-tested equal to the SQL compiler, so the result is the same.

The analysis depends only on the query and the schema, so it is computed once per (shape, schema) and
cached weakly on the shape by the dispatcher (``PlainForms``).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tidepool.db.schema import SchemaOverview
from tidepool.query.evaluate import NotEvaluable, matches
from tidepool.query.functions import parse_function
from tidepool.query.model import Query
from tidepool.query.values import conceal, serializer_for

# Query parts that make a group's read more than "these columns of these keys" (events drop sort/limit).
_NOT_PLAIN_PARTS = ("search", "meta", "deep", "alias", "aggregate", "group_by")
_LOGICAL = ("_and", "_or")


@dataclass(frozen=True)
class Plain:
    """A plain group's read, reduced to what the batch needs."""

    fields: tuple[str, ...]  # as requested, ``None`` already turned into ``("*",)``
    filter: Mapping[str, Any] | None
    filter_fields: tuple[str, ...]  # the columns the filter reads (added to the union read)

    @property
    def wildcard(self) -> bool:
        return "*" in self.fields


class PlainForms:
    """The ``Plain`` form of each subscription shape, held weakly by one dispatcher (so by one runtime)."""

    def __init__(self) -> None:
        self._cache: weakref.WeakKeyDictionary[Any, tuple[SchemaOverview, Plain | None]] = weakref.WeakKeyDictionary()

    def plain(self, shape: Any, query: Query, collection: str, schema: SchemaOverview) -> Plain | None:
        """The ``Plain`` form of a group's event query, or ``None`` if it needs its own read (cached per shape)."""
        cached = self._cache.get(shape)
        if cached is not None and cached[0] is schema:
            return cached[1]
        found = _analyse(query, collection, schema)
        self._cache[shape] = (schema, found)
        return found


def _analyse(query: Query, collection: str, schema: SchemaOverview) -> Plain | None:
    if any(getattr(query, part) for part in _NOT_PLAIN_PARTS):
        return None
    fields = query.fields or ("*",)
    if not all(_plain_name(name) for name in fields):
        return None
    if query.filter is None:
        return Plain(fields, None, ())
    referenced = _filter_fields(query.filter)
    if referenced is None or not _evaluable(query.filter, collection, schema, referenced):
        return None
    return Plain(fields, query.filter, tuple(dict.fromkeys(referenced)))


def _plain_name(name: str) -> bool:
    """A top-level column or ``*``: no path, no function, nothing the parser would have to trim."""
    return name == "*" or (bool(name) and name == name.strip() and "." not in name and "(" not in name)


def _filter_fields(filter: Any) -> list[str] | None:
    """The fields a filter reads (``year(x)`` reads ``x``); ``None`` if its shape is not understood."""
    if not isinstance(filter, Mapping):
        return None
    names: list[str] = []
    for key, value in filter.items():
        key = str(key)
        if key in _LOGICAL:
            if not isinstance(value, list):
                return None
            for item in value:
                inner = _filter_fields(item)
                if inner is None:
                    return None
                names.extend(inner)
            continue
        if key.startswith("_"):
            return None
        try:
            call = parse_function(key)
        except Exception:
            return None
        names.append(call.field if call is not None else key)
    return names


def _evaluable(filter: Mapping[str, Any], collection: str, schema: SchemaOverview, names: Sequence[str]) -> bool:
    """Every referenced field is a real, unconcealed column and ``matches`` runs on a sample row."""
    info = schema.collection(collection)
    if info is None:
        return False
    for name in names:
        field = info.field(name)
        if field is None or field.is_alias or serializer_for(field, collection) is conceal:
            return False
    try:
        matches(filter, {}, collection, schema)
    except NotEvaluable:
        return False
    except Exception:
        return False  # an invalid filter: its own read reports the error exactly as before
    return True


def union_fields(groups: Sequence[Plain], primary_key: str) -> tuple[str, ...]:
    """One read for all: ``*`` first (so the row starts with the wildcard's expansion), then every name."""
    star = ("*",) if any(g.wildcard for g in groups) else ()
    names = [n for g in groups for n in (*g.fields, *g.filter_fields) if n != "*"]
    return tuple(dict.fromkeys((*star, *names, primary_key)))


def wildcard_keys(rows: Sequence[Mapping[str, Any]], union: Sequence[str]) -> tuple[str, ...]:
    """The keys ``*`` expands to for this access: the union read's row keys when the union starts with ``*``
    (every plain column readable by this access is part of that expansion)."""
    if not rows or not union or union[0] != "*":
        return ()
    return tuple(rows[0])


def output_keys(group: Plain, wildcard: Sequence[str]) -> tuple[str, ...]:
    """The keys of the group's own read, in its order: request order, ``*`` expanded in place, first wins."""
    keys: list[str] = []
    for name in group.fields:
        keys.extend(wildcard if name == "*" else (name,))
    return tuple(dict.fromkeys(keys))


def select(
    group: Plain, rows: Sequence[Mapping[str, Any]], collection: str, schema: SchemaOverview
) -> list[Mapping[str, Any]]:
    """The rows the group's filter keeps (evaluated on the row as read, exactly what ``matches`` expects)."""
    condition = group.filter
    if condition is None:
        return list(rows)
    return [row for row in rows if matches(condition, row, collection, schema)]


def project(row: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """One row as the group's own read returns it (keys it would not output are absent from the union too)."""
    return {key: row[key] for key in keys if key in row}
