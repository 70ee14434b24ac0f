"""``MAX_RELATIONAL_DEPTH``: how many segments a path in a query may have, counted exactly as Directus's
``validateQuery`` counts them, so the same queries pass and fail (``Invalid query. Max relational depth
exceeded.``) before anything is planned or read.

- ``fields`` (``groupBy`` in its place when given; none under ``aggregate``) and ``sort``: the segments of each
  path (``author.posts.title`` is 3). In a function only the first argument counts
  (``json(author.data, a.b.c)`` is 2, ``a.year(date)`` is 2).
- ``filter`` and ``deep``: the nesting of field keys; keys starting with ``_`` (operators, ``_filter``) do not
  count, the fields inside them do; a ``_sort`` inside ``deep`` counts its paths' segments.
- Limits below 2 are raised to 2, as Directus does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tidepool.errors import InvalidQueryError
from tidepool.query.model import Query

MINIMUM = 2


def check_relational_depth(query: Query, maximum: int) -> None:
    """Raise Directus's INVALID_QUERY when a path of ``query`` is deeper than ``maximum`` (at least 2)."""
    limit = max(maximum, MINIMUM)
    alias = query.alias or {}
    paths = list(_field_paths(query)) + [spec.removeprefix("-") for spec in query.sort or ()]
    too_deep = (
        any(path_depth(alias.get(path, path)) > limit for path in paths)
        or _nesting(query.filter) > limit
        or _nesting(query.deep, dotted=("_sort",)) > limit
    )
    if too_deep:
        raise InvalidQueryError("Max relational depth exceeded")


def _field_paths(query: Query) -> Sequence[str]:
    if query.group_by:
        return query.group_by
    if query.aggregate:
        return ()
    return query.fields or ("*",)


def path_depth(path: str) -> int:
    """Segments of a field path; a function counts its relational prefix and its first argument."""
    head, paren, rest = path.partition("(")
    if not paren:
        return len(path.split("."))
    prefix = head.split(".")[:-1]
    first_argument = rest.split(",", 1)[0].removesuffix(")")
    return len(prefix) + len(first_argument.split("."))


_SCALARS = (str, int, float, type(None))


def _nesting(value: Any, dotted: tuple[str, ...] = ()) -> int:
    """Directus's ``calculateFieldDepth``: the deepest chain of non-``_`` keys.

    A list that starts with a scalar is a list of values (``_in``, ``_between``), never a path, and is not walked:
    a 60,000-value ``_in`` would otherwise cost 10 ms per read (100 ms with the ``Mapping`` ABC test)."""
    if isinstance(value, _SCALARS):
        return 0
    if isinstance(value, list | tuple):
        if not value or isinstance(value[0], _SCALARS):
            return 0
        return max((_nesting(item, dotted) for item in value if not isinstance(item, _SCALARS)), default=0)
    if not isinstance(value, Mapping):
        return 0
    depth = 0
    for key, nested in value.items():
        name = str(key)
        if name in dotted and nested:
            specs = nested.split(",") if isinstance(nested, str) else nested
            depth = max([depth, *(len(str(spec).split(".")) for spec in specs if spec)])
            continue
        if isinstance(nested, _SCALARS) or not isinstance(nested, Mapping | list | tuple):
            continue
        depth = max(depth, _nesting(nested, dotted) + (0 if name.startswith("_") else 1))
    return depth
