"""A reference evaluation of the small filter grammar used by the masking tests, in plain Python over the rows
a caller reads (so a field returned as ``null`` is ``None`` here). Written independently of
``tidepool.query.evaluate`` so that it can judge it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda value, arg: value is not None and test(value, arg)


OPS: dict[str, Callable[[Any, Any], bool]] = {
    "_eq": lambda value, arg: value == arg,
    "_neq": lambda value, arg: value is not None and value != arg,
    "_lt": _ordered(lambda value, arg: value < arg),
    "_gte": _ordered(lambda value, arg: value >= arg),
    "_in": lambda value, arg: value in arg,
    "_nin": lambda value, arg: value is not None and value not in arg,
    "_null": lambda value, arg: (value is None) == arg,
    "_nnull": lambda value, arg: (value is not None) == arg,
    "_empty": lambda value, arg: (value is None or value == "") == arg,
    "_starts_with": _ordered(lambda value, arg: value.startswith(arg)),
    "_contains": _ordered(lambda value, arg: arg in value),
    "_ncontains": _ordered(lambda value, arg: arg not in value),
    "_between": _ordered(lambda value, arg: arg[0] <= value <= arg[1]),
}


def matches(filter: Mapping[str, Any], row: Mapping[str, Any]) -> bool:
    for key, value in filter.items():
        if key == "_and":
            if not all(matches(item, row) for item in value):
                return False
        elif key == "_or":
            if not any(matches(item, row) for item in value):
                return False
        else:
            ((op, arg),) = value.items()
            if not OPS[op](row[key], arg):
                return False
    return True


def ids(rows: list[dict[str, Any]], filter: Mapping[str, Any]) -> list[int]:
    return [row["id"] for row in rows if matches(filter, row)]
