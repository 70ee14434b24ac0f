"""How much work a query asks for, bounded by ``MAX_QUERY_COMPLEXITY`` before any of it is done.

Planning a read costs CPU on the event loop in proportion to the query's size: every filter condition is
resolved and compiled, every ``_in`` value cast, checked and bound, every field and sort entry resolved.
A 1 MB WebSocket frame holds a 60,000-value ``_in`` list, which took seconds of CPU while every other
client of the process waited. So a sanitized query's size is counted once, cheaply, and a query over the
limit is refused with ``INVALID_QUERY`` before planning starts.

The count is one per filter key (field, operator, ``_and``/``_or``), one per value in a list (``_in``,
``_nin``, ``_between``, a logical group's members), and one per entry of ``fields``, ``sort``, ``groupBy``,
``aggregate`` and ``alias``; ``deep`` counts its nested queries the same way. ``search`` and scalar values
count nothing beyond their key (their size is bounded by ``MAX_PAYLOAD_SIZE``).

Wildcards are counted where they are expanded, against the schema (``FieldBudget``, spent by
``query/fields.plan``): ``fields=*.*.*.*.*.*.*.*.*.*`` is one entry above, but over a collection with an m2o
and an o2m to itself it asks for 2**10 relational branches (3.4 s of CPU on the event loop for a 20-row
table, doubling with each level, within ``MAX_RELATIONAL_DEPTH``). Every field the expanded tree holds counts
one, and a tree over the limit is refused before any statement is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidepool.errors import InvalidPayloadError, InvalidQueryError
from tidepool.query.model import Query

_LISTS = ("fields", "sort", "group_by", "alias")


def _json_size(value: Any, budget: float = float("inf")) -> int:
    """Keys of objects and members of lists, at any depth, iteratively (no recursion limit to hit). Stops
    as soon as the count passes ``budget``, so refusing a 60,000-value list costs one ``len()``."""
    total, stack = 0, [value]
    while stack and total <= budget:
        node = stack.pop()
        if isinstance(node, dict | list | tuple):
            total += len(node)
            members = node.values() if isinstance(node, dict) else node
            stack.extend(member for member in members if isinstance(member, dict | list | tuple))
        elif isinstance(node, Mapping):
            total += len(node)
            stack.extend(node.values())
    return total


# Objects and lists one inside another that a query's ``filter`` or ``deep`` may hold. Filters are sanitized,
# compiled and evaluated recursively, a few Python frames per level: 300 nested ``_and`` groups (a 6 KB query
# string) hit the interpreter's recursion limit, a 500 with a RecursionError, on every path (REST, writes by
# query, WebSocket). A legitimate filter nests a handful of levels (relations are bounded by
# ``MAX_RELATIONAL_DEPTH``, at most a few dozen levels with its logical groups).
MAX_NESTING = 100


def nested_deeper(value: Any, limit: int) -> bool:
    """Whether ``value`` holds objects and lists nested more than ``limit`` deep; walked iteratively, so any
    depth is judged without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        members = node.values() if isinstance(node, Mapping) else node
        stack.extend((member, depth + 1) for member in members if isinstance(member, Mapping | list | tuple))
    return False


def check_nesting(value: Any, name: str) -> None:
    """``INVALID_QUERY`` when ``value`` nests more than ``MAX_NESTING`` deep."""
    if isinstance(value, Mapping | list | tuple) and nested_deeper(value, MAX_NESTING):
        raise InvalidQueryError(f'"{name}" is nested too deeply: more than {MAX_NESTING} levels')


def _deep_size(deep: Mapping[str, Any]) -> int:
    total = 0
    for key, value in deep.items():
        if key.startswith("_"):
            total += 1 + _json_size(value)
        elif isinstance(value, Mapping):
            total += 1 + _deep_size(value)
    return total


def complexity(query: Query) -> int:
    """The query's size in the units above."""
    total = _json_size(query.filter) if query.filter else 0
    for name in _LISTS:
        value = getattr(query, name)
        total += len(value) if value else 0
    if query.aggregate:
        total += sum(max(len(fields), 1) for fields in query.aggregate.values())
    if query.deep:
        total += _deep_size(query.deep)
    return total


# The parameters counted above, by their names in a raw query.
_RAW_PARAMETERS = ("filter", "fields", "sort", "groupBy", "aggregate", "alias", "deep")


def check_raw_complexity(raw: Mapping[str, Any], limit: int | None) -> None:
    """The same limit on a raw query's object and list values, before sanitizing (which costs more than
    counting: a refused 60,000-value ``_in`` used to be normalized and validated first). String forms
    (``"filter": "{…}"``) are counted after sanitizing, by ``check_complexity``."""
    if limit is not None:
        size = 0
        for name in _RAW_PARAMETERS:
            size += _json_size(raw.get(name), limit - size)
        if size > limit:
            raise _too_complex(size, limit)


def _too_complex(size: int, limit: int) -> InvalidQueryError:
    return InvalidQueryError(
        f"Query is too complex: {size} filter conditions, values and fields, "
        f"more than the {limit} allowed (MAX_QUERY_COMPLEXITY)"
    )


class FieldBudget:
    """The fields a read's expanded field tree may still hold: ``spend`` raises ``INVALID_QUERY`` once more
    than ``limit`` (``None``: no limit) were planned."""

    __slots__ = ("limit", "spent")

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.spent = 0

    def spend(self, count: int) -> None:
        self.spent += count
        if self.limit is not None and self.spent > self.limit:
            raise InvalidQueryError(
                f"Query is too complex: its fields expand to more than the {self.limit} allowed (MAX_QUERY_COMPLEXITY)"
            )


def check_complexity(query: Query, limit: int | None) -> Query:
    """``query`` itself, or ``INVALID_QUERY`` when its complexity is over ``limit`` (``None``: no limit)."""
    if limit is not None:
        size = complexity(query)
        if size > limit:
            raise _too_complex(size, limit)
    return query


def check_keys(keys: Any, limit: int | None) -> None:
    """A client's list of keys (an ``items`` message's ``ids``; a REST ``SEARCH``, ``PATCH`` or ``DELETE`` body's
    ``keys`` or key array) is a filter on the primary key: Directus reads, updates and deletes by keys with
    ``pk IN (…)``. So it is bounded like an ``_in`` list, by the same limit, and refused with
    ``INVALID_PAYLOAD`` before any key is cast or bound: 140,000 keys (one 1 MB WebSocket frame) took 0.7 to
    5.4 s of event-loop CPU and, on PostgreSQL, went past the driver's 32,767 parameters (a 500)."""
    if limit is not None and isinstance(keys, list) and len(keys) > limit:
        raise InvalidPayloadError(f"{len(keys)} keys, more than the {limit} allowed (MAX_QUERY_COMPLEXITY)")
